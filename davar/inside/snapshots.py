"""The notebook's namespace saved for a later regrade (`davar.grading.batch`) and restored into a fresh kernel.

Each value is pickled on its own (cloudpickle: functions and classes by value, models with their weights),
modules by name.  The file is read back only by `restore`, in a sandboxed kernel like the one that saved
it; davar never unpickles it.  ops.py writes the file (atomically, at the path captured when the kernel
started); the picklers are imported when the kernel starts, before the student's code.
"""

import importlib
import pickle
import types

import cloudpickle

_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit"}


def save(ns, out):
    """Write the namespace `ns` to the binary file `out`; what was kept, the modules, and what could not be
    pickled."""
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
    cloudpickle.dump({"values": values, "modules": modules}, out)
    return {"kept": sorted(values), "modules": modules, "skipped": skipped}


def restore(ns, path):
    """Load what `save` wrote to `path` into the namespace `ns`; how many values, and what failed."""
    with open(path, "rb") as f:
        saved = pickle.load(f)
    failed = {}
    for k, name in saved["modules"].items():
        try:
            ns[k] = importlib.import_module(name)
        except BaseException as e:
            failed[k] = f"{type(e).__name__}: {e}"[:200]
    for k, data in saved["values"].items():
        try:
            ns[k] = pickle.loads(data)
        except BaseException as e:
            failed[k] = f"{type(e).__name__}: {e}"[:200]
    return {"restored": len(saved["values"]) - len(failed), "failed": failed}
