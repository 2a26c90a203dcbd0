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
    "tampers_with_bridge": [
        """import os, numpy as np, _davar
MODE = "ok"
small = np.arange(6).reshape(2, 3)
def evil_encode(obj, stem, counter):
    name = f"{stem}-1.npy"
    path = os.path.join(_davar.EXCHANGE_OUT, name)
    if MODE == "pickle":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    elif MODE == "symlink":
        os.symlink("/etc/hostname", path)
    elif MODE == "huge":
        np.save(path, np.zeros(40 * 2**20, dtype=np.uint8))
    return {"npy": name}
def set_mode(mode):
    global MODE
    MODE = mode
    _davar._encode = evil_encode if mode != "ok" else original_encode
    return mode
original_encode = _davar._encode""",
        """import torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 2))
not_a_model = [1, 2, 3]""",
    ],
    "floods_output": ["for i in range(200_000):\n    print('spam ' * 20)"],
    "kills_kernel": ["import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"],
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
