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
# # تمرین سری دوم — سوال ۴: تطبیق کلیشه با شبکهٔ پیچشی
# # Homework 2 — Question 4: template matching with a convolutional network
#
# <div dir="rtl">
#
# در تطبیق کلیشه دو ورودی داریم: تصویر کلیشه و تصویر جست‌وجو؛ هدف یافتن کلیشه درون تصویر جست‌وجو و رسم
# مستطیل به دور آن است. در این نوت‌بوک، به‌جای مقایسهٔ مستقیم پیکسل‌ها، نقشه‌های ویژگی یک شبکهٔ پیچشی
# پیش‌آموخته (شبکهٔ ارقام سوال ۷) مقایسه می‌شوند. بیشتر کد آماده است؛ جای خالی تابع `match_template` را پر
# کنید و در گزارش توضیح دهید شبکهٔ پیچشی چگونه دقت و سرعت این مسئله را بالا برده است (گزارش را دستیار آموزشی
# تصحیح می‌کند).
#
# </div>
#
# Template matching has two inputs, a template and a search image; the goal is to find the template in the
# search image and draw a rectangle around it.  Here the feature maps of a pretrained convolutional network
# (question 7's digit network) are compared instead of the raw pixels.  Most of the code is given: fill in
# `match_template`, and explain in your report how the CNN makes the matching more accurate and faster
# (the report is marked by the TA).
#
# **Grading / نحوهٔ نمره‌دهی.** The notebook must run to the end and draw its figures; the grader also calls
# `match_template(search, template)` (2-D float arrays in [0, 1]) on search images of its own and expects
# the (row, column) of the template's top-left corner.

# %% id="parameters" tags=["parameters"]
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data/iust-dl-1403-hw2/public"  # folder that contains q7/model.npz and q7/images.npz
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin"

# %% id="imports"
from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

# %% id="model-code"
from q7_model import build_model, load_model  # INCLUDE


# %% id="data"
# The feature extractor: the pretrained network's first convolution and its ReLU (same size out as in).
network = load_model(Path(DATA_DIR) / "q7" / "model.npz")
features = network[:2]
with np.load(Path(DATA_DIR) / "q7" / "images.npz", allow_pickle=False) as data:
    digits, digit_labels = data["images"][:, 0], data["labels"]


def make_search_image(digits, count, size, rng):
    """A size×size noisy canvas holding `count` digits at random places; returns it and their corners."""
    canvas = rng.uniform(0, 0.15, size=(size, size)).astype(np.float32)
    corners, side = [], digits.shape[-1]
    while len(corners) < count:
        r, c = (int(v) for v in rng.integers(0, size - side, size=2))
        if all(abs(r - r0) >= side or abs(c - c0) >= side for r0, c0 in corners):
            canvas[r:r + side, c:c + side] = np.maximum(canvas[r:r + side, c:c + side], digits[len(corners)])
            corners.append((r, c))
    return canvas, corners


rng = np.random.default_rng(SEED)
chosen = rng.choice(len(digits), size=6, replace=False)
search, corners = make_search_image(digits[chosen], 6, 96, rng)
template = digits[chosen[2]]
plt.figure(figsize=(8, 4))
plt.subplot(1, 2, 1)
plt.imshow(search, cmap="gray")
plt.title("search image")
plt.subplot(1, 2, 2)
plt.imshow(template, cmap="gray")
plt.title("template")
plt.show()

# %% [markdown] id="match-md"
# ## تطبیق با ویژگی‌های پیچشی / Matching on convolutional features
#
# <div dir="rtl">
#
# نقشهٔ ویژگی تصویر جست‌وجو و کلیشه را با `features` بسازید و شباهت کسینوسی نقشهٔ ویژگی کلیشه را با هر پنجرهٔ
# هم‌اندازه از نقشهٔ ویژگی تصویر جست‌وجو حساب کنید (با `F.conv2d`، همهٔ پنجره‌ها با هم)؛ بیشینهٔ آن گوشهٔ بالا-چپ
# کلیشه است.
#
# </div>
#
# Compute the feature maps of the search image and of the template with `features`, and the cosine
# similarity of the template's features with every window of the same size of the search image's features
# (with `F.conv2d`, all windows at once); its maximum is the template's top-left corner.

# %% id="match"
def match_template(search, template):
    # BEGIN PROMPT
    # # TODO: return (row, column) of the best match and the similarity map
    # ...
    # END PROMPT
    # BEGIN SOLUTION
    with torch.no_grad():
        s = features(torch.as_tensor(np.asarray(search), dtype=torch.float32)[None, None])
        t = features(torch.as_tensor(np.asarray(template), dtype=torch.float32)[None, None])
        dot = F.conv2d(s, t)[0, 0]
        window_norm = F.conv2d(s ** 2, torch.ones_like(t)).clamp_min(1e-12).sqrt()[0, 0]
        similarity = dot / (window_norm * t.norm().clamp_min(1e-12))
    best = int(similarity.argmax())
    row, column = divmod(best, similarity.shape[1])
    return (row, column), similarity.numpy()
    # END SOLUTION


# %% id="result"
(row, column), similarity = match_template(search, template)
side = template.shape[0]
print("found at", (row, column), "- placed at", corners[2])
drawn = cv2.cvtColor((search * 255).astype(np.uint8), cv2.COLOR_GRAY2RGB)
cv2.rectangle(drawn, (column, row), (column + side - 1, row + side - 1), (255, 0, 0), 1)
plt.figure(figsize=(8, 4))
plt.subplot(1, 2, 1)
plt.imshow(similarity, cmap="viridis")
plt.title("similarity")
plt.subplot(1, 2, 2)
plt.imshow(drawn)
plt.title("the best match")
plt.show()

# %% [markdown] id="report"
# ## گزارش / Report
#
# <div dir="rtl">
#
# توضیح دهید شبکهٔ پیچشی در این کد چگونه به حل مسئله کمک کرده و دقت و سرعت آن را بالا برده است (از جزئیاتی مانند
# نحوهٔ محاسبهٔ confidence، توابع کمکی، رسم نتایج و NMS بپرهیزید).
#
# </div>
#
# Explain how the convolutional network helps solve the problem and makes it more accurate and faster
# (leave out details such as the confidence, the helpers, the plots and NMS).
