"""Project-wide pytest setup: where the repo's assignments, samples and stand-in data are."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def repo() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def hw2(repo):
    """iust-dl-1403-hw2 with its stand-in data built (offline, idempotent)."""
    from davar import assignment, datasets

    a = assignment.load(repo / "graders" / "iust-dl-1403-hw2")
    datasets.build_digits14(a.data_root())
    return a


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """`corpus(assignment_id)` grades `submissions/<id>/` once per session (strict sandbox, as
    `davar grade` does) and returns (reports folder, {student: result})."""
    cache = {}

    def graded(assignment_id: str):
        if assignment_id not in cache:
            from davar.cli import grade

            out = tmp_path_factory.mktemp(f"reports-{assignment_id}")
            results = grade(assignment=str(ROOT / "graders" / assignment_id),
                            path=ROOT / "submissions" / assignment_id, out=out)
            cache[assignment_id] = (out / assignment_id, {r.student: r for r in results})
        return cache[assignment_id]

    return graded
