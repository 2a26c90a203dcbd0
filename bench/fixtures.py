"""The benchmark's notebooks, graders and the equivalent Otter-Grader and nbgrader assignments.

Everything is generated under one work folder (default `bench/out/work`), so the benchmark never
touches the repository's `graders/`, `submissions/` or `data/`:

    graders/bench-work/      3 graders for the "work" notebook (a few seconds of numpy training)
    graders/bench-trivial/   1 grader for the trivial notebook (`answer = 42`)
    graders/bench-torch/     1 grader for the torch notebook (`import torch`, a tensor op, `answer = 42`;
                             `frameworks = ["torch"]`, so a warm kernel has torch imported already)
    graders/bench-train/     2 graders for the ~30 s torch training notebook (the regrade row)
    subs/<set>/<student>/hw.ipynb
    otter/, otter-trivial/   tests/q*.py (OK format) -> autograder.zip, for `otter run`
    nbgrader/, nbgrader-trivial/   a course: nbgrader_config.py, source/bench/hw.ipynb with its test cells

The numpy notebook's three tests are the same checks everywhere: the training loss fell to under half
its start, the training accuracy is over 0.9, and `predict` on the first 200 points is over 0.9
accurate.  The trivial notebook's one test is `answer == 42` everywhere.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

# ------------------------------------------------------------------------------ notebooks

# A two-layer numpy MLP trained with minibatch SGD on 4 Gaussian blobs: small matrices, so the time
# is the Python training loop on one core, as in a typical homework.  EPOCHS sets the work
# (~1.7 s on a lightly loaded core of this machine at the default).
WORK_DATA = """\
import numpy as np
rng = np.random.default_rng(0)
n, d, h, k = 3000, 32, 64, 4
centers = rng.normal(0, 1.0, (k, d))
y = rng.integers(0, k, n)
X = centers[y] + rng.normal(0, 1.5, (n, d))
EPOCHS = {epochs}"""

WORK_MODEL = """\
W1 = rng.normal(0, 0.1, (d, h)); b1 = np.zeros(h)
W2 = rng.normal(0, 0.1, (h, k)); b2 = np.zeros(k)

def forward(A):
    H = np.maximum(A @ W1 + b1, 0)
    Z = H @ W2 + b2
    P = np.exp(Z - Z.max(1, keepdims=True))
    return H, P / P.sum(1, keepdims=True)

def predict(A):
    return forward(A)[1].argmax(1)"""

WORK_TRAIN = """\
losses, lr, batch = [], 0.05, 32
for epoch in range(EPOCHS):
    order = rng.permutation(n)
    total = 0.0
    for i in range(0, n, batch):
        idx = order[i:i + batch]
        A, t = X[idx], y[idx]
        H, P = forward(A)
        total += -np.log(P[np.arange(len(t)), t] + 1e-12).sum()
        G = P.copy(); G[np.arange(len(t)), t] -= 1; G /= len(t)
        GH = (G @ W2.T) * (H > 0)
        W2 -= lr * H.T @ G; b2 -= lr * G.sum(0)
        W1 -= lr * A.T @ GH; b1 -= lr * GH.sum(0)
    losses.append(total / n)
train_acc = float((predict(X) == y).mean())
print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, train accuracy {train_acc:.3f}")"""

# The regrade row: a torch MLP trained for ~30 s (one thread), whose model and data the graders probe.
TRAIN_CELLS = ("""\
import time
import numpy as np
import torch
from torch import nn
torch.set_num_threads(1)
rng = np.random.default_rng(1)
n, d, k = 4000, 64, 8
centers = rng.normal(0, 1.0, (k, d)).astype("float32")
y = rng.integers(0, k, n)
X = (centers[y] + rng.normal(0, 2.0, (n, d))).astype("float32")
SECONDS = {seconds}""", """\
net = nn.Sequential(nn.Linear(d, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, k))
opt = torch.optim.Adam(net.parameters(), 1e-3)
Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
start, epochs = time.monotonic(), 0
while time.monotonic() - start < SECONDS:  # "train for the time budget", as a slow homework would
    for i in range(0, n, 64):
        opt.zero_grad()
        nn.functional.cross_entropy(net(Xt[i:i + 64]), yt[i:i + 64]).backward()
        opt.step()
    epochs += 1
net.eval()
with torch.no_grad():
    train_acc = float((net(Xt).argmax(1) == yt).float().mean())
print(f"{epochs} epochs, train accuracy {train_acc:.3f}")""")


def work_notebook(epochs: int) -> nbformat.NotebookNode:
    return new_notebook(cells=[new_markdown_cell("# Benchmark: a small numpy MLP"),
                               new_code_cell(WORK_DATA.format(epochs=epochs)), new_code_cell(WORK_MODEL),
                               new_code_cell(WORK_TRAIN)],
                        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def trivial_notebook(i: int) -> nbformat.NotebookNode:
    return new_notebook(cells=[new_code_cell(f"student = {i}\nanswer = 42")],
                        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def torch_notebook(i: int) -> nbformat.NotebookNode:
    """`import torch` and a tiny tensor op: the cost is the framework's import, which a warm kernel has paid."""
    cell = f"import torch\nstudent = {i}\nanswer = int(torch.tensor([40, 2]).sum())"
    return new_notebook(cells=[new_code_cell(cell)],
                        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def train_notebook(seconds: float) -> nbformat.NotebookNode:
    return new_notebook(cells=[new_code_cell(TRAIN_CELLS[0].format(seconds=seconds)), new_code_cell(TRAIN_CELLS[1])],
                        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


# ------------------------------------------------------------------------------ davar graders

def _assignment_toml(aid: str, questions: list[tuple[str, int]], *, frameworks: tuple[str, ...] = (),
                     memory_mb: int = 2048, timeout_s: int = 300) -> str:
    lines = [f'id = "{aid}"', f'title = {{ fa = "{aid}", en = "{aid}" }}', 'notebooks = ["hw.ipynb"]',
             f"frameworks = {json.dumps(list(frameworks))}", "", "[limits]", f"cell_timeout_s = {timeout_s}",
             f"total_timeout_s = {timeout_s}", f"memory_mb = {memory_mb}"]
    for qid, points in questions:
        lines += ["", "[[questions]]", f'id = "{qid}"', f"points = {points}",
                  f'title = {{ fa = "{qid}", en = "{qid}" }}']
    return "\n".join(lines) + "\n"


WORK_GRADERS = '''\
import numpy as np
import pytest
from davar import expect


@pytest.mark.davar(question="1", points=1)
def test_loss_fell(sub):
    losses = sub.array("losses")
    expect(losses[-1] < 0.5 * losses[0], "assertion", detail="the loss fell to under half")


@pytest.mark.davar(question="2", points=1)
def test_train_accuracy(sub):
    expect(sub.value("train_acc") > 0.9, "assertion", detail="training accuracy over 0.9")


@pytest.mark.davar(question="3", points=1)
def test_predict(sub):
    X, y = sub.array("X")[:200], sub.array("y")[:200]
    expect(float(np.mean(sub.call("predict", X) == y)) > 0.9, "assertion", detail="predict is over 0.9 accurate")
'''

TRIVIAL_GRADER = '''\
import pytest
from davar import expect


@pytest.mark.davar(question="1", points=1)
def test_answer(sub):
    expect(sub.value("answer") == 42, "assertion", detail="answer is 42")
'''

# `{threshold}` is what the benchmark changes between the two runs of the regrade row (only a grader).
TRAIN_GRADERS = '''\
import numpy as np
import pytest
from davar import expect


@pytest.mark.davar(question="1", points=1)
def test_model(sub):
    expect(sub.model("net").param_count() > 10_000, "assertion", detail="a model with over 10k parameters")


@pytest.mark.davar(question="2", points=1)
def test_accuracy(sub):
    X, y = sub.array("X")[:500], sub.array("y")[:500]
    acc = float(np.mean(sub.model("net").predict(X[:{rows}]).argmax(1) == y[:{rows}]))
    expect(acc > {threshold}, "assertion", detail="training accuracy over {threshold}")
'''


def write_train_graders(work: Path, threshold: float, rows: int = 500) -> None:
    """The training notebook's graders: accuracy over `threshold` on its first `rows` points."""
    (work / "graders" / "bench-train" / "test_train.py").write_text(TRAIN_GRADERS.format(threshold=threshold,
                                                                                         rows=rows))


def _students(root: Path, notebooks: list[nbformat.NotebookNode], prefix: str) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    width = len(str(len(notebooks) - 1))
    for i, nb in enumerate(notebooks):
        folder = root / f"{prefix}{i:0{width}d}"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "hw.ipynb")
    return root


def build(work: Path, *, work_subs: int, class_subs: int, trivial: int, peer_trivial: int, torch_subs: int,
          rss_subs: int, epochs: int, train_seconds: float) -> dict[str, Path]:
    """Write the graders and the submission sets; returns the submission folders by set name."""
    work.mkdir(parents=True, exist_ok=True)
    for aid, questions, grader, frameworks in (("bench-work", [("1", 1), ("2", 1), ("3", 1)], WORK_GRADERS, ()),
                                               ("bench-trivial", [("1", 1)], TRIVIAL_GRADER, ()),
                                               ("bench-torch", [("1", 1)], TRIVIAL_GRADER, ("torch",)),
                                               ("bench-train", [("1", 1), ("2", 1)], None, ("torch",))):
        folder = work / "graders" / aid
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        (folder / "assignment.toml").write_text(_assignment_toml(aid, questions, frameworks=frameworks))
        if grader:
            (folder / f"test_{aid.split('-')[1]}.py").write_text(grader)
    write_train_graders(work, 0.5)
    subs = work / "subs"
    return {
        "work": _students(subs / "work", [work_notebook(epochs)] * work_subs, "s"),
        "class": _students(subs / "class", [work_notebook(epochs)] * class_subs, "k"),
        "trivial": _students(subs / "trivial", [trivial_notebook(i) for i in range(trivial)], "t"),
        "peer-trivial": _students(subs / "peer-trivial", [trivial_notebook(i) for i in range(peer_trivial)], "p"),
        "torch": _students(subs / "torch", [torch_notebook(i) for i in range(torch_subs)], "c"),
        "rss": _students(subs / "rss", [trivial_notebook(i) for i in range(rss_subs)], "r"),
        "train": _students(subs / "train", [train_notebook(train_seconds)], "s"),
        "warmup": _students(subs / "warmup", [trivial_notebook(0)], "w"),
    }


# ------------------------------------------------------------------------------ Otter-Grader

# The checks of each notebook, as Python expressions (Otter doctests, nbgrader `assert` cells).
WORK_TESTS = {
    "q1": "losses[-1] < 0.5 * losses[0]",
    "q2": "train_acc > 0.9",
    "q3": "float(np.mean(predict(X[:200]) == y[:200])) > 0.9",
}
TRIVIAL_TESTS = {"q1": "answer == 42"}


def build_otter(work: Path, *, trivial: bool = False) -> Path:
    """tests/q*.py in Otter's OK format (a doctest each, 1 point) and an empty requirements.txt,
    for `otter generate` to turn into autograder.zip."""
    root = work / ("otter-trivial" if trivial else "otter")
    shutil.rmtree(root, ignore_errors=True)
    (root / "tests").mkdir(parents=True)
    for name, expr in (TRIVIAL_TESTS if trivial else WORK_TESTS).items():
        test = {"name": name, "points": 1, "suites": [{"type": "doctest", "scored": True, "setup": "", "teardown": "",
                                                       "cases": [{"code": f">>> bool({expr})\nTrue", "hidden": False,
                                                                  "locked": False}]}]}
        text = f"OK_FORMAT = True\n\ntest = {json.dumps(test, indent=4)}\n"
        (root / "tests" / f"{name}.py").write_text(text.replace("true", "True").replace("false", "False"))
    (root / "requirements.txt").write_text("")
    return root


# ------------------------------------------------------------------------------ nbgrader

NBGRADER_CONFIG = """\
c = get_config()
c.CourseDirectory.course_id = "bench"
c.CourseDirectory.root = {root!r}
c.Execute.timeout = 300
"""


def nbgrader_notebook(epochs: int | None) -> nbformat.NotebookNode:
    """The work notebook (or the trivial one, `epochs` None) with the same checks as nbgrader
    autograder-test cells (1 point each)."""
    nb = trivial_notebook(0) if epochs is None else work_notebook(epochs)
    for name, expr in (TRIVIAL_TESTS if epochs is None else WORK_TESTS).items():
        nb.cells.append(new_code_cell(f"assert {expr}", metadata={"nbgrader": {
            "grade": True, "solution": False, "locked": True, "task": False, "points": 1, "grade_id": f"test_{name}",
            "schema_version": 3}}))
    return nb


def build_nbgrader(work: Path, *, epochs: int | None) -> Path:
    """A course folder: config, source/bench/hw.ipynb (then `nbgrader generate_assignment` makes the
    release version the students would get and records the tests in the gradebook); `epochs` None: the
    trivial notebook, in `nbgrader-trivial/`."""
    root = work / ("nbgrader-trivial" if epochs is None else "nbgrader")
    shutil.rmtree(root, ignore_errors=True)
    (root / "source" / "bench").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(root=str(root)))
    nbformat.write(nbgrader_notebook(epochs), root / "source" / "bench" / "hw.ipynb")
    return root
