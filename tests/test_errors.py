"""davar.errors: every harness error is a catalogue key and values, told in the TA's language.  Every
raise site in davar/ names a key the catalogue has in fa and en, with exactly the values its text needs;
`str()` is the English text and the details follow it, indented."""

import ast
import pickle
import string
import tomllib
from pathlib import Path

import pytest

from davar import assignment, catalogue, errors, late
from davar.errors import AssignmentError, DataNotFound, DavarError, ScoresError
from davar.results import Message

DAVAR = Path(errors.__file__).parent
ERRORS = {name for name, cls in vars(errors).items() if isinstance(cls, type) and issubclass(cls, DavarError)}
#: Raise sites whose key is chosen in a variable, with the keys they may raise (tested below one by one).
DYNAMIC = {
    ("assignment.py", "AssignmentError"): {"assignment_unknown", "assignment_unknown_no_match",
                                           "assignment_unknown_empty"},
    ("commands.py", "DataNotFound"): {"data_not_found", "data_not_found_real"},
    ("run/execute.py", "InvalidSubmission"): {"file_refused", "file_too_large"},  # a davar.files refusal, as is
}
NUMBERS = {"percent", "number", "count", "points"}


def _fields(text: str) -> dict[str, str]:
    return {name: spec for _, name, spec, _ in string.Formatter().parse(text) if name}


def _literals(node: ast.expr) -> list[str] | None:
    """The keys a call's first argument can be: a string, or a conditional between strings; None otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _literals(node.body), _literals(node.orelse)
        return body + orelse if body is not None and orelse is not None else None
    return None


def _sites() -> list[tuple[str, str, int, list[str] | None, bool, set[str] | None]]:
    """Every construction of a DavarError (or subclass) in davar/: file, class, line, its possible keys
    (None when not literal), whether the key is certain (one literal), and its keyword values (None
    when some come from a ** mapping)."""
    found = []
    for path in sorted(DAVAR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name not in ERRORS or not node.args:
                continue
            keys = _literals(node.args[0])
            values = None if any(k.arg is None for k in node.keywords) else {k.arg for k in node.keywords if k.arg}
            found.append((str(path.relative_to(DAVAR)), name, node.lineno, keys, isinstance(node.args[0], ast.Constant),
                          values))
    return found


SITES = _sites()


def _dummy(text: str) -> dict[str, object]:
    """Values that fill `text`: a number, a term the catalogue has (``{kind:term}``), else text."""
    term = next(k.removeprefix("term_") for k in catalogue._entries() if k.startswith("term_"))
    return {name: 1 if spec in NUMBERS else term if spec == "term" else "x" for name, spec in _fields(text).items()}


def test_the_scan_finds_the_raise_sites():
    assert len(SITES) > 80  # every module's raises, InvalidSubmission and ScoresError included
    assert {name for _, name, *_ in SITES} >= {"AssignmentError", "AuthoringError", "SandboxUnavailable", "DavarError",
                                                "InvalidSubmission", "ScoresError", "DataNotFound"}


@pytest.mark.parametrize("site", SITES, ids=lambda s: f"{s[0]}:{s[2]}")
def test_every_raise_names_a_catalogue_key_with_exactly_its_values(site):
    path, name, line, keys, certain, values = site
    if keys is None:  # a key in a variable: only where listed, its keys checked below
        assert (path, name) in DYNAMIC, f"{path}:{line}: {name} needs a literal catalogue key, not a sentence"
        return
    for key in keys:
        entry = catalogue._entries()[key]
        assert set(entry) == set(catalogue.LANGS), key
        needed = _fields(entry["en"])
        assert needed == _fields(entry["fa"]), key
        if values is None:  # values from a mapping: the text must still fill from what its key needs
            continue
        assert set(needed) <= values, f"{path}:{line}: {key} needs {set(needed) - values}"
        if certain:
            assert values <= set(needed), f"{path}:{line}: {key} does not use {values - set(needed)}"
        for lang in catalogue.LANGS:
            assert catalogue.text(key, lang, _dummy(entry[lang]))


@pytest.mark.parametrize("key", sorted(set().union(*DYNAMIC.values())))
def test_the_keys_chosen_in_a_variable_exist_in_both_languages(key):
    for lang in catalogue.LANGS:
        assert catalogue.text(key, lang, _dummy(catalogue.template(key, lang)))


def test_every_harness_error_key_is_raised_somewhere():
    """The catalogue's `harness errors` section holds no key that no code raises any more."""
    text = (DAVAR / "catalogue.toml").read_text("utf-8")
    rule = "# " + "-" * 64
    section = tomllib.loads(text.split(rule + " harness errors", 1)[1].split("\n" + rule, 1)[0])  # to the next one
    raised = {k for *_, keys, _, _ in SITES for k in keys or ()} | set().union(*DYNAMIC.values())
    assert set(section) - raised == set()


def test_str_is_english_and_text_is_in_the_tas_language():
    e = AssignmentError("question_unknown", assignment="hw", question="9", questions="1, 2")
    assert str(e) == e.text("en") == "hw: no question '9' in assignment.toml (its questions: 1, 2)."
    fa = e.text("fa")
    assert "سؤال" in fa and "\u20689\u2069" in fa and "no question" not in fa
    assert (e.key, e.values, e.details) == ("question_unknown", {"assignment": "hw", "question": "9",
                                                                 "questions": "1, 2"}, ())


def test_details_follow_on_their_own_indented_lines():
    rows = [catalogue.message("scores_line_no_student", {"line": 3}),
            catalogue.message("scores_line_not_number", {"line": 12, "points": "x"})]
    e = ScoresError("scores_refused", rows, file="ta.csv", count=2)
    assert str(e).splitlines() == [
        "ta.csv was not imported (2 problem(s)) and nothing was stored; fix these rows and import the whole file "
        "again:", "  line 3: no student id.", "  line 12: the points “x” are not a number."]
    fa = e.text("fa").splitlines()
    assert len(fa) == 3 and fa[1].startswith("  سطر \u2068۳\u2069") and fa[2].startswith("  سطر \u2068۱۲\u2069")


def test_every_error_is_a_davar_error_and_survives_pickling():
    """A worker's error reaches the driver pickled: key, values and details come back."""
    assert {DataNotFound, ScoresError, errors.InvalidSubmission, errors.SandboxUnavailable} <= {
        getattr(errors, n) for n in ERRORS}
    e = ScoresError("scores_refused", [Message(key="scores_line_no_student", values={"line": 3})], file="a", count=1)
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is ScoresError and (back.key, back.values, back.details) == (e.key, e.values, e.details)
    assert str(back) == str(e)
    keyed_like_key = DavarError("late_not_a_number", where="[late]", setting="days", value="'x'")
    assert str(pickle.loads(pickle.dumps(keyed_like_key))) == "[late]: days must be a number, not 'x'."


def test_an_unknown_key_still_says_what_it_was():
    assert str(DavarError("no_such_key", path="/x")) == "no_such_key {'path': '/x'}"


def test_numbers_in_a_harness_error_are_persian_in_persian():
    with pytest.raises(AssignmentError) as e:
        late.policy({"policy": "per_day", "percent_per_day": 150}, assignment="hw")
    assert e.value.key == "late_out_of_range"
    assert str(e.value) == "hw: [late]: percent_per_day = 150 must be between 0 and 100."
    assert "۱۵۰" in e.value.text("fa") and "۱۰۰" in e.value.text("fa")


def test_no_course_and_unknown_assignments_in_both_languages(tmp_path, monkeypatch):
    monkeypatch.delenv("DAVAR_COURSE", raising=False)
    with pytest.raises(AssignmentError) as e:
        assignment.course_root(tmp_path)
    assert e.value.key == "course_not_found" and str(tmp_path) in str(e.value) and "--course" in e.value.text("fa")
    (tmp_path / assignment.COURSE_MARKER).write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AssignmentError) as e:
        assignment.find("hw1")
    assert e.value.key == "assignment_unknown_empty" and "davar new ID" in e.value.text("fa")
    (tmp_path / "graders" / "hw1").mkdir(parents=True)
    (tmp_path / "graders" / "hw1" / "assignment.toml").write_text("", encoding="utf-8")
    with pytest.raises(AssignmentError) as e:
        assignment.find("hw2")
    assert e.value.key == "assignment_unknown" and str(e.value).endswith("(it has: hw1); did you mean hw1?")
    with pytest.raises(AssignmentError) as e:
        assignment.find("zzzzzz")
    assert e.value.key == "assignment_unknown_no_match" and "hw1" in e.value.text("fa")
