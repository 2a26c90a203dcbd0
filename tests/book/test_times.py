"""A TA's submission times file (`davar grade --times`): read as a TA types it, refused as a whole when
any row is wrong."""

from pathlib import Path

import pytest

from davar import assignment
from davar.book.times import read_times
from davar.errors import DavarError


@pytest.fixture
def a(tmp_path: Path) -> assignment.Assignment:
    d = tmp_path / "graders" / "a"
    d.mkdir(parents=True)
    (d / "assignment.toml").write_text(
        'id = "a"\ntitle = { fa = "آ", en = "a" }\nnotebooks = ["n.ipynb"]\ndeadline = "1404-01-15T23:59"\n'
        '[[questions]]\nid = "1"\npoints = 1\ntitle = { fa = "یک", en = "one" }\n', encoding="utf-8")
    return assignment.load(d)


def csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "times.csv"
    path.write_text(text, encoding="utf-8-sig")
    return path


def test_jalali_gregorian_offsets_and_persian_digits(a, tmp_path):
    times = read_times(csv(tmp_path, "student;submitted_at\n"
                                     "s1;1404-01-15T23:10\n"          # Jalali, Tehran wall-clock time
                                     "s2;2025-04-04 20:40+00:00\n"    # Gregorian with an offset
                                     "۴۰۰۱;۱۴۰۳/۰۲/۳۱ ۱۰:۰۰\n"        # typed on a Persian keyboard
                                     "\n"), a, known={"s1", "s2", "4001", "s9"})
    assert times == {"s1": "2025-04-04T23:10:00+03:30", "s2": "2025-04-04T20:40:00+00:00",
                     "4001": "2024-05-20T10:00:00+03:30"}  # s9 not listed: it keeps its own time


def test_every_bad_row_is_listed_and_nothing_is_returned(a, tmp_path):
    with pytest.raises(DavarError) as e:
        read_times(csv(tmp_path, "student,submitted_at\ns1,1404-01-15\ns2x,1404-01-15T10:00\ns3,1404-01-16T10:00\n"
                                 "s3,1404-01-17T10:00\n"), a, known={"s1", "s2", "s3"})
    assert e.value.key == "times_refused" and e.value.values["count"] == 3
    text = e.value.text("en")
    assert "line 2: 1404-01-15 is not a date and time" in text  # a date alone is not midnight
    assert "line 3: there is no submission of s2x in this batch (closest: s2)" in text
    assert "line 5: s3 is listed a second time" in text
    assert "s2x" in e.value.text("fa")


@pytest.mark.parametrize(("text", "key"), [(None, "times_file_missing"), ("who,when\ns1,x\n", "times_missing_columns")])
def test_a_missing_file_or_header_is_a_sentence(a, tmp_path, text, key):
    path = tmp_path / "times.csv" if text is None else csv(tmp_path, text)
    with pytest.raises(DavarError) as e:
        read_times(path, a, known={"s1"})
    assert e.value.key == key and str(path) in str(e.value)
