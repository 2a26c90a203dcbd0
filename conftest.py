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
