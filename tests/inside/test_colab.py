"""A notebook written for Colab grades exactly like its plain twin (davar/inside/colab_shim.py + the sandbox's
data-map mounts, or without a sandbox the shim's places)."""

import zipfile

import nbformat
import pytest

from davar.assignment import load
from davar.grading.grade import grade_submission
from davar.intake import inbox
from davar.run import sandbox

strict = pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")

GRADER = '''
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=3)
def test_total(sub):
    expect(sub.value("answer") == 21.0, "assertion", detail="answer")
'''

PLAIN = """\
import numpy as np
answer = float(np.loadtxt(f"{DATA_DIR}/numbers/values.csv", delimiter=",").sum())"""

COLAB = """\
!pip install -q numpy
%pip install surely-not-installed-pkg
!pip install tensorflow
from google.colab import drive
drive.mount('/content/drive')
!gdown --id 1AbCdEfGhIjKlMnOpQr -O numbers.zip
!unzip -q numbers.zip -d unzipped
!wget https://unmapped.example.com/extra.bin
import urllib.request
urllib.request.urlretrieve("https://example.com/numbers.zip", "again.zip")
import numpy as np
a = np.loadtxt("/content/drive/MyDrive/course/numbers/values.csv", delimiter=",")
b = np.loadtxt("unzipped/values.csv", delimiter=",")
answer = float(a.sum()) if a.sum() == b.sum() else -1.0"""

KAGGLE = """import os
import numpy as np
import requests
from google.colab import files, output, patches
output.enable_custom_widget_manager()
patches.cv2_imshow(np.zeros((4, 4, 3), dtype=np.uint8))

response = requests.get("https://example.com/numbers.zip")
open("/kaggle/working/copy.zip", "wb").write(response.content)
try:
    requests.get("https://unmapped.example.com/other.zip")
except requests.ConnectionError:
    pass
name = "numbers"
a = np.loadtxt(f"/kaggle/input/{name}/values.csv", delimiter=",")
b = np.loadtxt(os.path.join("/kaggle", "input", name, "values.csv"), delimiter=",")
!cp /kaggle/input/numbers/values.csv /kaggle/working/copied.csv
answer = float(a.sum()) if os.path.getsize("copy.zip") > 0 and (a == b).all() and os.path.isfile("copied.csv") else -1.0"""


@pytest.fixture
def course(tmp_path):
    graders = tmp_path / "graders" / "colab"
    graders.mkdir(parents=True)
    (graders / "assignment.toml").write_text(
        'id = "colab"\ntitle = { fa = "کولب", en = "colab" }\nnotebooks = ["hw.ipynb"]\n'
        '[limits]\ncell_timeout_s = 60\ntotal_timeout_s = 120\nmemory_mb = 1024\n[intake]\nallow = ["*.csv"]\n'
        '[data_map]\n"/content/drive/MyDrive/course/numbers" = "numbers"\n"/kaggle/input/numbers" = "numbers"\n'
        '"1AbCdEfGhIjKlMnOpQr" = "numbers.zip"\n"https://example.com/numbers.zip" = "numbers.zip"\n'
        '[[questions]]\nid = "1"\npoints = 3\ntitle = { fa = "یک", en = "one" }\n')
    (graders / "test_colab.py").write_text(GRADER)
    public = tmp_path / "data" / "colab" / "public"
    (public / "numbers").mkdir(parents=True)
    (public / "numbers" / "values.csv").write_text("1,2,3\n4,5,6\n")
    with zipfile.ZipFile(public / "numbers.zip", "w") as z:
        z.write(public / "numbers" / "values.csv", "values.csv")
    for name, source in (("plain", PLAIN), ("colab", COLAB), ("kaggle", KAGGLE)):
        (tmp_path / "subs" / name).mkdir(parents=True)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in source.split("\n\n")])
        nbformat.write(nb, tmp_path / "subs" / name / "hw.ipynb")
    # a file of its own where the data map's Drive folder is: hidden by the mount, never written into the data
    shadow = tmp_path / "subs" / "colab" / "drive" / "MyDrive" / "course" / "numbers" / "values.csv"
    shadow.parent.mkdir(parents=True)
    shadow.write_text("100,100\n")
    return load(graders), tmp_path


@strict
def test_colab_notebook_grades_like_its_plain_twin(course):
    a, root = course
    results = {s.student: grade_submission(s, a, level="strict", data_root=root / "data")
               for s in inbox.collect(root / "subs", a) if s.student in ("plain", "colab")}
    plain, colab = results["plain"], results["colab"]
    assert plain.status == colab.status == "graded", colab.messages
    assert plain.score == colab.score == 3.0
    assert [t.outcome for q in colab.questions for t in q.tests] == [t.outcome for q in plain.questions for t in q.tests]
    notes = {(m.key, m.values["target"]) for m in colab.messages}
    assert ("shim_mount", "/content/drive") in notes
    assert any(k == "shim_pip_present" and t.startswith("numpy ") for k, t in notes)
    assert ("shim_pip_missing", "surely-not-installed-pkg") in notes
    assert any(k == "shim_pip_present" and t.startswith("tensorflow") for k, t in notes)  # tensorflow-cpu: the same import
    assert ("shim_download_refused", "https://unmapped.example.com/extra.bin") in notes
    assert {t for k, t in notes if k == "shim_download"} == {"1AbCdEfGhIjKlMnOpQr -> numbers.zip",
                                                             "https://example.com/numbers.zip -> again.zip"}
    assert ("shim_unzip", "numbers.zip -> unzipped") in notes
    assert not colab.sandbox.blocked and [m.key for m in plain.messages] == []


@strict
def test_kaggle_paths_requests_and_colab_helpers(course):
    a, root = course
    [kaggle] = [s for s in inbox.collect(root / "subs", a) if s.student == "kaggle"]
    result = grade_submission(kaggle, a, level="strict", data_root=root / "data")
    assert result.status == "graded" and result.score == 3.0, result.messages
    notes = {(m.key, m.values["target"]) for m in result.messages}
    assert notes == {("shim_download", "https://example.com/numbers.zip"),
                     ("shim_download_refused", "https://unmapped.example.com/other.zip")}
    assert [f.mime for f in result.figures] == ["image/png"]  # cv2_imshow displayed the image


def test_without_a_sandbox_the_places_are_where_the_notebooks_look(course):
    """At `none` (a laptop without bubblewrap, a CI runner) nothing is mounted: /content, /kaggle/working and the
    data map's places (a string of a cell, an f-string's start, a parent joined at run time, a shell command's path)
    are where they are on this machine, so the three notebooks grade as in the sandbox, and the shim's notes name
    the places as the notebook does."""
    a, root = course
    results = {s.student: grade_submission(s, a, level="none", data_root=root / "data")
               for s in inbox.collect(root / "subs", a)}
    assert {s: (r.status, r.score) for s, r in results.items()} == dict.fromkeys(("colab", "kaggle", "plain"),
                                                                                  ("graded", 3.0))
    notes = {(m.key, m.values["target"]) for m in results["colab"].messages}
    assert ("shim_mount", "/content/drive") in notes and ("shim_unzip", "numbers.zip -> unzipped") in notes
    assert not any("davar-run" in m.values["target"] for r in results.values() for m in r.messages)
    assert (root / "data" / "colab" / "public" / "numbers" / "values.csv").read_text() == "1,2,3\n4,5,6\n"
