"""Writes the fixture notebooks of tests/ (named after what they reproduce) from the sources below.

Run `python tests/notebooks/make.py` after editing a source; the .ipynb files are committed.
"""

from pathlib import Path

import nbformat

PARAMETERS = 'DATA_DIR = "data"\nSEED = 0\nOUTPUT_DIR = "output"\nPROFILE = "standin"'

NOTEBOOKS = {
    "probes_sandbox_walls": [
        """import os, socket, pathlib
findings = {"uid": os.getuid(), "cap_eff": open("/proc/self/status").read().split("CapEff:")[1].split()[0]}
def attempt(fn):
    try:
        fn()
        return "allowed"
    except Exception as e:
        return type(e).__name__
findings["internet"] = attempt(lambda: socket.create_connection(("1.1.1.1", 53), timeout=2))
findings["dns"] = attempt(lambda: socket.getaddrinfo("example.com", 80))
findings["host_root"] = sorted(os.listdir("/"))
findings["write_usr"] = attempt(lambda: open("/usr/davar-test", "w"))
findings["data_writable"] = attempt(lambda: open(os.path.join(DATA_DIR, "x"), "w"))
findings["pids"] = len([p for p in os.listdir("/proc") if p.isdigit()])
findings["hostname"] = socket.gethostname()
def try_read(path):
    try:
        return "read " + str(len(pathlib.Path(path).read_bytes()))
    except Exception as e:
        return type(e).__name__""",
    ],
    "eats_memory": ["import numpy as np\nblocks = []\nfor _ in range(64):\n    blocks.append(np.ones(64 * 2**20, dtype=np.uint8))"],
    "forks_too_much": ["import threading, time\nthreads = []\nfor _ in range(2000):\n"
                       "    t = threading.Thread(target=time.sleep, args=(30,), daemon=True)\n    t.start()\n    threads.append(t)"],
    # Every ordinary route to forge the bridge's answers, after the values and the model are made: import the kernel
    # side, patch what gc still holds of it, replace sys.modules entries (its private names, and the libraries it
    # writes with, forged), plant links and named pipes at the predictable names of its replies, its arrays, its
    # old temporary files and the namespace snapshot, and move away from the working folder.  `TRIED` says
    # what each attempt did; the graders must still get honest answers.
    "tampers_with_bridge": [
        """import numpy as np
small = np.arange(6).reshape(2, 3)
def double(x):
    return x * 2
def spin():
    while True:
        pass""",
        """import torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 2))
not_a_model = [1, 2, 3]""",
        """import gc, json, os, sys, tempfile, types
import cloudpickle
TRIED = {}
try:
    import _davar
    TRIED["import"] = "imported"
except ImportError as e:
    TRIED["import"] = type(e).__name__
TRIED["private_modules"] = sorted(m for m in sys.modules if m.startswith("_davar"))
def forged(*args, **kwargs):
    return {"json": 666}
# The kernel side's functions and constants, wherever gc still finds its modules: all of ops.py and protocol.py,
# and what ops.py calls of the others.
CALLED = {"framework", "torch_info", "keras_info", "graph", "torch_shapes", "save", "restore"}
TRIED["patched"] = {}
for m in [m for m in gc.get_objects() if isinstance(m, types.ModuleType) and m.__name__.startswith("_davar")]:
    everything = m.__name__ in ("_davar_ops", "_davar_protocol")
    names = [k for k in vars(m) if not k.startswith("__") and (everything or k in CALLED)]
    for k in names:
        setattr(m, k, forged)
    TRIED["patched"][m.__name__] = len(names)
def replace_module(name, **forgeries):
    fake = types.ModuleType(name)
    fake.__dict__.update(vars(sys.modules[name]) if name in sys.modules else {})
    fake.__dict__.update(forgeries)
    sys.modules[name] = fake
    return name
real_save, real_dumps, real_dump = np.save, json.dumps, json.dump
def forged_json(obj):
    return {"ok": {"json": 666}} if isinstance(obj, dict) and len(obj) == 1 else obj
TRIED["replaced"] = [
    *(replace_module(name, **{k: forged for k in CALLED | {"bind", "answer"}})
      for name in ("_davar", "_davar_ops", "_davar_models", "_davar_snapshots", "_davar_protocol")),
    replace_module("numpy", save=lambda f, arr, *a, **k: real_save(f, np.full(np.shape(arr), 666), *a, **k)),
    replace_module("json", dumps=lambda obj, *a, **k: real_dumps(forged_json(obj), *a, **k),
                   dump=lambda obj, f, *a, **k: real_dump(forged_json(obj), f, *a, **k)),
    replace_module("tempfile", mkstemp=forged),
    replace_module("cloudpickle", dumps=lambda *a, **k: b"forged", dump=forged),
]""",
        """OUT = os.environ["DAVAR_EXCHANGE_OUT"]
def plant(path, i):
    if not os.path.lexists(path):
        os.mkfifo(path) if i % 2 else os.symlink("/etc/hostname", path)
for i in range(1, 200):
    for name in (f"r{i}.json", f"r{i}-1.npy", f"r{i}.json.part", f"r{i}-1.npy.part"):
        plant(os.path.join(OUT, name), i + name.endswith(".part"))
TRIED["planted"] = len(os.listdir(OUT))
for name in (".davar-snapshot.pkl", ".davar-snapshot.pkl.part"):
    os.mkfifo(name)
os.makedirs("elsewhere")
os.chdir("elsewhere")
TRIED["cwd"] = os.getcwd()""",
    ],
    "floods_output": ["for i in range(200_000):\n    print('spam ' * 20)"],
    "kills_kernel": ["import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"],
    # Named pipes (an open waits for a writer forever), links to a device and folders, each where the harness reads
    # a file after the run: the namespace snapshot (and its old temporary name; then the notebook moves away) and,
    # on request, the names of the next replies and their arrays.  The kernel side writes over pipes and links; a
    # folder at an array's name makes that answer fail, nothing more.
    "leaves_fifos_where_the_harness_reads": [
        """import os, numpy as np
answer = 42
small = np.arange(6)
for name in (".davar-snapshot.pkl", ".davar-snapshot.pkl.part"):
    os.mkfifo(name)
os.makedirs("elsewhere")
os.chdir("elsewhere")  # the kernel side still saves the snapshot where the harness reads it, over the pipe""",
        """OUT = os.environ["DAVAR_EXCHANGE_OUT"]
PLANTS = {"fifo": os.mkfifo, "device": lambda p: os.symlink("/dev/zero", p), "folder": os.mkdir}
def plant(how):
    names = ["{}-1.npy"] if how == "folder" else ["{}.json", "{}-1.npy"]  # a folder at every next reply: no answers
    for i in range(1, 100):
        for name in names:
            path = os.path.join(OUT, name.format(f"r{i}"))
            if os.path.lexists(path) and not os.path.isdir(path):
                os.remove(path)  # what an earlier call planted
            if not os.path.lexists(path):
                PLANTS[how](path)
    return how""",
    ],
    # /tmp first (the error caught), then the working folder: one quota for both, so the second write fails
    "fills_the_disk": [
        """import os
def fill(folder, limit_mb=1024):
    written = 0
    try:
        with open(os.path.join(folder, "fill.bin"), "wb") as f:
            while written < limit_mb:
                f.write(b"\\0" * 2**20)
                f.flush()
                written += 1
    except OSError as e:
        return written, e.errno
    return written, None
tmp_mb, tmp_errno = fill("/tmp")
defined_before = 42""",
        "checkpoint = open('checkpoint.bin', 'wb')\ncheckpoint.write(b'\\1' * 8 * 2**20)\ncheckpoint.flush()",
        "never_defined = 1",
    ],
    # Thousands of small files (augmented images, one per file) until the disk has no inode left, the error caught.
    "uses_up_the_inodes": [
        """import errno, os
os.makedirs("augmented", exist_ok=True)
try:
    for i in range(1_000_000):
        open(f"augmented/{i}.png", "wb").close()
except OSError as e:
    files, error = i, errno.errorcode[e.errno]
answer = 42
def predict(images):
    return images.sum(axis=1)""",
    ],
    "models_with_branches": [
        # torch: an Inception module joined by torch.cat, a ResNeXt-like block (grouped conv, x += shortcut),
        # and a model torch.fx cannot trace (control flow on data).
        """import torch
from torch import nn
import torch.nn.functional as F
torch.manual_seed(0)
class Inception(nn.Module):
    def __init__(self, c, f):
        super().__init__()
        self.b1 = nn.Conv2d(c, f, 1)
        self.b2 = nn.Sequential(nn.Conv2d(c, f, 1), nn.ReLU(), nn.Conv2d(f, f, 3, padding=1))
        self.b3 = nn.Sequential(nn.Conv2d(c, f, 1), nn.ReLU(), nn.Conv2d(f, f, 5, padding=2))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(c, f, 1))
    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)
class ResNeXtBlock(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.reduce, self.bn1 = nn.Conv2d(c, c // 2, 1, bias=False), nn.BatchNorm2d(c // 2)
        self.grouped, self.bn2 = nn.Conv2d(c // 2, c // 2, 3, padding=1, groups=groups, bias=False), nn.BatchNorm2d(c // 2)
        self.expand = nn.Conv2d(c // 2, c, 1, bias=False)
    def forward(self, x):
        out = F.relu(self.bn1(self.reduce(x)))
        out = F.relu(self.bn2(self.grouped(out)))
        out = self.expand(out)
        out += x
        return F.relu(out)
class Picky(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(3, 4, 3), nn.Linear(4, 2)
    def forward(self, x):
        if x.mean() > 0:  # data-dependent control flow: torch.fx cannot trace it
            x = -x
        return self.fc(self.conv(x).mean(dim=(2, 3)))
torch_inception = nn.Sequential(Inception(3, 4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 2))
torch_resnext = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), ResNeXtBlock(16, groups=4), nn.AdaptiveAvgPool2d(1),
                              nn.Flatten(), nn.Linear(16, 2))
torch_picky = Picky()""",
        # Keras: a Functional model with two Inception modules (GoogLeNet-style) and a concatenation of three
        # identical 3x3 branches (not Inception), and a Sequential chain.
        """import keras
from keras import layers
def inception_module(x, f):
    a = layers.Conv2D(f, 1, activation="relu")(x)
    b = layers.Conv2D(f, 1, activation="relu")(x)
    b = layers.Conv2D(f, 3, padding="same", activation="relu")(b)
    c = layers.Conv2D(f, 1, activation="relu")(x)
    c = layers.Conv2D(f, 5, padding="same", activation="relu")(c)
    d = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    d = layers.Conv2D(f, 1, activation="relu")(d)
    return layers.Concatenate()([a, b, c, d])
inputs = keras.Input((16, 16, 3))
x = inception_module(inputs, 4)
x = inception_module(x, 4)
x = layers.Concatenate()([layers.Conv2D(4, 3, padding="same")(x) for _ in range(3)])
x = layers.GlobalAveragePooling2D()(x)
keras_inception = keras.Model(inputs, layers.Dense(2)(x))
keras_chain = keras.Sequential([keras.Input((16, 16, 3)), layers.Conv2D(4, 3), layers.MaxPooling2D(),
                                layers.Flatten(), layers.Dense(2)])
class InceptionBlock(layers.Layer):  # the module as a custom layer, inside a subclassed model
    def __init__(self, f, **kwargs):
        super().__init__(**kwargs)
        self.one = layers.Conv2D(f, 1)
        self.three = [layers.Conv2D(f, 1), layers.Conv2D(f, 3, padding="same")]
        self.pool = [layers.MaxPooling2D(3, strides=1, padding="same"), layers.Conv2D(f, 1)]
    def call(self, x):
        return keras.ops.concatenate([self.one(x), self.three[1](self.three[0](x)), self.pool[1](self.pool[0](x))])
class CustomNet(keras.Model):
    def __init__(self):
        super().__init__()
        self.block, self.head = InceptionBlock(4), layers.Dense(2)
    def call(self, x):
        return self.head(keras.ops.mean(self.block(x), axis=(1, 2)))
keras_custom = CustomNet()
keras_custom(keras.ops.zeros((1, 16, 16, 3)))""",
    ],
}


def write(folder: Path = Path(__file__).parent) -> None:
    for name, cells in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]})]
        nb.cells += [nbformat.v4.new_code_cell(src) for src in cells]
        d = folder / name
        d.mkdir(exist_ok=True)
        nbformat.write(nb, d / "notebook.ipynb")


if __name__ == "__main__":
    write()
