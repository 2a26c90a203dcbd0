"""davar (داور): grade deep-learning homework notebooks in a sandbox, in Persian and English.

Graders use `from davar import expect, expect_close, note, flag, award, award_accuracy` and the shared
checks `expect_ran_through`, `expect_figures` (davar/api.py).
"""

__version__ = "0.1.0"

from davar.api import award, award_accuracy, expect, expect_close, expect_figures, expect_ran_through, flag, note

__all__ = ["__version__", "award", "award_accuracy", "expect", "expect_close", "expect_figures", "expect_ran_through",
           "flag", "note"]
