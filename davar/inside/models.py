"""What the bridge learns of a student's Keras or PyTorch model, as plain JSON; ops.py asks it.

`framework` tells a model from anything else; `torch_info` / `keras_info` list the class, the parameter
counts and each layer (a torch model's leaf modules) with its scalar settings and output shape, and its
weight tensors (`variables`: each one's identity in this kernel and its name, so a grader can tell two
models that share tensors from two that only look alike); `graph`
is the model's graph, which davar/probe/graph.py reads; `forward` runs a torch model on an input in eval
mode without gradients.  torch and keras are imported here only when one of their models is asked about.
"""

import contextlib
import json


def framework(obj):
    """The model's framework, "torch" or "keras"; None for anything else."""
    mro = _mro(obj)
    if "torch.nn.modules.module.Module" in mro:
        return "torch"
    if any(m.startswith(("keras.", "tf_keras.", "tensorflow.")) and m.endswith(".Model") for m in mro):
        return "keras"
    return None


_MAX_NODES = 5000  # a graph reply stays small; larger graphs come back as None with the reason
_SKIP = object()


def _small(value, nested=False):
    """``value`` as a JSON scalar or a short list of scalars (kernel sizes, strides), else ``_SKIP``."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:200]
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        return _small(value.item(), nested)
    if isinstance(value, (list, tuple)) and not nested and len(value) <= 16:
        items = [_small(v, True) for v in value]
        if all(i is not _SKIP and not isinstance(i, list) for i in items):
            return items
    return _SKIP


def _config(items):
    """The scalar settings of a layer (kernel_size, stride, groups, filters...), JSON-able and capped."""
    out = {}
    try:
        for k, v in items:
            if isinstance(k, str) and not k.startswith("_") and k != "training":
                v = _small(v)
                if v is not _SKIP:
                    out[k[:100]] = v
            if len(out) >= 40:
                break
    except Exception:
        pass
    return out


def _shape_of(out):
    """Shape of a forward output: a tensor's, or the first tensor's of a tuple/list/dict output."""
    for _ in range(4):
        if isinstance(out, dict):
            out = next(iter(out.values()), None)
        elif isinstance(out, (list, tuple)):
            out = out[0] if out else None
        else:
            break
    try:
        return [None if d is None else int(d) for d in out.shape][:16]
    except Exception:
        return None


_MAX_VARIABLES = 2000  # weight tensors listed per model


def _variables(pairs):
    """[[identity, name], ...] of a model's weight tensors (at most `_MAX_VARIABLES`); the identity is
    `id()` of the tensor object, the same for a tensor two models share, as long as both models live."""
    out = []
    try:
        for name, v in pairs:
            out.append([str(id(v)), str(name)[:300]])
            if len(out) >= _MAX_VARIABLES:
                break
    except Exception:
        pass
    return out


def torch_info(model, shapes=None):
    layers = []
    for qual, m in model.named_modules():
        if next(iter(m.children()), None) is not None:
            continue  # containers: their leaves are listed
        params = sum(p.numel() for p in m.parameters(recurse=False))
        config = _config(vars(m).items())
        config["repr"] = m.extra_repr()[:500]
        layers.append({"name": qual, "type": type(m).__name__, "module": type(m).__module__,
                       "params": params, "config": config,
                       "output_shape": (shapes or {}).get(qual)})
    return {"framework": "torch", "class": type(model).__name__, "layers": layers,
            "params": sum(p.numel() for p in model.parameters()),
            "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "variables": _variables(model.named_parameters())}


def _keras_config(layer):
    try:
        return _config(layer.get_config().items())
    except Exception:  # custom layers without get_config
        return {}


def keras_info(model):
    layers = []
    for layer in model.layers:
        try:
            config = layer.get_config()
            json.dumps(config, allow_nan=True)  # sent as it is: it must be JSON
        except (TypeError, ValueError, NotImplementedError):
            config = {}
        try:
            shape = list(layer.output.shape)
        except (AttributeError, ValueError):
            shape = None
        layers.append({"name": layer.name, "type": type(layer).__name__, "module": type(layer).__module__,
                       "params": int(layer.count_params()) if layer.built else 0, "config": config,
                       "output_shape": shape})
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    return {"framework": "keras", "class": type(model).__name__, "layers": layers,
            "params": int(model.count_params()), "trainable_params": trainable,
            "variables": _variables((getattr(w, "path", None) or w.name, w) for w in model.weights)}


# --------------------------------------------------------------------------- model graphs
#
# A graph reply is {"nodes": [...], "outputs": [ids]}, nodes in topological order, each
# {"id", "kind": input|layer|op|constant, "type", "name", "inputs": [ids], "config": {...}, "output_shape"}.


class _TooBig(Exception):
    pass


class _Nodes:
    def __init__(self):
        self.nodes, self.ids = [], set()

    def add(self, base, kind, type_, name, inputs, config, shape):
        if len(self.nodes) >= _MAX_NODES:
            raise _TooBig(f"the model graph has more than {_MAX_NODES} nodes")
        node_id, n = str(base)[:300], 1
        while node_id in self.ids:
            node_id, n = f"{str(base)[:300]}#{n}", n + 1
        self.ids.add(node_id)
        self.nodes.append({"id": node_id, "kind": kind, "type": str(type_)[:100], "name": str(name)[:300],
                           "inputs": [i for i in inputs if i is not None], "config": config,
                           "output_shape": shape})
        return node_id


def _mro(obj):
    return [f"{c.__module__}.{c.__name__}" for c in type(obj).__mro__]


def _keras_kind(op):
    names = _mro(op)
    if any(n.endswith(".Sequential") for n in names):
        return "sequential"
    if any(n.endswith(".Functional") for n in names) and hasattr(op, "_nodes_by_depth"):
        return "functional"
    if not any(n.endswith(".Layer") for n in names):
        return "op"
    if type(op).__module__.startswith(("keras.", "tf_keras.", "tensorflow.")) or not _keras_sublayers(op):
        return "layer"
    return "custom"  # a student's Layer/Model subclass that holds layers: its call() is replayed


def _keras_sublayers(layer):
    try:
        return list(layer._flatten_layers(include_self=False))
    except Exception:
        return []


def _keras_graph(model):
    """Keras models as one flat graph.  Nested Functional/Sequential models are flattened (their nodes
    are named ``outer/inner``).  A student's own Layer (or subclassed Model) holding layers is flattened
    too when its ``call()`` can be replayed on fresh symbolic inputs (Keras layers and ``keras.ops`` on
    KerasTensors record nodes; the nodes this adds to its sublayers are removed again); when it cannot
    (raw TensorFlow ops in ``call``) it stays one opaque node."""
    import keras

    graph = _Nodes()

    def key(t):
        h = t._keras_history
        return id(h[0]), h[1], h[2]

    def flat(ts):
        return keras.tree.flatten(ts)

    def one(op, prefix, in_ids, outputs):
        shape = None
        with contextlib.suppress(Exception):
            shape = _shape_of(outputs if outputs is not None else op.output)
        name = prefix + str(getattr(op, "name", type(op).__name__))
        return graph.add(name, "op" if _keras_kind(op) == "op" else "layer", type(op).__name__, name, in_ids,
                         _keras_config(op), shape)

    def call(op, prefix, in_ids, node=None):
        """Node ids of the outputs of ``op`` applied to ``in_ids`` (``node``: the Keras node of that call)."""
        kind = _keras_kind(op)
        if kind in ("sequential", "functional"):
            return walk(op, f"{prefix}{op.name}/", in_ids)
        if kind == "custom" and node is not None:
            try:
                return replay(op, f"{prefix}{op.name}/", node.arguments.args, node.arguments.kwargs,
                              {id(t): i for t, i in zip(flat(node.input_tensors), in_ids, strict=True)})
            except _TooBig:
                raise
            except Exception:
                pass  # raw backend ops, a call() that needs real data...: one opaque node
        outputs = node.outputs if node is not None else None
        return [one(op, prefix, in_ids, outputs)] * (len(flat(outputs)) if outputs is not None else 1)

    def replay(op, prefix, args, kwargs, known):
        """Run op.call on fresh KerasTensors shaped like its inputs and add the nodes it records
        (``known``: id of an input tensor -> its node id)."""
        local = {}

        def fresh(t):
            if isinstance(t, keras.KerasTensor):
                new = keras.KerasTensor(t.shape, dtype=t.dtype)
                local[id(new)] = known.get(id(t))
                return new
            return t

        args, kwargs = keras.tree.map_structure(fresh, args), keras.tree.map_structure(fresh, kwargs)
        inner = _keras_sublayers(op)
        saved = [(layer, len(layer._inbound_nodes), len(layer._outbound_nodes)) for layer in inner]
        try:
            outputs = flat(op.call(*args, **kwargs))
            done = {}

            def tensor_id(t):
                if id(t) in local:
                    return local[id(t)]
                h = t._keras_history
                k = key(t)
                if k not in done:
                    node = h[0]._inbound_nodes[h[1]]
                    ids = call(h[0], prefix, [tensor_id(x) for x in flat(node.input_tensors)], node)
                    for j, o in enumerate(flat(node.outputs)):
                        done[key(o)] = ids[min(j, len(ids) - 1)]
                return done[k]

            return [tensor_id(t) for t in outputs]
        finally:
            for layer, n_in, n_out in saved:
                del layer._inbound_nodes[n_in:], layer._outbound_nodes[n_out:]

    def inputs_of(m, prefix):
        ids = []
        for t in flat(m.inputs):
            name = prefix + str(t._keras_history[0].name)
            ids.append(graph.add(name, "input", "InputLayer", name, [], {}, _shape_of(t)))
        return ids

    def walk(m, prefix, in_ids):
        if _keras_kind(m) == "sequential":
            functional = getattr(m, "_functional", None)
            if functional is None or not hasattr(functional, "_nodes_by_depth"):  # not built: a plain chain
                if in_ids is None:
                    in_ids = [graph.add(prefix + "input", "input", "InputLayer", prefix + "input", [], {}, None)]
                for layer in m.layers:
                    in_ids = call(layer, prefix, in_ids)
                return in_ids
            m = functional
        local = {}
        if in_ids is None:
            in_ids = inputs_of(m, prefix)
        # the ids need not match the inputs one for one (an unbuilt Sequential's chain passes one id)
        for t, i in zip(flat(m.inputs), in_ids, strict=False):
            local[key(t)] = i
        for depth in sorted(m._nodes_by_depth, reverse=True):
            for node in m._nodes_by_depth[depth]:
                if type(node.operation).__name__ == "InputLayer":
                    continue
                outs = flat(node.outputs)
                ids = call(node.operation, prefix, [local.get(key(t)) for t in flat(node.input_tensors)], node)
                for j, t in enumerate(outs):
                    local[key(t)] = ids[min(j, len(ids) - 1)]
        return [local.get(key(t)) for t in flat(m.outputs)]

    if _keras_kind(model) in ("sequential", "functional"):
        outputs = walk(model, "", None)
    else:  # a subclassed keras.Model: replay its call() on its build input shape
        shape = (model.get_build_config() or {}).get("input_shape")
        if not isinstance(shape, (list, tuple)) or not all(d is None or isinstance(d, int) for d in shape):
            raise ValueError(f"the subclassed Keras model {type(model).__name__} was not built on one input")
        shape = (None, *shape[1:])
        x = keras.KerasTensor(shape)
        first = graph.add("input", "input", "InputLayer", "input", [], {}, list(shape))
        outputs = replay(model, "", (x,), {}, {id(x): first})
    return {"nodes": graph.nodes, "outputs": [o for o in outputs if o is not None]}


def _torch_graph(model, example=None):
    """torch.fx graph: call_module nodes are layers, call_function/call_method nodes ops (cat, add...).
    With an example input the traced graph runs once more (eval, no grad) to record every node's shape;
    when that pass fails the graph comes back without shapes."""
    import torch
    import torch.fx

    gm = torch.fx.symbolic_trace(model)
    shapes = {}
    if example is not None:
        class Recorder(torch.fx.Interpreter):
            def run_node(self, n):
                out = super().run_node(n)
                shapes[n.name] = _shape_of(out) if isinstance(out, (torch.Tensor, list, tuple)) else None
                return out

        try:
            forward(model, lambda x: Recorder(gm).run(x), example)
        except Exception:
            shapes.clear()
    modules = dict(gm.named_modules())
    graph, outputs = _Nodes(), []
    for n in gm.graph.nodes:
        inputs = [a.name for a in n.all_input_nodes]
        if n.op == "output":
            outputs = inputs
            continue
        if n.op == "call_module":
            m = modules.get(n.target)
            config = _config(vars(m).items()) if m is not None else {}
            kind, type_ = "layer", type(m).__name__
        elif n.op in ("call_function", "call_method"):
            kind, type_ = "op", n.target if isinstance(n.target, str) else getattr(n.target, "__name__", str(n.target))
            config = _config([(k, v) for k, v in n.kwargs.items() if not isinstance(v, torch.fx.Node)])
            config["args"] = [None if isinstance(a, torch.fx.Node) or _small(a) is _SKIP else _small(a)
                              for a in n.args][:16]
        else:  # placeholder, get_attr
            kind, type_, config = ("input" if n.op == "placeholder" else "constant"), n.op, {}
        graph.add(n.name, kind, type_, n.target if isinstance(n.target, str) else type_, inputs, config,
                  shapes.get(n.name))
    return {"nodes": graph.nodes, "outputs": outputs}


def forward(model, fn, x):
    """fn(x as a tensor for the model) in eval mode without gradients; the training mode is restored."""
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            param = next(model.parameters(), None)
            t = torch.from_numpy(x)
            if param is not None:
                t = t.to(device=param.device, dtype=param.dtype if t.is_floating_point() else t.dtype)
            return fn(t)
    finally:
        model.train(was_training)


def torch_shapes(model, example):
    """Output shape of every leaf module on one forward pass (forward hooks; the first call of a module)."""
    shapes: dict[str, list[int | None] | None] = {}
    handles = []

    def hook(qual):
        def record(module, inputs, output):  # returns None: the output is left as it is
            shapes.setdefault(qual, _shape_of(output))

        return record

    try:
        for qual, m in model.named_modules():
            if next(iter(m.children()), None) is None:
                handles.append(m.register_forward_hook(hook(qual)))
        forward(model, model, example)
    finally:
        for h in handles:
            h.remove()
    return shapes


def _graph_reply(build):
    try:
        return {"graph": build(), "graph_error": None}
    except _TooBig as e:
        return {"graph": None, "graph_error": str(e)}
    except Exception as e:  # fx cannot trace data-dependent control flow, a subclassed Keras model...
        return {"graph": None, "graph_error": f"{type(e).__name__}: {e}"[:1000]}


def graph(model, example=None):
    """``{"graph": ..., "graph_error": None}``, or ``{"graph": None, "graph_error": why}`` when it cannot be made
    (torch: with every node's shape when an `example` input is given)."""
    kind = framework(model)
    if kind == "torch":
        return _graph_reply(lambda: _torch_graph(model, example))
    return _graph_reply(lambda: _keras_graph(model))



# --------------------------------------------------------------------------- observing a call

_MAX_OBSERVED = 2**26  # bytes of outputs kept per model (64 MiB): past it the model's record is dropped


def observe(models, fn):
    """``(fn(), {name: outputs})``: what each torch model of `models` ({name: object}) returned while ``fn``
    ran (a forward hook on the model itself), the rows of its calls concatenated into one array (numpy); None
    for a model that did not run, whose outputs do not stack, or that is no torch model.  The hooks are
    removed whatever happens."""
    import numpy as np

    seen: dict[str, list | None] = {name: [] for name in models}
    handles = []

    def hook(name):
        def record(module, inputs, output):  # returns None: the output is left as it is
            for _ in range(4):
                if isinstance(output, dict):
                    output = next(iter(output.values()), None)
                elif isinstance(output, (list, tuple)):
                    output = output[0] if output else None
                else:
                    break
            kept = seen[name]
            if kept is not None and hasattr(output, "detach"):
                kept.append(output.detach().float().cpu().numpy())
                if sum(a.nbytes for a in kept) > _MAX_OBSERVED:
                    seen[name] = None

        return record

    try:
        for name, m in models.items():
            if framework(m) == "torch":
                handles.append(m.register_forward_hook(hook(name)))
        result = fn()
    finally:
        for h in handles:
            h.remove()
    outputs = {}
    for name, kept in seen.items():
        try:
            outputs[name] = np.concatenate([a.reshape(len(a), -1) if a.ndim else a.reshape(1, 1) for a in kept]) \
                if kept else None
        except ValueError:  # calls whose outputs have different widths
            outputs[name] = None
    return result, outputs
