"""The fa/en catalogue: complete in both languages, Persian digits, isolated values.  The same checks run
over every course's own `graders/<id>/messages.toml`, which must not redefine an engine key."""

import ast
import string
from pathlib import Path

import pytest

from davar import assignment, catalogue
from davar.results import Message

GRADERS = Path(__file__).resolve().parent.parent / "graders"
COURSES = {p.parent.name: assignment.load(p.parent) for p in sorted(GRADERS.glob("*/assignment.toml"))}
MESSAGES = {"davar": catalogue._entries(), **{c: a.messages for c, a in COURSES.items() if a.messages}}
API = {"expect": 1, "award": 1, "note": 0, "flag": 0}  # the grader API's functions -> the position of their key


def _fields(text):
    return {(name, spec) for _, name, spec, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("source, key", [(s, k) for s, entries in MESSAGES.items() for k in sorted(entries)],
                         ids=lambda v: v)
def test_every_message_has_both_languages_with_the_same_placeholders(source, key):
    course = None if source == "davar" else MESSAGES[source]
    entry = MESSAGES[source][key]
    assert set(entry) == set(catalogue.LANGS)
    variants = [None]
    if isinstance(entry["en"], dict):
        assert entry["fa"].keys() == entry["en"].keys()
        variants = list(entry["en"])
    for variant in variants:
        assert _fields(catalogue.template(key, "fa", variant, course=course)) == \
            _fields(catalogue.template(key, "en", variant, course=course))


@pytest.mark.parametrize("course", [c for c in MESSAGES if c != "davar"])
def test_a_course_does_not_redefine_an_engine_key(course):
    """A course's key of the same name would silently change a message the engine raises (or that every
    other course's graders use) for this course only: a course that wants other words uses its own key."""
    assert not set(MESSAGES[course]) & set(catalogue._entries())


def _raised_keys(path: Path) -> set[str]:
    """The literal message keys a grader module passes to expect, expect_close, award and note, also by way of
    a dict's "key" entry (`{"key": "inception", ...}`, values for a later `expect(found, values.pop("key"), ...)`)."""
    keys = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Dict):
            keys.update(v.value for k, v in zip(node.keys, node.values, strict=True)
                        if isinstance(k, ast.Constant) and k.value == "key" and isinstance(v, ast.Constant)
                        and isinstance(v.value, str))
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id == "expect_close":
            key = next((k.value for k in node.keywords if k.arg == "key"), ast.Constant("answer_value"))
        elif node.func.id in API and len(node.args) > API[node.func.id]:
            key = node.args[API[node.func.id]]
        else:
            continue
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            keys.add(key.value)
    return keys


@pytest.mark.parametrize("course", COURSES)
def test_graders_raise_only_known_keys_and_the_course_has_no_unused_message(course):
    raised = set().union(*(_raised_keys(p) for p in (GRADERS / course).glob("*.py")))  # tests and their helpers
    own = COURSES[course].messages
    assert raised - set(own) - set(catalogue._entries()) == set()
    assert {k for k in own if not k.startswith("term_")} <= raised  # terms are named by values, not literals


def test_persian_numbers_use_persian_digits_and_separators():
    assert catalogue.format_number(0.9234, "fa", "percent") == "۹۲٫۳۴٪"
    assert catalogue.format_number(7812, "fa", "count") == "۷٬۸۱۲"
    assert catalogue.format_number(0.9234, "en", "percent") == "92.34%"


def test_values_are_isolated_in_persian_only():
    m = catalogue.message("missing_name", {"name": "conv2d_2"})
    assert "\u2068conv2d_2\u2069" in catalogue.render(m, "fa")
    assert catalogue.render(m, "en") == "The notebook does not define `conv2d_2`."


def test_terms_are_translated():
    m = catalogue.message("accuracy", {"split": "test", "measured": 0.5, "threshold": 0.9}, variant="fail")
    assert "آزمایشی" in catalogue.render(m, "fa") and "test data" in catalogue.render(m, "en")


def test_a_course_term_is_found_through_the_course():
    hw2 = MESSAGES["iust-dl-1402-hw2"]
    m = catalogue.message("loss_histories", {"name": 'LOSSES["SGD"]', "problem": "history_flat", "steps": 200,
                                             "runs": 16}, variant="fail", course=hw2)
    assert "never lowered the loss" in catalogue.render(m, "en", hw2) and "کم نکرده" in catalogue.render(m, "fa", hw2)
    with pytest.raises(KeyError):
        catalogue.message("loss_histories", {"problem": "history_flat"}, variant="fail")  # not an engine key


def test_a_stored_message_is_rendered_at_read_time_from_the_course_then_the_engine():
    m = catalogue.message("missing_name", {"name": "conv2d_2"})
    assert m.fa == m.en == ""  # the record keeps no text
    fixed = {"missing_name": {"en": "No `{name}` in the notebook.", "fa": "{name} در نوت‌بوک نیست."}}
    assert catalogue.render(m, "en", fixed) == "No `conv2d_2` in the notebook."  # a wording fix, no regrade
    assert catalogue.render(m, "fa", fixed) == "\u2068conv2d_2\u2069 در نوت‌بوک نیست."


def test_an_older_records_text_is_used_only_when_its_key_is_no_longer_known():
    known = Message(key="missing_name", values={"name": "x"}, fa="متن قدیمی", en="old wording")
    assert catalogue.render(known, "en") == "The notebook does not define `x`."
    gone = Message(key="no_longer_a_key", values={}, fa="متن قدیمی", en="old wording")
    assert catalogue.render(gone, "en") == "old wording" and catalogue.render(gone, "fa") == "متن قدیمی"
    unfillable = Message(key="missing_name", values={}, en="old wording")  # its values no longer fit
    assert catalogue.render(unfillable, "en") == "old wording" and catalogue.render(unfillable, "fa") == "old wording"
    # a key with pass and fail texts: which one an old record showed is not known, so its own text
    either = Message(key="accuracy", values={"split": "test", "measured": 0.95, "threshold": 0.9}, en="passed it")
    assert catalogue.render(either, "en") == "passed it"
    assert catalogue.render(Message(key="no_such_key"), "en") == "no_such_key"


def test_a_value_per_language_is_rendered_in_each_language():
    m = catalogue.message("ta_comment", {"comment": {"fa": "خوب", "en": "good"}})
    assert catalogue.render(m, "en") == "TA's comment: good" and "خوب" in catalogue.render(m, "fa")
