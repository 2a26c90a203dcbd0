"""kernel_side.py binds the bridge's requests before the student's code: afterwards nothing of davar/inside is
importable, a student's module named like one of them keeps its name, what the ops use is captured (nothing
looked up by name at request time, so patches and replaced sys.modules entries change no answer), and every
file the kernel side writes replaces whatever a notebook planted at its name."""

import builtins
import dis
import json
import subprocess
import sys
import types
from pathlib import Path

from davar.inside import ops, protocol

KERNEL_SIDE = Path(protocol.__file__).with_name("kernel_side.py")

# Run in a fresh interpreter, in a folder standing for the kernel's working folder: bind as the kernel does, try
# what a notebook can by name, plant links and named pipes at the names the kernel side writes, move away, then ask.
BOUND = f"""
import importlib.util, json, os, sys, types
import numpy as np
spec = importlib.util.spec_from_file_location("kernel_side", {str(KERNEL_SIDE)!r})
kernel_side = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kernel_side)
answer = kernel_side.bind()
found = {{"private": sorted(m for m in sys.modules if m.startswith("_davar"))}}
import models, ops  # the student's own
found["student"] = [models.WHO, ops.WHO]
try:
    import _davar
except ImportError as e:
    found["import"] = type(e).__name__

def forged(*args, **kwargs):
    return {{"json": 666}}
for module in (kernel_side.ops, kernel_side.protocol, kernel_side.models, kernel_side.snapshots):
    for name in [k for k in vars(module) if not k.startswith("__")]:
        if module in (kernel_side.ops, kernel_side.protocol) or name in ("torch_info", "save", "restore"):
            setattr(module, name, forged)
for name in ("numpy", "json", "tempfile", "cloudpickle", "_davar_ops"):
    fake = types.ModuleType(name)  # the module as it was, with what the kernel side would call forged
    fake.__dict__.update(vars(sys.modules.get(name, fake)))
    fake.__dict__.update({{k: forged for k in ("save", "dumps", "dump", "mkstemp", "bind")}})
    sys.modules[name] = fake

out = os.environ["DAVAR_EXCHANGE_OUT"]
for name in ("r1.json", "r1-1.npy", "r2.json"):
    os.symlink("host-file", os.path.join(out, name))
for name in ("r3.json", "r1.json.part", "r1-1.npy.part"):
    os.mkfifo(os.path.join(out, name))
for name in (".davar-snapshot.pkl", ".davar-snapshot.pkl.part"):
    os.mkfifo(name)
os.mkdir("elsewhere")
os.chdir("elsewhere")

ns = {{"x": np.arange(3), "y": {{"a": [1.5, float("nan")]}}}}
found["answered"] = [answer({{"rid": rid, "op": op, "name": name}}, ns) for rid, op, name in
                     (("r1", "value", "x"), ("r2", "value", "y"), ("r3", "snapshot", None))]
restored = {{}}
found["answered"].append(answer({{"rid": "r4", "op": "restore"}}, restored))
found["refused"] = [answer(request, ns) for request in ({{"rid": "../r5", "op": "value", "name": "x"}},
                                                        {{"rid": "r6", "op": "install_shim"}}, {{}})]
found["restored"] = sorted(restored)
print(json.dumps(found))
"""


def test_bound_before_the_students_code_and_unchanged_by_what_it_tries(tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    (out / "host-file").write_text("the host's\n")
    for name in ("models", "ops", "protocol"):
        (work / f"{name}.py").write_text(f"WHO = 'student {name}'\n")
    env = {protocol.ENV_EXCHANGE_IN: str(tmp_path), protocol.ENV_EXCHANGE_OUT: str(out), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", BOUND], cwd=work, env=env, capture_output=True, text=True,
                          timeout=120, check=True)  # a write that waits on a planted pipe fails, never hangs
    found = json.loads(done.stdout)
    assert found["private"] == [] and found["import"] == "ModuleNotFoundError"
    assert found["student"] == ["student models", "student ops"]
    assert found["answered"] == [True] * 4 and found["refused"] == [False] * 3
    assert json.loads((out / "r1.json").read_text()) == {"ok": {"npy": "r1-1.npy"}}
    assert (out / "r1-1.npy").is_file() and not (out / "r1-1.npy").is_symlink()
    assert list(_load(out / "r1-1.npy")) == [0, 1, 2]
    assert (out / "r2.json").read_text() == '{"ok": {"dict": {"a": {"json": [1.5, NaN]}}}}'
    assert (out / "host-file").read_text() == "the host's\n"  # the links were replaced, not written through
    assert json.loads((out / "r3.json").read_text())["ok"]["json"]["kept"] == ["x", "y"]
    assert (work / ".davar-snapshot.pkl").is_file() and not (work / "elsewhere" / ".davar-snapshot.pkl").exists()
    assert found["restored"] == ["x", "y"]
    assert not [p.name for p in out.iterdir() if p.name.endswith(".part") and p.is_file()]


def _load(path):
    import numpy as np

    return np.load(path, allow_pickle=False)


def test_the_ops_look_up_nothing_by_name_but_builtins():
    """Every name the code of `ops.bind` and its closures reads from globals is a builtin: the rest are its
    own locals, bound when the kernel started."""
    names: set[str] = set()

    def walk(code: types.CodeType) -> None:
        names.update(i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME"))
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                walk(const)

    walk(ops.bind.__code__)
    rewritten = {"@py_builtins", "@pytest_ar"}  # pytest's assertion rewriting, where it rewrote davar (editable)
    assert names and names - rewritten <= set(vars(builtins))


def test_exit_in_a_cell_leaves_the_kernel_serving(tmp_path, grade_cells):
    """ipykernel's exit() stops the kernel's event loop 0.1 s later and leaves the process hanging; the kernel
    side makes it do nothing, so the cells after it run and the graders' requests are answered, whatever the
    timing."""
    result, _ = grade_cells(tmp_path, ["exit()\nimport time\ntime.sleep(0.5)  # past the 0.1 s after which "
                                       "ipykernel stops its loop", "answer = 42", "quit()"])
    assert (result.status, result.score) == ("graded", 2), result.messages


def test_the_kernel_starts_without_a_debugger_and_a_student_may_import_one(tmp_path, grade_cells):
    """ipykernel's debugger (debugpy and pydevd, a sixth of a kernel's start) is not loaded; the student's own
    `import debugpy` works all the same."""
    result, _ = grade_cells(tmp_path, [
        "import sys\nloaded = sorted(m for m in sys.modules if 'pydev' in m or m.startswith('debugpy'))",
        "import debugpy\nanswer = 42 if not loaded and debugpy.__version__ else loaded"])
    assert (result.status, result.score) == ("graded", 2), result.messages
