"""iust-dl-1403-hw2 questions 6 and 8: the ResNeXt block and the residual encoder found in the model graph (the
kernel side's torch.fx tracer on real torch modules), plain BCE told from other losses, predict_masks' masks
matched with the model's outputs, and the assignment's configuration.  The samples grade in
tests/grading/test_samples.py."""

import re
from pathlib import Path

import numpy as np
import pytest

from davar import assignment
from davar.errors import GradeFailure
from davar.inside import models
from davar.probe.graph import Graph

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional

ROOT = Path(__file__).resolve().parents[2]
ID = "iust-dl-1403-hw2"


@pytest.fixture(scope="module")
def q6(course_module):
    return course_module(ID, "test_q6")


@pytest.fixture(scope="module")
def q8(course_module):
    return course_module(ID, "test_q8")


def traced(model) -> Graph:
    reply = models.graph(model)
    assert reply["graph_error"] is None
    return Graph.from_json(reply["graph"])


class Block(nn.Module):
    def __init__(self, groups=4, residual=True, projection=False):
        super().__init__()
        self.residual = residual
        self.reduce = nn.Conv2d(8, 16, 1)
        self.grouped = nn.Conv2d(16, 16, 3, padding=1, groups=groups)
        self.expand = nn.Conv2d(16, 8, 1)
        self.shortcut = nn.Conv2d(8, 8, 1) if projection else nn.Identity()

    def forward(self, x):
        out = self.expand(F.relu(self.grouped(F.relu(self.reduce(x)))))
        return F.relu(out + self.shortcut(x)) if self.residual else F.relu(out)


class Net(nn.Module):
    def __init__(self, **block):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = Block(**block)
        self.head = nn.Linear(8, 100)

    def forward(self, x):
        return self.head(F.adaptive_avg_pool2d(self.block(self.stem(x)), 1).flatten(1))


class GroupedBeside(nn.Module):
    """A grouped convolution and a residual block, but the grouped one outside it."""

    def __init__(self):
        super().__init__()
        self.grouped = nn.Conv2d(8, 8, 3, padding=1, groups=2)
        self.block = Block(groups=1)

    def forward(self, x):
        return self.block(self.grouped(x))


@pytest.mark.parametrize(("net", "key", "found"), [
    (Net(), "q6_resnext_block", True),
    (Net(projection=True), "q6_resnext_block", True),
    (Net(groups=1), "q6_no_grouping", False),
    (Net(residual=False), "q6_no_residual", False),
    (GroupedBeside(), "q6_grouping_outside", False),
])
def test_resnext_design(q6, net, key, found):
    d = q6.design(traced(net), 2)
    assert (d.key, d.found) == (key, found)


def test_cardinality_is_configurable(q6):
    assert q6.design(traced(Net(groups=4)), 4).found
    d = q6.design(traced(Net(groups=2)), 4)
    assert not d.found and d.values["groups"] == 2 and d.values["needed"] == 4


def test_predict_labels_or_scores(q6):
    assert q6.as_labels(np.array([3, 99, 0]), 3).tolist() == [3, 99, 0]
    scores = np.zeros((2, 100))
    scores[0, 7], scores[1, 42] = 1, 1
    assert q6.as_labels(scores, 2).tolist() == [7, 42]
    with pytest.raises(GradeFailure):
        q6.as_labels(np.zeros((3, 5)), 3)


class EncoderBlock(nn.Module):
    def __init__(self, c_in, c_out, residual):
        super().__init__()
        self.residual = residual
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x):
        out = self.conv2(F.relu(self.conv1(x)))
        return F.relu(out + self.shortcut(x)) if self.residual else F.relu(out)


class TinyUNet(nn.Module):
    def __init__(self, encoder_residual=True, decoder_residual=False):
        super().__init__()
        self.decoder_residual = decoder_residual
        self.e1, self.e2 = EncoderBlock(1, 4, encoder_residual), EncoderBlock(4, 8, encoder_residual)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.d = nn.Conv2d(8, 4, 3, padding=1)
        self.d2 = nn.Conv2d(4, 4, 3, padding=1)
        self.out = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        a = self.e1(x)
        u = self.up(self.e2(F.max_pool2d(a, 2)))
        d = self.d(torch.cat([u, a], 1))
        return self.out(F.relu(self.d2(d)) + u if self.decoder_residual else d)


def test_residual_encoder(q8):
    found, up = q8.encoder_residuals(traced(TinyUNet()))
    assert len(found) == 2 and up == "up"
    found, _ = q8.encoder_residuals(traced(TinyUNet(encoder_residual=False)))
    assert not found
    # a residual addition in the decoder (after the upsampling) does not make the encoder residual
    graph = traced(TinyUNet(encoder_residual=False, decoder_residual=True))
    assert graph.residual_adds() and not q8.encoder_residuals(graph)[0]


def test_plain_bce_matches_torch(q8):
    rng = np.random.default_rng(0)
    t = q8._blobs(rng, 2)
    x = rng.normal(0, 2, size=t.shape)
    target = torch.tensor(t, dtype=torch.float64)
    expected = F.binary_cross_entropy_with_logits(torch.tensor(x), target, reduction="none")
    np.testing.assert_allclose(q8._bce(x, t, logits=True), expected.numpy(), rtol=1e-10)
    p = 1 / (1 + np.exp(-x))
    expected = F.binary_cross_entropy(torch.tensor(p), target, reduction="none")
    np.testing.assert_allclose(q8._bce(p, t, logits=False), expected.numpy(), rtol=1e-8)
    assert 0 < t.mean() < 0.2                                            # small blobs, as caries are


def test_mask_agreement(q8):
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(3, 50))
    assert q8.mask_agreement(scores > 0, scores) == 1.0
    assert q8.mask_agreement(scores > 0.7, scores) == 1.0                # any one threshold
    assert q8.mask_agreement(np.zeros((3, 50), bool), scores) == 1.0     # above every score
    flipped = scores > 0
    flipped[0, :10] = ~flipped[0, :10]
    assert q8.mask_agreement(flipped, scores) == pytest.approx(1 - 10 / 150, abs=0.02)
    assert q8.mask_agreement(scores < 0, scores) < 0.6                   # the inverse is not the model's
    ties = np.zeros((1, 4))
    assert q8.mask_agreement(np.array([[1, 0, 1, 0]], bool), ties) == 0.5   # equal scores cannot be split


def test_model_scores_one_or_two_channels(q8):
    one = np.arange(2 * 4096, dtype=float).reshape(2, 4096)
    assert q8._model_scores(one, 2) is one
    two = np.concatenate([np.zeros((2, 4096)), one], axis=1)
    np.testing.assert_array_equal(q8._model_scores(two, 2), one)
    assert q8._model_scores(one, 3) is None and q8._model_scores(None, 2) is None


def test_questions_configured():
    a = assignment.load(ROOT / "graders" / ID)
    assert {"Resnext.ipynb", "HW2_SS.ipynb"} <= set(a.notebooks)
    q6, q8 = a.question("6"), a.question("8")
    assert q6.notebook == "Resnext.ipynb" and q6.extra["min_cardinality"] >= 2 and q6.partial
    assert q6.points + a.question("6-presentation").points == 15 and a.question("6-presentation").manual
    assert q8.bonus and q8.points == 20 and q8.thresholds["dice"] == 0.40 and q8.notebook == "HW2_SS.ipynb"


def test_dashboard_shows_the_dice_distribution_against_its_threshold():
    """The class dashboard's generic metric plot (a message with `measured` and `threshold`) carries q8's Dice."""
    from davar import catalogue
    from davar.reporting import dashboard
    from davar.results import QuestionResult, SandboxRecord, SubmissionResult
    from davar.results import TestResult as TResult

    a = assignment.load(ROOT / "graders" / ID)
    q = a.question("8")
    results = []
    for i, dice in enumerate([0.89, 0.35, 0.62, 0.05]):
        tests = tuple(TResult(id=f"q8_dice_{split}", title={"fa": split, "en": f"Dice on {split}"},
                              outcome="passed" if dice > 0.4 else "failed", points=6 if dice > 0.4 else 0,
                              max_points=6, hidden=True, messages=(catalogue.message(
                                  "q8_dice", {"split": split, "measured": dice, "threshold": 0.40, "count": 40},
                                  "pass" if dice > 0.4 else "fail", course=a.messages),))
                      for split in ("train", "test"))
        results.append(SubmissionResult(
            assignment=ID, student=f"40100{i}", digest=f"sha256:{i}", status="graded",
            graded_at="2025-04-07T10:00:00+03:30",
            sandbox=SandboxRecord(level="strict", network=False), executions=(),
            questions=(QuestionResult(id="8", title=q.title, max_points=12, tests=tests),)))
    metrics = [m for m in dashboard.class_stats(results, a).metrics if m.key == "q8_dice"]
    assert [m.test for m in metrics] == ["q8_dice_train", "q8_dice_test"]
    for m in metrics:
        assert m.percent and m.thresholds == {0.40} and m.above == 2 and len(m.measured) == 4
    html = dashboard.render_dashboard_page(results, a, "en", release_hidden=True)
    section = html[html.index('id="metrics"'):]
    for split in ("train", "test"):    # a plot each, captioned with the test and its 40 % line
        assert re.search(rf'<svg [^>]*role="img" aria-label="Dice on {split}"', section)
    assert section.count('above the threshold <bdi class="num">40%</bdi>') == 2
