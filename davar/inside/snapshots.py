"""The notebook's namespace saved for a later regrade (`davar.grading.batch`) and restored into a fresh kernel.

Each value is pickled on its own (cloudpickle: functions and classes by value, models with their weights),
modules by name.  The file is a container whose parts the harness can tell apart without unpickling
anything (davar/grading/snapshot_store.py splits it into content-addressed blobs, so an array every
student loaded is stored once, keeps only what a regrade needs, and assembles it again for a restore):

    MAGIC, the header's length (8 bytes, big-endian), the header (JSON, UTF-8):
    {"values": [[name, length], ...], "modules": {name: module name}}, then each value's pickle bytes,
    one after the other in the header's order.

The pickles are read back only by `restore`, in a sandboxed kernel like the one that saved them; davar
never unpickles them.  ops.py writes the file (atomically, at the path captured when the kernel started);
the picklers are imported when the kernel starts, before the student's code.
"""

import importlib
import json
import pickle
import struct
import types

import cloudpickle

#: The container's first bytes (the same as `davar.grading.snapshot_store.MAGIC`).
MAGIC = b"davar-snapshot/1\n"
_LENGTH = struct.Struct(">Q")
_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit"}


def save(ns, out):
    """Write the namespace `ns` to the binary file `out` as a container (module docstring); what was kept,
    the modules, and what could not be pickled."""
    values, modules, skipped = {}, {}, {}
    for k, v in list(ns.items()):
        if k.startswith("_") or k in _IPYTHON_NAMES:
            continue
        if isinstance(v, types.ModuleType):
            modules[k] = v.__name__
            continue
        try:
            values[k] = cloudpickle.dumps(v)
        except BaseException as e:  # a generator, an open file, a lock: listed, not fatal
            skipped[k] = f"{type(e).__name__}: {e}"[:200]
    header = json.dumps({"values": [[k, len(data)] for k, data in values.items()], "modules": modules}).encode()
    out.write(MAGIC + _LENGTH.pack(len(header)) + header)
    for data in values.values():
        out.write(data)
    return {"kept": sorted(values), "modules": modules, "skipped": skipped}


def restore(ns, path):
    """Load what `save` wrote to `path` (or the harness assembled in the same layout) into the namespace
    `ns`; how many values, and what failed."""
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise ValueError("not a davar snapshot")
        (size,) = _LENGTH.unpack(f.read(_LENGTH.size))
        header = json.loads(f.read(size))
        failed = {}
        for k, name in header["modules"].items():
            try:
                ns[k] = importlib.import_module(name)
            except BaseException as e:
                failed[k] = f"{type(e).__name__}: {e}"[:200]
        for k, length in header["values"]:
            data = f.read(length)
            try:
                ns[k] = pickle.loads(data)
            except BaseException as e:
                failed[k] = f"{type(e).__name__}: {e}"[:200]
    _rebind(ns)
    return {"restored": len(header["values"]) - len([k for k in failed if k not in header["modules"]]),
            "failed": failed}


def _rebind(ns):
    """Each value was pickled on its own (`save`), so a restored notebook function has a globals dict of its own,
    holding copies of the values its code names: a `predict` that runs `model` ran a copy of it, not the `model` a
    grader watches, and `globals()[name]` found none of the other names.  Their globals are the namespace's values
    again, as in the kernel that saved them (a value that could not be restored stays the function's own copy)."""
    values = {k: v for k, v in ns.items() if not k.startswith("__")}
    done = set()  # the globals dicts already given them (a class's methods share one)
    for v in values.values():
        for f in _notebook_functions(v):
            if id(f.__globals__) not in done:
                done.add(id(f.__globals__))
                f.__globals__.update(values)


def _notebook_functions(v):
    """The functions the notebook defined that `v` is, or has as methods (of its class, or of itself, a class)."""
    candidates: list[object] = [v]
    if not isinstance(v, types.FunctionType):
        mro = (v if isinstance(v, type) else type(v)).__mro__
        classes = [c for c in mro if getattr(c, "__module__", None) == "__main__"]
        members = [m for c in classes for m in vars(c).values()]
        candidates = [getattr(m, "__func__", m) for m in members]  # a staticmethod's or classmethod's function
        candidates += [g for m in members if isinstance(m, property) for g in (m.fget, m.fset, m.fdel)]
    return [f for f in candidates if isinstance(f, types.FunctionType) and f.__module__ == "__main__"]
