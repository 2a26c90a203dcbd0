"""Train question 7's small network once, offline, and store it as q7_model.npz beside this file.

    .venv/bin/python reference/iust-dl-1403-hw2/train_q7_model.py

The network is graders/iust-dl-1403-hw2/q7_model.py's `build_model`, trained by its `train` on that module's
"train" digits (disjoint from the public and the hidden images) with Adam for 15 epochs on a CPU (seconds).
The weights are written as plain arrays (`np.savez`, the state dict's tensors by name): the notebook and the
grader read them with `allow_pickle=False`.  Rerun it only to change the model; then bump `Q7_VERSION` there.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "graders" / "iust-dl-1403-hw2"))

import q7_model  # noqa: E402

if __name__ == "__main__":
    accuracy = q7_model.train(HERE / "q7_model.npz")
    print(f"wrote {HERE / 'q7_model.npz'}: hidden accuracy {accuracy:.3f}")
