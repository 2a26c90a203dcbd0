"""`davar audit-key`: the reference solution must score 100 %; the official key is compared with it."""

import types
from pathlib import Path

import pytest

from davar import cli
from davar.assignment import Assignment, load
from davar.grading import audit
from davar.run import sandbox

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.parent.parent.name for p in (ROOT / "submissions").glob("*/reference_solution/expected.toml"))


@pytest.mark.parametrize("official, reference, agree", [
    ([[2.5, 1.75], [1.25, -1]], [[2.5, 1.75], [1.25, -1.0]], True),
    ([[2.5, 1.75], [1.25, -1]], [[2.5, 1.75], [1.25, 1.0]], False),  # a sign
    ([245, 32], [118, 64], False),  # a shape copied from the row above
    ([1, 2, 3], [[1, 2, 3]], False),  # same numbers, other shape
    (4640, 4640.0, True),
    ("Hyperband", "Hyperband", True),
])
def test_values_agree(official, reference, agree):
    assert audit.values_agree(official, reference) is agree


def test_check_key_lists_every_official_value(monkeypatch, hw2):
    spec = Assignment(**{**{f: getattr(hw2, f) for f in hw2.__dataclass_fields__},
                         "key": {"a": [1, 2], "b": 3, "c": 5}})
    fake = types.SimpleNamespace(key_values=lambda: {"a": [1, 2], "b": 4})
    monkeypatch.setattr(Assignment, "reference_module", lambda self: fake)
    checks = {c.key: c for c in audit.check_key(spec)}
    assert checks["a"].agrees and not checks["b"].agrees and checks["c"].reference is None


@pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")
@pytest.mark.parametrize("assignment_id", [pytest.param(a, marks=pytest.mark.corpus(a)) for a in SHIPPED])
def test_every_shipped_reference_solution_passes_the_audit(corpus, assignment_id):
    """`davar audit-key` grades the reference solution; each sample corpus holds it byte for byte as its
    `reference_solution` sample and grades it already, so the audit's rule is applied to that result rather than
    to a second run of the same notebooks (the command itself: test_scaffold.py and test_theory.py)."""
    a = load(ROOT / "graders" / assignment_id)
    sample = ROOT / "submissions" / assignment_id / "reference_solution"
    for name in a.notebooks:
        assert (sample / name).read_bytes() == (a.reference_dir / name).read_bytes(), f"run `davar assign {a.id}`"
    _, results = corpus(assignment_id)
    found = audit.Audit(result=results["reference_solution"], checks=audit.check_key(a), sums=audit.check_sums(a))
    assert found.reference_complete, found.automatic_points


# ---------------------------------------------------------------- the course's environment (`[environment]`)

ABSENT = "davar-surely-not-installed-pkg"


def test_audit_key_fails_naming_a_package_missing_from_the_grading_environment(tmp_path, one_question, capsys):
    folder = one_question(tmp_path / "graders" / "needs-absent", "def test_nothing():\n    pass\n", points=1,
                          extra=f'[environment]\npackages = ["{ABSENT}>=1.0", "numpy"]\n')
    code = cli.main(["audit-key", str(folder), "--sandbox", "none", "--allow-weak-sandbox", "--lang", "en"])
    out = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert code == 2 and "lacks packages that needs-absent's [environment] lists" in out
    assert f"{ABSENT}: not installed (the assignment asks for {ABSENT}>=1.0)" in out and "numpy:" not in out
    code = cli.main(["audit-key", str(folder), "--sandbox", "none", "--allow-weak-sandbox", "--lang", "fa"])
    assert code == 2 and "نصب نیست" in capsys.readouterr().err


def test_check_environment_tells_missing_wrong_version_and_broken_apart(tmp_path, one_question):
    folder = one_question(tmp_path / "graders" / "env", "", points=1, extra=(
        f'[environment]\npackages = ["{ABSENT}", "numpy<1", "pytest", "tqdm; python_version < \'3.0\'"]\n'
        'imports = { pytest = "davar_no_such_module" }\n'))
    found = {m.values["package"]: m for m in audit.check_environment(load(folder))}
    assert {p: m.key for p, m in found.items()} == {
        ABSENT: "environment_missing", "numpy": "environment_version", "pytest": "environment_broken"}  # not tqdm
    assert "ModuleNotFoundError" in found["pytest"].values["error"]


@pytest.mark.parametrize("assignment_id", ["iust-dl-1402-hw3", "iust-dl-1403-hw2"])
def test_the_shipped_environments_are_installed(repo, assignment_id):
    a = load(repo / "graders" / assignment_id)
    assert a.environment.packages and audit.check_environment(a) == ()


def test_requirements_prints_the_union_of_the_courses_packages(tmp_path, one_question, repo, capsys):
    other = one_question(tmp_path / "graders" / "other", "", points=1,
                         extra='[environment]\npackages = ["tqdm", "pillow"]\n')
    assert cli.main(["requirements", str(repo / "graders" / "iust-dl-1403-hw2"), str(other)]) == 0
    assert capsys.readouterr().out.split() == ["opencv-python-headless", "pillow", "scikit-learn", "tqdm"]
