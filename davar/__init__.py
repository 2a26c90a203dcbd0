"""davar (داور): grade deep-learning homework notebooks in a sandbox, in Persian and English."""

__version__ = "0.1.0"


def expect(condition, key, **values):
    """Grader API: record catalogue message `key` for this test; fail the test when `condition` is false."""
    from .plugin import expect as _expect

    return _expect(condition, key, **values)
