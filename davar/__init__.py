"""davar (داور): grade deep-learning homework notebooks in a sandbox, in Persian and English."""

__version__ = "0.1.0"


def expect(condition, key, *, soft=False, **values):
    """Grader API: record catalogue message `key` for this test; fail the test when `condition` is false
    (with `soft`, return the failure instead of raising it)."""
    from .plugin import expect as _expect

    return _expect(condition, key, soft=soft, **values)


def award(fraction, key, **values):
    """Grader API: give this test `fraction` (0–1) of its points and record catalogue message `key`."""
    from .plugin import award as _award

    return _award(fraction, key, **values)
