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
    return {"restored": len(header["values"]) - len([k for k in failed if k not in header["modules"]]),
            "failed": failed}
