"""The bridge's requests, answered as plain data; kernel_side.py binds them once, when the kernel starts,
before any of the student's code runs.

`bind` returns ``answer(request, namespace)``, which serves one request (``protocol.OPS``) on the notebook's
namespace: it writes ``<rid>.json`` in the exchange folder, one of ``protocol.REPLIES``: a descriptor of plain
data, with arrays in ``.npy`` files beside it (never pickles).  Student exceptions become ``{"error": ...}``
replies, a name the notebook lacks ``{"missing": name}``.

Why one factory of closures: everything `answer` uses (the modules it imports, its siblings' functions, its
own helpers) is a local of `bind`, captured when the kernel starts.  A notebook that later patches an
attribute of this module or of a sibling, or replaces a `sys.modules` entry, changes nothing it answers;
nothing here is looked up by name at request time but the builtins (tests/inside/test_kernel_side.py checks
it).  What a notebook can still do is in ARCHITECTURE.md §2, "Residual risk".

Every file is written atomically under a name the notebook cannot guess (`tempfile.mkstemp`, then
`os.replace`): what it planted at a reply's name (a link, a named pipe) is replaced, never followed or waited on.

Its siblings are imported by the private names kernel_side.py loaded them under.
"""


def bind(*, exchange_in, exchange_out, snapshot):
    """``answer(request, namespace) -> bool`` for requests whose inputs are in the folder `exchange_in` and
    whose replies go to `exchange_out`; `snapshot` is the namespace snapshot's absolute path.  `answer` is
    True once the reply file is written."""
    import contextlib
    import inspect
    import json
    import os
    import tempfile
    import traceback
    from importlib import import_module

    import _davar_models as models
    import _davar_protocol as protocol
    import _davar_snapshots as snapshots
    import numpy as np

    framework, torch_info, keras_info = models.framework, models.torch_info, models.keras_info
    observe = models.observe
    model_graph, forward, torch_shapes = models.graph, models.forward, models.torch_shapes
    save, restore = snapshots.save, snapshots.restore
    with_args = protocol.OPS_WITH_ARGS
    snapshot_folder, snapshot_name = os.path.split(snapshot)

    class Missing(Exception):
        pass

    # ----------------------------------------------------------------------- files and values

    def write(folder, name, fill):
        """``fill(f)`` into ``folder/name``, through a new file of a random name renamed over it: whatever
        is at `name` is replaced, not opened.  Returns what `fill` returned."""
        fd, part = tempfile.mkstemp(prefix=f"{name}.", suffix=".part", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), 0o644)  # the harness reads it
                result = fill(f)
            os.replace(part, os.path.join(folder, name))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(part)
            raise
        return result

    def lookup(namespace, name):
        head, *rest = name.split(".")
        if head not in namespace:
            raise Missing(name)
        obj = namespace[head]
        for part in rest:
            if not hasattr(obj, part):
                raise Missing(name)
            obj = getattr(obj, part)
        return obj

    def as_array(obj):
        """numpy view of an array-like from numpy, torch or tensorflow, without copying types over."""
        if hasattr(obj, "detach") and hasattr(obj, "cpu"):  # torch tensor
            obj = obj.detach().cpu().numpy()
        elif hasattr(obj, "numpy") and not isinstance(obj, np.ndarray):  # tf tensor
            obj = obj.numpy()
        arr = np.asarray(obj)
        if arr.dtype.hasobject:
            raise TypeError(f"array of Python objects ({type(obj).__name__}) cannot be sent")
        return arr

    def encode(obj, stem, counter):
        """Plain-data descriptor of a value; arrays go to .npy files next to the reply."""
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return {"json": obj}
        if isinstance(obj, np.generic):
            return {"json": obj.item()}
        if isinstance(obj, (list, tuple)) and not any(hasattr(x, "shape") for x in obj):
            try:
                json.dumps(obj, allow_nan=True)
                return {"json": list(obj)}
            except (TypeError, ValueError):
                pass
        if isinstance(obj, (list, tuple)):
            return {"list": [encode(x, stem, counter) for x in obj]}
        if isinstance(obj, dict):
            return {"dict": {str(k): encode(v, stem, counter) for k, v in obj.items()}}
        if hasattr(obj, "shape") or hasattr(obj, "__array__"):
            counter[0] += 1
            name, arr = f"{stem}-{counter[0]}.npy", as_array(obj)
            write(exchange_out, name, lambda f: np.save(f, arr, allow_pickle=False))
            return {"npy": name}
        raise TypeError(f"a {type(obj).__name__} is not plain data")

    def decode_arg(desc):
        if "npy" in desc:
            arr = np.load(os.path.join(exchange_in, os.path.basename(desc["npy"])), allow_pickle=False)
            if desc.get("as") == "torch":  # for a student function that takes tensors (the notebook's torch)
                arr = import_module("torch").from_numpy(arr)
            return arr
        return desc["json"]

    def error(e):
        """A raised exception as reply data; its own words may fail to come (a student's ``__str__``)."""
        try:
            tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))[-8000:]
            return {"type": type(e).__name__, "message": str(e)[:2000], "traceback": tb}
        except BaseException:
            return {"type": type(e).__name__, "message": "", "traceback": ""}

    # ----------------------------------------------------------------------- the ops: namespace, rid, name, args

    def has(ns, rid, name, args):
        try:
            obj = lookup(ns, name)
        except Missing:
            return {"json": {"exists": False}}
        return {"json": {"exists": True, "type": type(obj).__name__, "callable": callable(obj)}}

    def value(ns, rid, name, args):
        return encode(lookup(ns, name), rid, [0])

    def call(ns, rid, name, args):
        return encode(lookup(ns, name)(*[decode_arg(a) for a in args]), rid, [0])

    def call_observed(ns, rid, name, args):
        """``call`` (``args[1:]``), recording what the models named in ``args[0]`` returned meanwhile:
        ``{"result": VALUE, "outputs": {model: VALUE}}``, each model's outputs (torch: forward hooks on the
        model itself) with their rows concatenated, None for a model that did not run (or a name that is no
        torch model)."""
        watched = decode_arg(args[0])
        found = {}
        for w in watched if isinstance(watched, list) else []:
            with contextlib.suppress(Missing):
                found[str(w)] = lookup(ns, str(w))
        result, outputs = observe(found, lambda: lookup(ns, name)(*[decode_arg(a) for a in args[1:]]))
        counter = [0]
        return {"dict": {"result": encode(result, rid, counter),
                         "outputs": {"dict": {k: encode(v, rid, counter) for k, v in outputs.items()}}}}

    def source(ns, rid, name, args):
        return {"json": inspect.getsource(lookup(ns, name))}

    def model_info(ns, rid, name, args):
        obj = lookup(ns, name)
        kind = framework(obj)
        if kind is None:
            return {"json": {"framework": None, "class": type(obj).__name__}}
        return {"json": torch_info(obj) if kind == "torch" else keras_info(obj)}

    def graph(ns, rid, name, args):
        """The model's graph (torch: without shapes; those need an example input, see `model_trace`)."""
        obj = lookup(ns, name)
        if framework(obj) is None:
            return {"json": {"graph": None, "graph_error": f"not a model: {type(obj).__name__}"}}
        return {"json": model_graph(obj)}

    def predict(ns, rid, name, args):
        """Raw forward pass of a model on grader-made inputs (eval mode, no gradients)."""
        model, x = lookup(ns, name), decode_arg(args[0])
        if framework(model) == "torch":
            return encode(forward(model, model, x), rid, [0])
        return encode(model.predict(x, verbose=0), rid, [0])

    def model_trace(ns, rid, name, args):
        """What a pass on the example input ``args[0]`` shows: ``{"info": model_info with each layer's
        output shape, "graph": ..., "graph_error": ...}`` (torch; a Keras model already knows its shapes,
        so its info and graph come back as they are)."""
        model, x = lookup(ns, name), decode_arg(args[0])
        if framework(model) == "torch":
            info = torch_info(model, torch_shapes(model, x))
        elif framework(model) == "keras":
            info = keras_info(model)
        else:
            return {"json": {"info": {"framework": None, "class": type(model).__name__}}}
        return {"json": {"info": info, **model_graph(model, x)}}

    def find_models(ns, rid, name, args):
        found = {}
        for k, v in list(ns.items()):
            if not k.startswith("_") and framework(v):
                found[k] = {"framework": framework(v), "class": type(v).__name__}
        return {"json": found}

    def take_snapshot(ns, rid, name, args):
        """Save the namespace for a later regrade (snapshots.py), in the kernel's working folder as it was
        when the kernel started, wherever the notebook has moved since."""
        return {"json": write(snapshot_folder, snapshot_name, lambda f: save(ns, f))}

    def restore_snapshot(ns, rid, name, args):
        """Load a `snapshot` into this (fresh) kernel's namespace."""
        return {"json": restore(ns, snapshot)}

    table = {"has": has, "value": value, "call": call, "source": source, "model_info": model_info,
             "model_graph": graph, "predict": predict, "model_trace": model_trace, "find_models": find_models,
             "snapshot": take_snapshot, "restore": restore_snapshot, "call_observed": call_observed}
    assert set(table) == protocol.OPS  # a request both sides know, or none

    def answer(request, namespace):
        try:
            rid, op, name = request["rid"], request["op"], request.get("name")
            args = json.loads(request["args"]) if op in with_args else []
            if not (isinstance(rid, str) and rid.isascii() and rid.isalnum() and op in table):
                return False
        except Exception:  # not a request the bridge makes
            return False
        try:
            reply = {"ok": table[op](namespace, rid, name, args)}
        except Missing as e:
            reply = {"missing": str(e)}
        except BaseException as e:  # the student's code raised: report it as data
            reply = {"error": error(e)}
        try:
            text = json.dumps(reply)
        except BaseException as e:  # a value that was no JSON after all
            text = json.dumps({"error": error(e)})
        try:
            write(exchange_out, f"{rid}.json", lambda f: f.write(text.encode()))
        except Exception:  # a folder where the reply goes, a full disk: the bridge says it had no answer
            return False
        return True

    return answer
