"""davar.probe.graph: structure facts from a model graph sent as JSON (no framework, no kernel)."""

import pytest

from davar.probe.graph import (
    MAX_EDGES,
    MAX_NODES,
    Graph,
    concat_merges,
    grouped_convs,
    inception_modules,
    residual_adds,
)


class Net:
    """Writes graph JSON the way the kernel side does: nodes in order, each naming its inputs."""

    def __init__(self):
        self.nodes = [{"id": "x", "kind": "input", "type": "InputLayer", "inputs": []}]

    def add(self, type_, *inputs, kind="layer", **config):
        node_id = f"n{len(self.nodes)}"
        self.nodes.append({"id": node_id, "kind": kind, "type": type_, "name": node_id, "inputs": list(inputs),
                           "config": config, "output_shape": None})
        return node_id

    def conv(self, x, k, **config):
        return self.add("Conv2D", x, kernel_size=[k, k], **config)

    def graph(self):
        return Graph.from_json({"nodes": self.nodes, "outputs": [self.nodes[-1]["id"]]})


def googlenet_module(net, x):
    a = net.conv(x, 1)
    b = net.conv(net.conv(x, 1), 3)
    c = net.conv(net.conv(x, 1), 5)
    d = net.conv(net.add("MaxPooling2D", x, pool_size=[3, 3]), 1)
    return net.add("Concatenate", a, b, c, d, axis=-1)


def test_googlenet_module_is_an_inception_module():
    net = Net()
    googlenet_module(net, googlenet_module(net, "x"))
    graph = net.graph()
    first, second = inception_modules(graph)
    assert first.split.id == "x" and second.split == first.node
    assert [b.kernel_sizes for b in first.branches] == [((1, 1),), ((1, 1), (3, 3)), ((1, 1), (5, 5)), ((1, 1),)]
    assert [b.has_pool for b in first.branches] == [False, False, False, True]
    assert first.extents == ((1, 1), (3, 3), (5, 5), (3, 3)) and first.axis == -1
    assert [b.types for b in second.branches][3] == ("MaxPooling2D", "Conv2D")


def test_identical_branches_and_two_branches_are_not_inception():
    net = Net()
    same = net.add("Concatenate", net.conv("x", 3), net.conv("x", 3), net.conv("x", 3))
    pairs = net.add("Concatenate", *[net.conv(net.conv(same, 1), 3) for _ in range(3)])  # 1x1 -> 3x3, three times
    net.add("Concatenate", net.conv(pairs, 1), net.conv(pairs, 5))
    graph = net.graph()
    assert len(concat_merges(graph)) == 3 and not inception_modules(graph)
    assert len(inception_modules(graph, min_branches=2)) == 1
    assert len(inception_modules(graph, min_kernel_sizes=1)) == 2  # the last one has two branches


def test_dense_concat_of_a_tensor_with_its_processed_copy():
    net = Net()
    y = net.add("Concatenate", "x", net.conv(net.conv("x", 3), 3))
    (merge,) = net.graph().concat_merges()
    assert merge.branches[0].identity and merge.branches[1].extent == (5, 5)  # two 3x3 convs see 5x5
    assert not net.graph().inception_modules() and y == merge.node.id


def test_concat_of_two_model_inputs_has_no_split():
    net = Net()
    net.nodes.append({"id": "y", "kind": "input", "type": "InputLayer", "inputs": []})
    net.add("cat", net.conv("x", 1), net.conv("y", 3), net.add("MaxPool2d", "x", kind="layer", kernel_size=3),
            kind="op")
    (merge,) = net.graph().concat_merges()
    assert merge.split is None and not net.graph().inception_modules()


def test_residual_adds_identity_projection_and_plain_sum():
    net = Net()
    stem = net.conv("x", 3)
    block = net.add("add", net.conv(net.add("relu", net.conv(stem, 3), kind="op"), 3), stem, kind="op")
    down = net.add("Add", net.conv(net.conv(block, 3, strides=[2, 2]), 3), net.conv(block, 1, strides=[2, 2]))
    net.add("iadd", net.conv(down, 3), net.conv(down, 5), kind="op")  # two equal-length branches: no residual
    net.add("add", down, kind="op")  # x + 1: one graph input, not a merge
    identity, projection = residual_adds(net.graph())
    assert identity.identity and identity.split.id == stem
    assert [n.type for n in identity.main.nodes] == ["Conv2D", "relu", "Conv2D"]
    assert not projection.identity and projection.shortcut.kernel_sizes == ((1, 1),) and projection.split.id == block


def test_grouped_convs():
    net = Net()
    net.add("Conv2d", net.add("Conv2d", "x", groups=1, kernel_size=[3, 3]), groups=32, kernel_size=[3, 3])
    net.add("DepthwiseConv2D", "n2", kernel_size=[3, 3])
    (grouped,) = grouped_convs(net.graph())
    assert grouped.id == "n2" and grouped.groups == 32 and grouped.kernel_size == (3, 3)


@pytest.mark.parametrize("junk", [None, [], "graph", {"nodes": "x"}, {"nodes": [None, 3, "a", {"id": 5}, {}]}])
def test_junk_json_is_an_empty_graph(junk):
    graph = Graph.from_json(junk)
    assert len(graph) == 0 and not graph.concat_merges() and not graph.residual_adds()


def test_malformed_parts_are_dropped_not_trusted():
    graph = Graph.from_json({"nodes": [
        {"id": "x", "kind": "input", "type": "InputLayer"},
        {"id": "a", "kind": "rootkit", "type": ["Conv2D"], "inputs": ["x", "later", "nowhere", 7],
         "config": {"kernel_size": [3, 3], "groups": {"evil": 1}, "fn": [[1]], 3: 4, "padding": "same"},
         "output_shape": [None, "8", 8]},
        {"id": "later", "type": "Concatenate", "inputs": ["a", "a", "later"], "output_shape": [None, 4, 4, 8]},
        {"id": "a", "type": "Add", "inputs": ["x", "later"]},  # duplicate id: ignored
        {"id": "loop", "type": "Add", "inputs": ["loop", "loop"]},
    ], "outputs": ["later", "ghost", None]})
    assert [n.id for n in graph.nodes] == ["x", "a", "later", "loop"]
    a = graph.node("a")
    assert a.kind == "op" and a.type == "?" and a.inputs == ("x",) and a.output_shape is None
    assert a.config == {"kernel_size": (3, 3), "padding": "same"} and a.groups == 1
    assert graph.node("later").inputs == ("a", "a") and graph.node("later").output_shape == (None, 4, 4, 8)
    assert graph.node("loop").inputs == () and graph.outputs == ("later",)
    (merge,) = graph.concat_merges()  # concat of one tensor with itself: empty branches
    assert all(b.identity for b in merge.branches) and not graph.inception_modules()


def test_navigation():
    net = Net()
    googlenet_module(net, "x")
    graph = net.graph()
    concat = graph.layers("concatenate")[0]
    assert len(graph.inputs_of(concat)) == 4 and graph.consumers(graph.node("x"))[0].id == "n1"
    assert len(graph.ancestors(concat)) == len(graph) - 1 and graph.by_name("n3").kernel_size == (3, 3)
    assert len(graph.layers()) == len(graph) - 1


def test_oversize_graphs_are_capped():
    chain = [{"id": "n0", "type": "InputLayer"}] + [
        {"id": f"n{i}", "type": "Conv2D", "inputs": [f"n{i - 1}"] * 10} for i in range(1, MAX_NODES + 500)]
    graph = Graph.from_json({"nodes": chain})
    assert len(graph) == MAX_NODES and sum(len(n.inputs) for n in graph.nodes) == MAX_EDGES
    last_linked = graph.nodes[MAX_EDGES // 10]
    assert len(graph.ancestors(last_linked)) == MAX_EDGES // 10 and not graph.nodes[-1].inputs
