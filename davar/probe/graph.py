"""Structure facts about a student's model from the graph its kernel sends back (pure Python, no frameworks).

The kernel side (``inside/models.py``, ``graph``) sends a graph as plain JSON:
``{"nodes": [{"id", "kind", "type", "name", "inputs": [ids], "config": {...}, "output_shape"}, ...],
"outputs": [ids]}`` with nodes in topological order.  ``kind`` is ``input``, ``layer`` (a Keras layer or
a torch module called by ``call_module``), ``op`` (torch.fx ``call_function``/``call_method`` such as
``cat``, ``add``, ``iadd``, ``relu``; Keras ops such as ``keras.ops.concatenate``) or ``constant``
(torch ``get_attr``).  The JSON comes from the student's process and is never trusted:
:meth:`Graph.from_json` keeps only well-formed nodes, drops edges to unknown or later nodes (so the graph
is always a DAG in the given order), caps every size (``MAX_NODES``, ``MAX_EDGES``, text, config), and
turns junk into an empty graph.

What the analyses count (all of them read ``type`` case-insensitively, so Keras and torch names agree):

* a **concatenation** is a node of type ``Concatenate``/``cat``/``concat``/``concatenate`` with two or
  more inputs; an **addition** one of type ``Add``/``add``/``add_``/``iadd``/``__add__``/``__iadd__``;
* a **conv** is a node whose type contains ``conv`` (Conv2d, Conv2D, SeparableConv2D, F.conv2d...); a
  **pool** one whose type contains ``pool`` (MaxPool2d, AveragePooling2D, max_pool2d, global pools);
* a **merge's branches**: for a merge node with inputs u1..uk, the *split* is the nearest node that is an
  ancestor (or itself) of every input; branch j is the set of nodes that lead to uj but not to every
  input (so the split and everything before it are in no branch; an input that *is* the split gives an
  empty, identity branch).  ``split`` is None when the inputs share no ancestor (two model inputs);
* a branch's **extent** is its receptive field per spatial axis: 1 + the sum of (kernel - 1) * dilation
  over its convs and sized pools (1x1 -> (1, 1); 1x1 then 3x3 -> (3, 3); two 3x3 -> (5, 5));
* an **Inception module** (:func:`inception_modules`) is a concatenation with a split whose branches
  include at least ``min_branches`` (3) branches that hold a conv or a pool, and whose such branches have
  at least ``min_kernel_sizes`` (2) different extents.  The GoogLeNet module 1x1 | 1x1->3x3 | 1x1->5x5 |
  pool3x3->1x1 (extents 1, 3, 5, 3) counts; three identical 3x3 branches (one extent) do not, nor does a
  DenseNet/U-Net concatenation of a tensor with one processed copy of it (one branch holds layers);
* a **residual addition** (:func:`residual_adds`) is an addition with a split where one branch (the
  *main* path) has more nodes than another (the *shortcut*): the shortcut is empty for an identity skip
  (``x + f(x)``) or short for a projection (``conv1x1(x) + f(x)``);
* a **grouped convolution** (:func:`grouped_convs`) is a conv whose config has ``groups`` > 1 (torch
  ``Conv2d.groups``, Keras ``Conv2D(groups=...)``); Keras ``DepthwiseConv2D`` has no ``groups`` setting and
  is not listed.

The kernel side flattens what it can: nested Keras Functional/Sequential models, and a student's own
Keras ``Layer`` or subclassed ``Model`` that holds layers, whose ``call()`` it replays on symbolic inputs
(node ids ``outer/inner``); such a layer whose ``call()`` uses raw TensorFlow ops stays one opaque node, and
a subclassed Keras model never built on one input has no graph.  torch.fx traces through custom modules
and keeps torch.nn's own modules as ``layer`` nodes; data-dependent control flow leaves no graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_NODES = 5_000  # as many as the kernel side sends
MAX_EDGES = 20_000
_MAX_TEXT = 300
_MAX_INPUTS = 1_000
_MAX_KEYS = 60
_KINDS = frozenset({"input", "layer", "op", "constant"})
_CONCAT = frozenset({"concatenate", "cat", "concat", "concatv2"})
_ADD = frozenset({"add", "add_", "iadd", "__add__", "__iadd__", "__radd__", "addv2"})


def _text(value: Any, default: str = "") -> str:
    return value[:_MAX_TEXT] if isinstance(value, str) else default


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _clean_config(raw: Any) -> dict[str, Any]:
    """Only str keys with scalar or short flat-list-of-scalars values survive."""
    if not isinstance(raw, dict):
        return {}
    out: dict[str, Any] = {}
    for k, v in list(raw.items())[:_MAX_KEYS]:
        if not isinstance(k, str):
            continue
        if isinstance(v, str):
            out[k[:100]] = v[:_MAX_TEXT]
        elif _scalar(v):
            out[k[:100]] = v
        elif isinstance(v, list) and len(v) <= 16 and all(_scalar(x) and not isinstance(x, str) for x in v):
            out[k[:100]] = tuple(v)
    return out


def _clean_shape(raw: Any) -> tuple[int | None, ...] | None:
    if not isinstance(raw, list) or len(raw) > 16:
        return None
    if not all(d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in raw):
        return None
    return tuple(raw)


def _ints(value: Any) -> tuple[int, ...] | None:
    """A kernel size / dilation as a tuple of positive ints (3 -> (3,), [3, 3] -> (3, 3)), else None."""
    items = value if isinstance(value, tuple) else (value,)
    if items and all(isinstance(x, int) and not isinstance(x, bool) and 0 < x < 10_000 for x in items):
        return tuple(items)
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    id: str
    kind: str  # input | layer | op | constant
    type: str  # Conv2d, Conv2D, Concatenate, cat, add, iadd, relu...
    name: str = ""  # the Keras layer name / torch module path (``layer1.0.conv2``) / fx target
    inputs: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    output_shape: tuple[int | None, ...] | None = None

    @property
    def is_conv(self) -> bool:
        return "conv" in self.type.lower()

    @property
    def is_pool(self) -> bool:
        return "pool" in self.type.lower()

    @property
    def is_concat(self) -> bool:
        return self.type.lower() in _CONCAT and len(self.inputs) >= 2

    @property
    def is_add(self) -> bool:
        return self.type.lower() in _ADD and len(self.inputs) >= 2

    @property
    def kernel_size(self) -> tuple[int, ...] | None:
        """Kernel size of a conv (``kernel_size``) or pool (``pool_size`` in Keras, ``kernel_size`` in torch)."""
        if not (self.is_conv or self.is_pool):
            return None
        return _ints(self.config.get("pool_size") if self.is_pool and "pool_size" in self.config
                     else self.config.get("kernel_size"))

    @property
    def groups(self) -> int:
        g = self.config.get("groups")
        return g if isinstance(g, int) and not isinstance(g, bool) and g > 0 else 1

    @property
    def dilation(self) -> tuple[int, ...]:
        return _ints(self.config.get("dilation", self.config.get("dilation_rate", 1))) or (1,)


@dataclass(frozen=True, slots=True, kw_only=True)
class Branch:
    """The nodes on one input of a merge, from just after the split to the merge's input, in order."""

    nodes: tuple[Node, ...]

    @property
    def identity(self) -> bool:
        return not self.nodes

    @property
    def convs(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.is_conv)

    @property
    def pools(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.is_pool)

    @property
    def has_pool(self) -> bool:
        return bool(self.pools)

    @property
    def kernel_sizes(self) -> tuple[tuple[int, ...], ...]:
        """The convs' kernel sizes in order (those the config does not state are left out)."""
        return tuple(k for k in (n.kernel_size for n in self.convs) if k)

    @property
    def extent(self) -> tuple[int, ...]:
        """Receptive field per axis of the branch's convs and sized pools: 1 + sum((k - 1) * dilation)."""
        sized = [(n.kernel_size, n.dilation) for n in self.nodes if (n.is_conv or n.is_pool) and n.kernel_size]
        dims = max((len(k) for k, _ in sized), default=1)
        total = [1] * dims
        for k, d in sized:
            k = k * dims if len(k) == 1 else k
            d = d * dims if len(d) == 1 else d
            for i in range(min(dims, len(k))):
                total[i] += (k[i] - 1) * (d[i] if i < len(d) else 1)
        return tuple(total)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(n.type for n in self.nodes)


@dataclass(frozen=True, slots=True, kw_only=True)
class Merge:
    """A concatenation or addition and the parallel branches it joins (one per input, in input order)."""

    node: Node
    split: Node | None
    branches: tuple[Branch, ...]

    @property
    def axis(self) -> Any:
        """The concatenation axis as the model states it (Keras ``axis``, torch ``dim``), or None."""
        cfg = self.node.config
        if "axis" in cfg:
            return cfg["axis"]
        if "dim" in cfg:
            return cfg["dim"]
        args = cfg.get("args")
        return args[1] if isinstance(args, tuple) and len(args) > 1 else None

    @property
    def working_branches(self) -> tuple[Branch, ...]:
        """Branches holding a conv or a pool (identity and activation-only branches left out)."""
        return tuple(b for b in self.branches if b.convs or b.pools)

    @property
    def extents(self) -> tuple[tuple[int, ...], ...]:
        return tuple(b.extent for b in self.working_branches)


@dataclass(frozen=True, slots=True, kw_only=True)
class Residual:
    node: Node  # the addition
    split: Node  # where the main path and the shortcut part
    main: Branch
    shortcut: Branch

    @property
    def identity(self) -> bool:
        return self.shortcut.identity


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: tuple[Node, ...]
    outputs: tuple[str, ...] = ()
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False, hash=False)
    _ancestors: list[int] = field(default_factory=list, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index = {n.id: i for i, n in enumerate(self.nodes)}
        ancestors: list[int] = []  # bit i set: node i is an ancestor (bitsets over the topological order)
        for k, n in enumerate(self.nodes):
            bits = 0
            for j in (index.get(i, k) for i in n.inputs):
                if j < k:  # edges to unknown or later nodes are ignored: the order is topological
                    bits |= ancestors[j] | (1 << j)
            ancestors.append(bits)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_ancestors", ancestors)

    @classmethod
    def from_json(cls, raw: Any) -> Graph:
        """A graph from the kernel's JSON; malformed nodes, unknown edges and oversize parts are dropped."""
        if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), list):
            return cls(())
        nodes: list[Node] = []
        seen: set[str] = set()
        edges = 0
        for item in raw["nodes"][:MAX_NODES]:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
                continue
            node_id = item["id"][:_MAX_TEXT]
            if node_id in seen:
                continue
            inputs = item.get("inputs")
            inputs = [i for i in inputs[:_MAX_INPUTS] if isinstance(i, str) and i in seen] \
                if isinstance(inputs, list) else []
            inputs = inputs[:max(0, MAX_EDGES - edges)]
            edges += len(inputs)
            kind = item.get("kind")
            nodes.append(Node(id=node_id, kind=kind if kind in _KINDS else "op", type=_text(item.get("type"), "?"),
                              name=_text(item.get("name")), inputs=tuple(inputs),
                              config=_clean_config(item.get("config")),
                              output_shape=_clean_shape(item.get("output_shape"))))
            seen.add(node_id)
        outputs = raw.get("outputs")
        outputs = tuple(o for o in outputs[:_MAX_INPUTS] if isinstance(o, str) and o in seen) \
            if isinstance(outputs, list) else ()
        return cls(tuple(nodes), outputs)

    # ------------------------------------------------------------------ navigation

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, node_id: str) -> Node:
        return self.nodes[self._index[node_id]]

    def by_name(self, name: str) -> Node | None:
        """The first node of a Keras layer name / torch module path (``"0.b2.2"``), or None."""
        return next((n for n in self.nodes if n.name == name), None)

    def inputs_of(self, node: Node) -> tuple[Node, ...]:
        return tuple(self.node(i) for i in node.inputs)

    def consumers(self, node: Node) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if node.id in n.inputs)

    def ancestors(self, node: Node) -> tuple[Node, ...]:
        return self._members(self._ancestors[self._index[node.id]])

    def layers(self, *types: str) -> tuple[Node, ...]:
        """Nodes of the given types (case-insensitive), or every layer node without types."""
        wanted = {t.lower() for t in types}
        return tuple(n for n in self.nodes if (n.type.lower() in wanted if types else n.kind == "layer"))

    def _members(self, bits: int) -> tuple[Node, ...]:
        out = []
        while bits:
            low = bits & -bits
            out.append(self.nodes[low.bit_length() - 1])
            bits ^= low
        return tuple(out)

    def _upto(self, node_id: str) -> int:
        i = self._index[node_id]
        return self._ancestors[i] | (1 << i)

    def merge(self, node: Node) -> Merge:
        """The branches joined by a merge node (see the module docstring for what a branch is)."""
        reach = [self._upto(i) for i in node.inputs]
        common = _and_all(reach)
        split = self.nodes[common.bit_length() - 1] if common else None
        return Merge(node=node, split=split,
                     branches=tuple(Branch(nodes=self._members(r & ~common)) for r in reach))

    # ------------------------------------------------------------------ analyses

    def concat_merges(self) -> list[Merge]:
        return [self.merge(n) for n in self.nodes if n.is_concat]

    def inception_modules(self, *, min_branches: int = 3, min_kernel_sizes: int = 2) -> list[Merge]:
        out = []
        for m in self.concat_merges():
            if m.split is not None and len(m.working_branches) >= min_branches \
                    and len(set(m.extents)) >= min_kernel_sizes:
                out.append(m)
        return out

    def residual_adds(self) -> list[Residual]:
        out = []
        for n in self.nodes:
            if not n.is_add:
                continue
            m = self.merge(n)
            if m.split is None:
                continue
            ordered = sorted(m.branches, key=lambda b: len(b.nodes))
            shortcut, main = ordered[0], ordered[-1]
            if len(main.nodes) > len(shortcut.nodes):
                out.append(Residual(node=n, split=m.split, main=main, shortcut=shortcut))
        return out

    def grouped_convs(self) -> list[Node]:
        return [n for n in self.nodes if n.is_conv and n.groups > 1]


def _and_all(values: list[int]) -> int:
    out = values[0] if values else 0
    for v in values[1:]:
        out &= v
    return out


def concat_merges(graph: Graph) -> list[Merge]:
    return graph.concat_merges()


def inception_modules(graph: Graph, *, min_branches: int = 3, min_kernel_sizes: int = 2) -> list[Merge]:
    return graph.inception_modules(min_branches=min_branches, min_kernel_sizes=min_kernel_sizes)


def residual_adds(graph: Graph) -> list[Residual]:
    return graph.residual_adds()


def grouped_convs(graph: Graph) -> list[Node]:
    return graph.grouped_convs()
