"""Optimistic versioning of manual scores (`gradebook.save_manual`, used by `davar review`)."""

from __future__ import annotations

from davar.book import gradebook
from davar.book.scores import ManualScore


def _score(points: float, by: str) -> ManualScore:
    return ManualScore(student="s1", question="3", points=points, comment="", lang="", imported_at="t",
                       source=f"review:{by}")


def test_a_save_on_the_version_seen_counts_and_a_stale_one_is_kept_but_not_counted(tmp_path):
    book = tmp_path / "gradebook.sqlite"
    assert gradebook.manual_version(book, "m", "s1", "3") == 0
    stored, version = gradebook.save_manual(book, "m", _score(6, "a"), version=0)
    assert stored and version == gradebook.manual_version(book, "m", "s1", "3") > 0
    assert gradebook.save_manual(book, "m", _score(9, "b"), version=0) == (False, version)  # b saw version 0
    assert [s.points for s in gradebook.manual(book, "m")] == [6]
    assert [(s.points, counts) for s, counts in gradebook.manual_history(book, "m", "s1", "3")] == [(6, True),
                                                                                                  (9, False)]
    stored, newer = gradebook.save_manual(book, "m", _score(9, "b"), version=version)  # b saves again, knowingly
    assert stored and newer > version and [s.points for s in gradebook.manual(book, "m")] == [6, 9]


def test_a_deletion_changes_the_version(tmp_path):
    book = tmp_path / "gradebook.sqlite"
    _, version = gradebook.save_manual(book, "m", _score(6, "a"), version=0)
    gradebook.delete_manual(book, "m", "s1", "3")
    assert gradebook.save_manual(book, "m", _score(7, "b"), version=version)[0] is False
    assert gradebook.save_manual(book, "m", _score(7, "b"), version=0)[0] is True
