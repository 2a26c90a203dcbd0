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
# # تمرین سری دوم — سوال ۸ (امتیازی): ناحیه‌بندی پوسیدگی دندان با ResUNet
# # Homework 2 — Question 8 (bonus): dental-caries segmentation with a ResUNet
#
# <div dir="rtl">
#
# یک مدل ناحیه‌بندی معنایی برای تصاویر X-Ray دندان بسازید که نواحی پوسیده را پیدا کند. مدل یک **ResUNet**
# است: ساختار U-Net با این تفاوت که **رمزگذار آن ارتباطات residual دارد** (جمع ورودی هر بلاک با خروجی آن).
# فقط رمزگذار از شما خواسته شده است؛ رمزگشا آماده است. برخی از ماسک‌های آموزشی عمداً **نویزی** شده‌اند؛ برای
# آن‌ها رویهٔ مناسبی در نظر بگیرید. تابع هزینهٔ مناسبی بنویسید: BCE ساده و بدون تغییر جواب خوبی نمی‌دهد
# (برای توابع هزینه‌ای که در کلاس تدریس نشده‌اند منبع بیاورید). **dice score** بالای ۴۰٪ هم روی تصاویر
# آموزشی و هم آزمایشی لازم است (۲۰ نمرهٔ امتیازی).
#
# </div>
#
# Build a semantic-segmentation model that finds caries in dental X-rays: a **ResUNet**, a U-Net whose
# **encoder has residual connections** (each block's input added to its output).  Only the encoder is asked
# of you; the decoder is given.  Some training masks are deliberately **noisy**: handle them.  Write a
# suitable loss: plain, unmodified BCE does not work well here (cite the source of a loss not taught in
# class).  A **Dice score above 40 %** on the training AND the test images is required (20 bonus points).
#
# **Grading / نحوهٔ نمره‌دهی.** The grader uses `model` (a `torch.nn.Module` taking `(N, 1, 64, 64)` and
# returning one logit per pixel, `(N, 1, 64, 64)`; keep `forward` traceable by torch.fx), `loss_fn(logits,
# target)` (float tensors of that shape → a scalar tensor) and `predict_masks(images)` (uint8 `(N, 64, 64)` →
# `(N, 64, 64)` of 0/1).  It finds the residual additions of the encoder in the model's graph, calls
# `loss_fn` on its own tensors, and computes the Dice score itself from `predict_masks`' masks against
# correct masks that never enter the notebook; the masks must be the model's (its outputs thresholded).

# %% id="parameters" tags=["parameters"]
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data/iust-dl-1403-hw2/public"  # folder that contains dental/train and dental/test
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin"
EPOCHS = 12  # number of training epochs to use

# %% id="load-data"
# Loading the X-rays and the training masks (given)
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SIZE = 64
torch.manual_seed(SEED)


from dental import _read, names, load_images, load_masks  # INCLUDE


root = os.path.join(DATA_DIR, "dental")
train_files = names(root, "train")
X_train = load_images(root, "train")
M_train = load_masks(root, "train", train_files)          # some of these are wrong
X_test = load_images(root, "test")
print("train", X_train.shape, "test", X_test.shape, "foreground share", M_train.mean().round(4))

# %% [markdown] id="model-md"
# ## مدل / The model
#
# The decoder (`Up`, `ResUNet.forward`) is given; write the encoder block `EncoderBlock`.

# %% id="model"
class Up(nn.Module):
    """Given: upsample ×2, concatenate the encoder's skip, two 3×3 convolutions."""

    def __init__(self, c_in, c_skip, c_out):
        super().__init__()
        self.up = nn.ConvTranspose2d(c_in, c_out, 2, stride=2)
        self.conv = nn.Sequential(nn.Conv2d(c_out + c_skip, c_out, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU())

    def forward(self, x, skip):
        return self.conv(torch.cat([self.up(x), skip], dim=1))


# BEGIN PROMPT
# class EncoderBlock(nn.Module):
#     # TODO: two 3×3 convolutions with batch normalisation, and a RESIDUAL connection: the block's input
#     # (through a 1×1 convolution when the channels change) added to its output
#     def __init__(self, c_in, c_out):
#         super().__init__()
#         ...
#
#     def forward(self, x):
#         ...
# END PROMPT
# BEGIN SOLUTION
class EncoderBlock(nn.Module):
    """Two 3×3 convolutions with batch normalisation; the input, projected by a 1×1 convolution, is added."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))
# END SOLUTION


class ResUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1, self.enc2, self.enc3 = EncoderBlock(1, 4), EncoderBlock(4, 8), EncoderBlock(8, 16)
        self.up2, self.up1 = Up(16, 8, 8), Up(8, 4, 4)
        self.out = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.max_pool2d(e2, 2))
        return self.out(self.up1(self.up2(e3, e2), e1))     # logits


model = ResUNet()

# %% [markdown] id="loss-md"
# ## تابع هزینه / The loss
#
# `loss_fn(logits, target)`: float tensors `(N, 1, 64, 64)` (target 0/1) → a scalar tensor.

# %% id="loss"
# BEGIN PROMPT
# def loss_fn(logits, target):
#     # TODO: a loss for a small foreground (not plain BCE)
#     raise NotImplementedError
# END PROMPT
# BEGIN SOLUTION
def loss_fn(logits, target):
    """Weighted BCE (caries are ~3 % of the pixels: positives weigh 10×) plus the soft Dice loss
    (Milletari et al., V-Net, 2016), the Dice computed per image over its pixels."""
    bce = F.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(10.0))
    p = torch.sigmoid(logits)
    inter = (p * target).sum(dim=(1, 2, 3))
    dice = (2 * inter + 1) / (p.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3)) + 1)
    return 0.5 * bce + (1 - dice).mean()
# END SOLUTION

# %% [markdown] id="train-md"
# ## آموزش / Training

# %% id="train"
# BEGIN PROMPT
# # TODO: handle the noisy training masks, then train `model` for EPOCHS epochs with `loss_fn`
# END PROMPT
# BEGIN SOLUTION
# Noisy masks: an inverted mask covers most of the image (caries are small); those are left out.
share = M_train.reshape(len(M_train), -1).mean(axis=1)
keep = share < 0.25
print(f"left out {int((~keep).sum())} training masks that cover more than a quarter of the image")
x = torch.as_tensor(X_train[keep][:, None] / 255.0, dtype=torch.float32)
t = torch.as_tensor(M_train[keep][:, None], dtype=torch.float32)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
generator = torch.Generator().manual_seed(SEED)
for epoch in range(EPOCHS):
    model.train()
    order = torch.randperm(len(x), generator=generator)
    for start in range(0, len(x), 16):
        idx = order[start:start + 16]
        loss = loss_fn(model(x[idx]), t[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch + 1:2d}/{EPOCHS}  loss {loss.item():.3f}")
# END SOLUTION

# %% [markdown] id="predict-md"
# ## پیش‌بینی ماسک / `predict_masks`
#
# uint8 `(N, 64, 64)` grey X-rays → `(N, 64, 64)` masks of 0/1 (the model's outputs thresholded).

# %% id="predict"
# BEGIN PROMPT
# def predict_masks(images: np.ndarray) -> np.ndarray:
#     # TODO
#     raise NotImplementedError
# END PROMPT
# BEGIN SOLUTION
def predict_masks(images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = torch.as_tensor(np.asarray(images[start:start + batch_size])[:, None] / 255.0, dtype=torch.float32)
            out.append((model(batch) > 0).numpy()[:, 0])
    return np.concatenate(out).astype(np.uint8) if out else np.zeros((0, SIZE, SIZE), np.uint8)
# END SOLUTION

# %% id="evaluate"
def dice_score(predicted, truth):
    p, t = np.asarray(predicted, bool), np.asarray(truth, bool)
    return (2 * np.logical_and(p, t).sum() + 1e-7) / (p.sum() + t.sum() + 1e-7)


print(f"Dice on the training images (against their given masks): {dice_score(predict_masks(X_train), M_train):.3f}")
