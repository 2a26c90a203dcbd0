"""davar.run.cell_names: what a cell's code defines, read without running it."""

from davar.run.cell_names import defined


def test_top_level_bindings_of_every_kind():
    source = """%matplotlib inline
!pip install tqdm
import numpy as np, os.path
from torch import nn as tnn
model = Net(); (x, y), z = 1, 2
for i in range(3):
    total = i
if True:
    with open("f") as fh:
        print(w := 3)
def predict(images):
    inside = 1
class Model: pass
squares = [k * k for k in range(3)]
"""
    assert set(defined(source)) == {"np", "os", "tnn", "model", "x", "y", "z", "i", "total", "fh", "w", "predict",
                                    "Model", "squares"}


def test_cell_source_as_lines_and_code_that_does_not_parse():
    assert defined(["a = 1\n", "b = 2\n"]) == ("a", "b")
    assert defined("def f(:\n") == ()
