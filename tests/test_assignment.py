"""davar.assignment: assignment.toml parsed into typed values at load; a wrong key or type is an
AssignmentError naming its table, before any student is graded."""

from pathlib import Path

import pytest

from davar import assignment
from davar.assignment import Dataset, Environment, Intake, Limits, Visibility
from davar.errors import AssignmentError
from davar.late import LatePolicy

ROOT = Path(__file__).resolve().parent.parent
HEAD = 'id = "a"\ntitle = { fa = "آ", en = "a" }\nnotebooks = ["hw.ipynb"]\n'
QUESTION = '[[questions]]\nid = "1"\npoints = 1\ntitle = { fa = "یک", en = "one" }\n'


def load(tmp_path, tables: str = "") -> assignment.Assignment:
    d = tmp_path / "graders" / "a"
    d.mkdir(parents=True, exist_ok=True)
    (d / "assignment.toml").write_text(HEAD + QUESTION + tables, encoding="utf-8")
    return assignment.load(d)


def test_every_table_is_typed(tmp_path):
    a = load(tmp_path, """
[limits]
memory_mb = 2048
cell_timeout_s = 120
disk_mb = 512
[profiles.standin]
EPOCHS = 3
limits = { cell_timeout_s = 30, disk_mb = 64 }
[profiles.real]
EPOCHS = 30
[datasets.digits]
standin = "digits:build"
[late]
policy = "per_day"
percent_per_day = 10
[data_map]
"/content/drive/MyDrive/data" = "."
[visibility]
release_hidden = true
[intake]
student_pattern = '^(?P<id>\\d+)_(?P<name>.+)$'
max_files = 50
""")
    assert a.base_limits == Limits(memory_mb=2048, cell_timeout_s=120, disk_mb=512)
    assert a.limits("standin") == Limits(memory_mb=2048, cell_timeout_s=30, disk_mb=64)  # the profile's override
    assert a.limits("real") == a.limits("unknown") == a.base_limits
    assert a.profile_parameters("standin") == {"EPOCHS": 3} and a.profile_parameters("unknown") == {}
    assert a.datasets == {"digits": Dataset(standin="digits:build")}
    assert a.late == LatePolicy(policy="per_day", percent_per_day=10.0)
    assert a.data_map == {"/content/drive/MyDrive/data": "."}
    assert a.visibility == Visibility(release_hidden=True)
    assert a.intake == Intake(student_pattern=r"^(?P<id>\d+)_(?P<name>.+)$", max_files=50)
    assert a.frameworks == () and a.seed == 42


def test_defaults_when_tables_are_absent(tmp_path):
    a = load(tmp_path)
    assert (a.base_limits, a.profiles, a.datasets, a.late, a.visibility, a.intake, a.environment) == (
        Limits(), {}, {}, LatePolicy(), Visibility(), Intake(), Environment())
    assert a.intake.allow == ()  # only the notebooks enter the sandbox


def test_intake_allow_and_environment_are_typed(tmp_path):
    a = load(tmp_path, """
[intake]
allow = ["*.csv", "data/*.txt"]
[environment]
packages = ["tqdm", "opencv-python-headless>=4.8", "albumentations; python_version >= '3.8'"]
imports = { "Opencv_Python_Headless" = "cv2" }
""")
    assert a.intake.allow == ("*.csv", "data/*.txt")
    assert a.environment == Environment(packages=("tqdm", "opencv-python-headless>=4.8",
                                                  "albumentations; python_version >= '3.8'"),
                                        imports={"Opencv_Python_Headless": "cv2"})
    assert Limits().disk_mb == 2048  # what a run folder may hold: the shipped samples write a few MB


@pytest.mark.parametrize("tables, words", [
    ("[limits]\nmemory_mbb = 1024\n", "[limits]"),  # a typo is not silently ignored
    ("[limits]\nmemory_mb = \"1G\"\n", "memory_mb"),
    ("[profiles.real]\nlimits = { disk_mb = \"2G\" }\n", "disk_mb"),
    ("[profiles.standin]\nlimits = { cell_timeout = 30 }\n", "[profiles.standin] limits"),
    ("[datasets.digits]\nbuilder = \"digits:build\"\n", "[datasets.digits]"),
    ("[visibility]\nrelease_hidden = \"yes\"\n", "release_hidden"),
    ("[intake]\nstudent_pattern = '^(?P<id>\\\\d+'\n", "not a regular expression"),
    ("[intake]\nstudent_pattern = '^(?P<sid>\\\\d+)'\n", "named group `id`"),
    ("[data_map]\n\"/data\" = 3\n", "[data_map]"),
    ("[late]\npolicy = \"sometimes\"\n", "unknown policy"),
    ("[intake]\nallow = \"*.csv\"\n", "[intake] allow"),  # a string, not a list of globs
    ("[intake]\nallow = [\"../hidden/*\"]\n", "relative to the submission's folder"),
    ("[environment]\npackages = [\"tqdm>=\"]\n", "[environment] packages"),  # no version after >=
    ("[environment]\npackages = \"tqdm\"\n", "a list of strings"),
    ("[environment]\npackages = [\"tqdm\"]\nimports = { opencv-python = \"cv2\" }\n", "not in packages"),
    ("[environment]\npackage = [\"tqdm\"]\n", "[environment]"),
])
def test_a_wrong_key_or_type_is_an_assignment_error_naming_it(tmp_path, tables, words):
    with pytest.raises(AssignmentError) as e:
        load(tmp_path, tables)
    assert words in str(e.value)


@pytest.mark.parametrize("assignment_id", sorted(p.name for p in (ROOT / "graders").iterdir()
                                                 if (p / "assignment.toml").is_file()))
def test_shipped_assignments_load_typed(assignment_id):
    a = assignment.load(ROOT / "graders" / assignment_id)
    assert all(":" in d.standin for d in a.datasets.values())  # the theory sheet has no data
    assert a.limits("standin").cell_timeout_s <= a.limits("real").cell_timeout_s
    assert set(a.profile_parameters("standin")) == set(a.profile_parameters("real"))


def test_grader_imports_are_the_installed_third_party_modules_the_graders_and_reference_name(tmp_path):
    a = load(tmp_path)
    (a.directory / "helpers.py").write_text("import json\n")
    (a.directory / "test_q1.py").write_text(
        "import os\nimport numpy as np\nimport helpers\nfrom davar import expect\nfrom . import sibling\n"
        "import davar_no_such_package\n\n"
        "def test_q1():\n    import torch.nn.functional as F\n    from sklearn.datasets import load_digits\n")
    (a.directory / "test_broken.py").write_text("def test(:\n")  # pytest reports it; nothing to read here
    a.reference_dir.mkdir(parents=True)
    (a.reference_dir / "reference.py").write_text("def f():\n    import scipy.ndimage\n    import numpy\n")
    assert a.grader_imports() == ("numpy", "torch.nn.functional", "sklearn.datasets", "scipy.ndimage")


def test_grader_imports_without_a_reference_folder(tmp_path):
    assert load(tmp_path).grader_imports() == ()
