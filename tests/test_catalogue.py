"""The fa/en catalogue: complete in both languages, Persian digits, isolated values."""

import string

import pytest

from davar import catalogue


def _fields(text):
    return {(name, spec) for _, name, spec, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(catalogue._entries()))
def test_every_message_has_both_languages_with_the_same_placeholders(key):
    entry = catalogue._entries()[key]
    assert set(entry) == set(catalogue.LANGS)
    variants = entry["en"].keys() if isinstance(entry["en"], dict) else [None]
    for variant in variants:
        assert _fields(catalogue.template(key, "fa", variant)) == _fields(catalogue.template(key, "en", variant))


def test_persian_numbers_use_persian_digits_and_separators():
    assert catalogue.format_number(0.9234, "fa", "percent") == "۹۲٫۳۴٪"
    assert catalogue.format_number(7812, "fa", "count") == "۷٬۸۱۲"
    assert catalogue.format_number(0.9234, "en", "percent") == "92.34%"


def test_values_are_isolated_in_persian_only():
    m = catalogue.message("missing_name", {"name": "conv2d_2"})
    assert "\u2068conv2d_2\u2069" in m.fa and m.en == "The notebook does not define `conv2d_2`."


def test_terms_are_translated():
    m = catalogue.message("accuracy", {"split": "test", "measured": 0.5, "threshold": 0.9}, variant="fail")
    assert "آزمایشی" in m.fa and "test data" in m.en
