"""Framework dataset loaders offline (davar/inside/colab_shim.py, davar/datasets/native.py) and a GPU notebook on
a CPU (davar/inside/cuda_shim.py): keras's own loaders get the course's files, a stand-in passes their hash check
only as a stand-in davar served (and the result says so), anything else is checked or refused as always; CUDA
devices, `.cuda()` and `map_location` run on the CPU, said once."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest

from davar.assignment import load
from davar.datasets import native
from davar.grading.grade import grade_submission
from davar.inside import protocol
from davar.intake import inbox
from davar.run import sandbox

INSIDE = Path(protocol.__file__).parent
FASHION, MNIST = "fashion_mnist", "mnist"


def _images(rng, n, shape, classes):
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8), rng.integers(0, classes, size=n)


def _public(root: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Stand-in files of three loaders under `root` (marked), and an unmarked mnist.npz (a TA's "real" file that is
    not the official one) under `root/real`; returns the arrays written."""
    rng = np.random.default_rng(14)
    arrays = {"fashion": _images(rng, 30, (28, 28), 10), "fashion_test": _images(rng, 10, (28, 28), 10),
              "mnist": _images(rng, 20, (28, 28), 10), "c100": _images(rng, 12, (32, 32, 3), 100),
              "c100_test": _images(rng, 6, (32, 32, 3), 100)}
    downloads = root / native.FOLDER
    native.write_idx_set(downloads / FASHION, train=arrays["fashion"], test=arrays["fashion_test"])
    native.write_mnist_npz(downloads / MNIST / "mnist.npz", train=arrays["mnist"], test=arrays["mnist"])
    c100, c100_test = arrays["c100"], arrays["c100_test"]
    native.write_cifar100_python(downloads / "cifar100" / "cifar-100-python.tar.gz", train=c100, test=c100_test,
                                 coarse_train=c100[1] // 5, coarse_test=c100_test[1] // 5,
                                 fine_classes=[f"fine{i}" for i in range(100)],
                                 coarse_classes=[f"coarse{i}" for i in range(20)])
    for folder in (FASHION, MNIST, "cifar100"):
        native.mark_standin(downloads / folder)
    native.write_mnist_npz(root / "real" / native.FOLDER / MNIST / "mnist.npz", train=arrays["mnist"],
                           test=arrays["fashion_test"])
    return arrays


# Run as the kernel side does (the modules loaded by path, the shims installed before any framework import).
SHIMMED = """
import importlib.util, json, os, sys
def sibling(name):
    spec = importlib.util.spec_from_file_location("_davar_" + name, os.path.join({inside!r}, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
post_import, colab_shim, cuda_shim = sibling("post_import"), sibling("colab_shim"), sibling("cuda_shim")
events = []
report = lambda op, target: events.append([op, target])
post_import.install(report)
colab_shim.install({{"downloads": json.loads(os.environ["DOWNLOADS"])}}, report,
                   when_imported=post_import.when_imported)
cuda_shim.install(report, when_imported=post_import.when_imported)
found = {{}}
"""


def _run_shimmed(code: str, tmp_path: Path, downloads: dict[str, str]) -> dict:
    script = SHIMMED.format(inside=str(INSIDE)) + textwrap.dedent(code) + "\nfound['events'] = events\n" \
        "print('FOUND' + json.dumps(found))\n"
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "DOWNLOADS": json.dumps(downloads), "CUDA_VISIBLE_DEVICES": "",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", script], cwd=home, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    [line] = [line for line in done.stdout.splitlines() if line.startswith("FOUND")]
    return json.loads(line.removeprefix("FOUND"))


def test_keras_loaders_get_the_courses_files(tmp_path):
    pytest.importorskip("keras")
    public = tmp_path / "public"
    arrays = _public(public)
    downloads = {url: str(public / rel) for url, rel in native.loader_downloads(public).items()}
    real = {url: str(public / "real" / rel) for url, rel in native.loader_downloads(public / "real").items()}
    found = _run_shimmed(f"""
        import keras
        (x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data()
        found["fashion"] = [x.tolist(), y.tolist(), xt.shape[0]]
        (x, y), _ = keras.datasets.mnist.load_data()
        found["mnist"] = [x.tolist(), y.tolist()]
        (x, y), (xt, yt) = keras.datasets.cifar100.load_data()
        found["cifar100"] = [x.tolist(), y.ravel().tolist(), xt.shape[0]]
        try:
            keras.datasets.cifar10.load_data()
        except Exception as e:
            found["cifar10"] = type(e).__name__
        colab_shim._config["downloads"] = {real!r}  # a file that is neither official nor davar's stand-in
        try:
            keras.datasets.mnist.load_data(path="other.npz")
        except ValueError as e:
            found["real"] = str(e)
        """, tmp_path, downloads)
    assert found["fashion"] == [arrays["fashion"][0].tolist(), arrays["fashion"][1].tolist(), 10]
    assert found["mnist"] == [arrays["mnist"][0].tolist(), arrays["mnist"][1].tolist()]
    assert found["cifar100"] == [arrays["c100"][0].tolist(), arrays["c100"][1].tolist(), 6]
    assert found["cifar10"] == "Exception"  # not in the course's data: refused at once
    assert "hash does not match" in found["real"]  # keras's own check, untouched for anything but a stand-in
    events = {tuple(e) for e in found["events"]}
    assert {t for op, t in events if op == "standin_integrity"} == {"mnist.npz", "cifar-100-python.tar.gz"}
    assert ("download_refused", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz") in events
    assert sum(op == "download" for op, _ in events) == 7 and not any(op == "cuda_on_cpu" for op, _ in events)


def test_cuda_code_runs_on_the_cpu_said_once(tmp_path):
    pytest.importorskip("torch")
    found = _run_shimmed("""
        import io
        import torch
        from torch import nn
        device = torch.device("cuda" if not torch.cuda.is_available() else "cpu")  # a GPU notebook, as written
        model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).to(device).cuda()
        x = torch.randn(5, 4, device="cuda:0").to(device).cuda()
        y = torch.zeros(5, dtype=torch.long).to("cuda", non_blocking=True)
        loss = nn.functional.cross_entropy(model(x.to(device=device, dtype=torch.float32)), y)
        loss.backward()
        extra = nn.Linear(2, 2, device="cuda")
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        buffer.seek(0)
        state = torch.load(buffer, map_location="cuda")
        buffer.seek(0)
        mapped = torch.load(buffer, map_location={"cuda:0": "cuda:1"})
        found["devices"] = sorted({str(t.device) for t in [x, y, extra.weight, *state.values(), *mapped.values(),
                                                          *model.parameters()]})
        found["loss"] = float(loss)
        found["available"] = torch.cuda.is_available()
        found["pinned"] = x.pin_memory() is x
        try:
            torch.cuda.get_device_name(0)
        except Exception as e:
            found["asked_the_gpu"] = type(e).__name__
        """, tmp_path, {})
    assert found["devices"] == ["cpu"] and found["loss"] > 0 and found["pinned"]
    assert found["available"] is False and found["asked_the_gpu"]  # nothing pretends a GPU is there
    assert found["events"] == [["cuda_on_cpu", "Module.to"]]


def test_with_a_gpu_torch_is_left_alone(tmp_path):
    found = _run_shimmed("""
        import types
        torch = types.ModuleType("torch")  # torch where a GPU is there: the shim only asks
        torch.cuda = types.SimpleNamespace(is_available=lambda: True)
        sys.modules["torch"] = torch
        cuda_shim.install(report, when_imported=post_import.when_imported)  # torch is imported: it runs at once
        found["untouched"] = sorted(k for k in vars(torch) if not k.startswith("__"))
        """, tmp_path, {})
    assert found["untouched"] == ["cuda"] and found["events"] == []


GRADER = '''
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=2)
def test_loaded(sub):
    expect(sub.value("shapes") == [30, 28, 28, 10], "assertion", detail="shapes")
'''

NOTEBOOK = """\
import keras
(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()

import torch
device = "cuda"
images = torch.tensor(x_train, dtype=torch.float32).to(device) / 255
shapes = [*images.shape, int(x_test.shape[0])]"""


@pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")
def test_a_colab_notebook_loads_fashion_mnist_and_uses_cuda_in_the_sandbox(tmp_path, one_question):
    pytest.importorskip("keras")
    graders = one_question(tmp_path / "graders" / "loaders", GRADER, points=2)
    _public(tmp_path / "data" / "loaders" / "public")
    (tmp_path / "subs" / "colab").mkdir(parents=True)
    cells = [nbformat.v4.new_code_cell(c) for c in NOTEBOOK.split("\n\n")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "subs" / "colab" / "hw.ipynb")
    a = load(graders)
    [sub] = inbox.collect(tmp_path / "subs", a)
    result = grade_submission(sub, a, level="strict", data_root=tmp_path / "data")
    assert result.status == "graded" and result.score == 2.0, result.messages
    notes = {(m.key, m.values["target"]) for m in result.messages if m.key.startswith("shim_")}
    assert {t for k, t in notes if k == "shim_download"} == {
        f"https://storage.googleapis.com/tensorflow/tf-keras-datasets/{name}"
        f" -> {sandbox.WORK}/.keras/datasets/fashion-mnist/{name}" for name in native.IDX_FILES}
    assert ("shim_cuda_on_cpu", "Tensor.to") in notes
