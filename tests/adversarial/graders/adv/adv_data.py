"""The corpus's stand-in data: a public file the notebook may read, and hidden labels it must never see.

Both hold `SECRET`-marked text only where it is secret: the hidden labels (and the graders and the reference)
say "davar-adversarial-secret", so a notebook that shows it in `breaches` has read grading material."""

from pathlib import Path

from davar.datasets import standin

VERSION = "adv-v1"


def build(root: Path) -> None:
    public, hidden = Path(root) / "public" / "secrets", Path(root) / "hidden" / "secrets"
    if not standin.needs_build(root, "secrets", VERSION, public, hidden):
        return
    (public / "readme.txt").write_text("public: the notebook may read this\n")
    (hidden / "labels.csv").write_text("file,label\ndavar-adversarial-secret-labels,7\n")
    standin.mark_built(root, "secrets", VERSION)
