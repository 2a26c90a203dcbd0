"""What a person is shown of a graded submission: the record as graded, with the TA's manual scores
merged, the TA's overrides of automatic tests applied (`davar.book.overrides`) and its lateness
computed from the submission time under the assignment's current late policy.

This is the one place they are applied, when a report, the dashboard or an export is built: the
record on disk (the gradebook row, and result.json, its copy) stays as graded, so a new TA import or
override or a changed `[late]` table shows on the next `davar report` without a regrade, a regrade
keeps them, and no view applies any twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from davar import late
from davar.assignment import Assignment
from davar.book import overrides, scores
from davar.results import SubmissionResult


def view(record: SubmissionResult, assignment: Assignment, manual_scores: Sequence[scores.ManualScore] = (),
         test_overrides: Sequence[overrides.Override] = ()) -> SubmissionResult:
    """`record` as a report shows it.  A lateness the record carries is ignored (it was the policy of
    its grading day); only its submission time counts, from `submitted_at`, or from the lateness of a
    record that has no other (graded before `submitted_at` was recorded)."""
    submitted = record.submitted_at or (record.lateness.submitted_at if record.lateness else "")
    timed = dataclasses.replace(record, submitted_at=submitted, lateness=late.lateness(assignment, submitted))
    return overrides.apply(scores.merge(timed, manual_scores), test_overrides)
