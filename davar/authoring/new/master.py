# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] id="intro"
# # ${id}
#
# <div dir="rtl">
#
# سوال ۱: تابع `softmax(z)` را روی آخرین محور یک آرایهٔ numpy پیاده‌سازی کنید.
#
# </div>
#
# Question 1: write `softmax(z)`, the softmax over the last axis of a numpy array.

# %% id="parameters" tags=["parameters"]
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data"
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin"

# %% id="q1-softmax"
import numpy as np


def softmax(z):
    """Softmax over the last axis of `z`."""
    # BEGIN PROMPT
    # raise NotImplementedError("question 1")
    # END PROMPT
    # BEGIN SOLUTION
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
    # END SOLUTION
