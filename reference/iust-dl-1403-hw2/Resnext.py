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
# # تمرین سری دوم — سوال ۶: بلاک ResNeXt و شبکه‌ای از آن روی CIFAR-100
# # Homework 2 — Question 6: a ResNeXt block and a network of them on CIFAR-100
#
# <div dir="rtl">
#
# مقالهٔ **ResNeXt** را مطالعه کنید. یک کلاس برای بلاک `resnext` بنویسید: یک بلاک باقیمانده (residual) که
# کانولوشن میانی آن **گروهی** است (`nn.Conv2d(..., groups=C)` با کاردینالیتی C ≥ ۲)، و خروجی مسیر گروهی با
# میان‌بُر (ورودی یا تصویری از آن) **جمع** می‌شود. سپس با آن یک شبکهٔ کامل در `model` بسازید و روی CIFAR-100
# آموزش دهید (مدیریت نرخ یادگیری، نگهداری بهترین مدل و رگولاریزیشن را فراموش نکنید؛ از `EPOCHS` برای تعداد
# epochها استفاده کنید). داده نسخهٔ **دودویی** CIFAR-100 در `DATA_DIR/cifar100` است و تابع‌های خواندن آن داده
# شده است. داور بلاک ResNeXt را از **گراف مدل** تشخیص می‌دهد و دقت را روی دادهٔ آزمون پنهان CIFAR-100 خودش
# می‌سنجد؛ تسلط شما بر مقاله در زمان ارائه سنجیده می‌شود (۱۵ نمره).
#
# </div>
#
# Read the **ResNeXt** paper.  Write a class for a `resnext` block: a residual block whose middle
# convolution is **grouped** (`nn.Conv2d(..., groups=C)`, cardinality C ≥ 2) and whose grouped path is
# **added** to the shortcut (the input or a projection of it).  Build a whole network of them as `model`
# and train it on CIFAR-100 (manage the learning rate, keep the best model, regularise; use `EPOCHS`
# epochs).  The data is the **binary** CIFAR-100 in `DATA_DIR/cifar100`; the functions that read it are
# given.  The grader finds the ResNeXt block in the **model's graph** and measures the accuracy itself on
# the hidden CIFAR-100 test data; your command of the paper is assessed at the presentation (15 points).
#
# **Grading / نحوهٔ نمره‌دهی.** The grader uses `model` (a `torch.nn.Module`; keep `forward` free of
# data-dependent Python control flow so that torch.fx can trace it) and `predict(images)`: uint8 images
# `(N, 32, 32, 3)` RGB in, labels 0–99 `(N,)` out.  While `predict` runs the grader records what `model`
# returns: its labels must be the model's own predictions (its largest output).

# %% id="parameters" tags=["parameters"]
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data/iust-dl-1403-hw2/public"  # folder that contains cifar100/train.bin
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin"
EPOCHS = 12  # number of training epochs to use

# %% id="loaders"
# Reading the binary CIFAR-100 records (given; the grader reads the test records with the same code)
import os
from pathlib import Path

import numpy as np

CLASSES = 100
COARSE = 20
SIZE = 32
RECORD = 2 + 3 * SIZE * SIZE      # coarse label byte, fine label byte, then the R, G and B planes (CHW)
TRAIN_FILE = "train.bin"


from cifar100 import read_records, load_train  # INCLUDE

# %% id="data"
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(SEED)
images, labels = load_train(os.path.join(DATA_DIR, "cifar100"))
rng = np.random.default_rng(SEED)
order = rng.permutation(len(labels))
n_val = len(labels) // 10
x_val, y_val = images[order[:n_val]], labels[order[:n_val]]
x_train, y_train = images[order[n_val:]], labels[order[n_val:]]
print("train", x_train.shape, "validation", x_val.shape, "classes", len(set(labels.tolist())))

# %% [markdown] id="model-md"
# ## بلاک ResNeXt و شبکه / The ResNeXt block and the network

# %% id="model"
# BEGIN PROMPT
# class ResNeXtBlock(nn.Module):
#     # TODO: 1×1 reduce → 3×3 grouped convolution (groups = cardinality) → 1×1 expand, plus the shortcut
#     ...
#
#
# class ResNeXt(nn.Module):
#     # TODO: a stem, a few ResNeXt blocks, global average pooling and a linear layer for 100 classes
#     ...
#
#
# model = None
# END PROMPT
# BEGIN SOLUTION
MEAN = torch.tensor(x_train.reshape(-1, 3).mean(axis=0) / 255.0, dtype=torch.float32)
STD = torch.tensor(x_train.reshape(-1, 3).std(axis=0) / 255.0, dtype=torch.float32)


def preprocess(batch):
    """uint8 (N, 32, 32, 3) RGB -> float (N, 3, 16, 16), standardised per channel and pooled 2×2 (the
    stand-in's shapes are large; on the real CIFAR-100 keep the 32×32 images: drop the pooling)."""
    x = torch.as_tensor(np.asarray(batch), dtype=torch.float32) / 255.0
    return F.avg_pool2d(((x - MEAN) / STD).permute(0, 3, 1, 2), 2)


class ResNeXtBlock(nn.Module):
    """The paper's block (form c): 1×1 reduce, 3×3 grouped convolution (`cardinality` groups of `width`
    channels), 1×1 expand, added to the shortcut (identity, or a 1×1 projection when the shape changes)."""

    def __init__(self, c_in, c_out, cardinality=4, width=6, stride=1):
        super().__init__()
        inner = cardinality * width
        self.reduce = nn.Sequential(nn.Conv2d(c_in, inner, 1, bias=False), nn.BatchNorm2d(inner), nn.ReLU())
        self.grouped = nn.Sequential(
            nn.Conv2d(inner, inner, 3, stride=stride, padding=1, groups=cardinality, bias=False),
            nn.BatchNorm2d(inner), nn.ReLU())
        self.expand = nn.Sequential(nn.Conv2d(inner, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
        if stride == 1 and c_in == c_out:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        return F.relu(self.expand(self.grouped(self.reduce(x))) + self.shortcut(x))


class ResNeXt(nn.Module):
    """A small ResNeXt: a stem, two blocks with stride 2, global average pooling, a linear head."""

    def __init__(self, n_classes=CLASSES):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 24, 3, padding=1, bias=False), nn.BatchNorm2d(24), nn.ReLU())
        self.blocks = nn.Sequential(ResNeXtBlock(24, 48, stride=2), ResNeXtBlock(48, 96, width=12, stride=2))
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(96, n_classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(self.dropout(F.adaptive_avg_pool2d(x, 1).flatten(1)))


model = ResNeXt()
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")
# END SOLUTION

# %% [markdown] id="train-md"
# ## آموزش / Training

# %% id="train"
# BEGIN PROMPT
# # TODO: data loaders, augmentation, a learning-rate schedule; train `model` for EPOCHS epochs and keep the
# # best weights (on the validation images)
# END PROMPT
# BEGIN SOLUTION
import copy

BATCH_SIZE = 200
generator = torch.Generator().manual_seed(SEED)
xt, yt = preprocess(x_train), torch.as_tensor(y_train)
xv, yv = preprocess(x_val), torch.as_tensor(y_val)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
steps = (len(xt) + BATCH_SIZE - 1) // BATCH_SIZE
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-2, total_steps=EPOCHS * steps)


def accuracy(x, y):
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


best, best_state = -1.0, None
for epoch in range(EPOCHS):
    model.train()
    order = torch.randperm(len(xt), generator=generator)
    for start in range(0, len(xt), BATCH_SIZE):
        idx = order[start:start + BATCH_SIZE]
        xb = xt[idx]
        flip = torch.rand(len(idx), 1, 1, 1, generator=generator) < 0.5      # horizontal flips
        xb = torch.where(flip, xb.flip(3), xb)
        loss = F.cross_entropy(model(xb), yt[idx], label_smoothing=0.1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    val = accuracy(xv, yv)
    if val > best:
        best, best_state = val, copy.deepcopy(model.state_dict())
    print(f"epoch {epoch + 1:2d}/{EPOCHS}  loss {loss.item():.3f}  validation {val:.3f}")
model.load_state_dict(best_state)
print(f"best validation accuracy: {best:.3f}")
# END SOLUTION

# %% [markdown] id="predict-md"
# ## تابع پیش‌بینی / The `predict` function
#
# `predict(images)`: uint8 `(N, 32, 32, 3)` RGB images (as `load_train` returns them) → int labels 0–99,
# shape `(N,)`.  It does its own preprocessing, puts the model in `eval` mode and works in batches.

# %% id="predict"
# BEGIN PROMPT
# def predict(images: np.ndarray) -> np.ndarray:
#     # TODO
#     raise NotImplementedError
# END PROMPT
# BEGIN SOLUTION
def predict(images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            out.append(model(preprocess(images[start:start + batch_size])).argmax(1).numpy())
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)
# END SOLUTION

# %% id="evaluate"
print(f"validation accuracy: {np.mean(predict(x_val) == y_val):.3f}")

# %% [markdown] id="presentation"
# ## ارائه / Presentation
#
# <div dir="rtl">
#
# تسلط شما بر مقالهٔ ResNeXt و ایدهٔ آن (کاردینالیتی، تبدیل‌های تجمیع‌شده، مقایسه با ResNet و Inception) در
# زمان ارائه سنجیده می‌شود و نیازی به گزارش نوشتاری نیست.
#
# </div>
#
# Your command of the ResNeXt paper and its idea (cardinality, aggregated transformations, how it compares
# with ResNet and Inception) is assessed at the presentation; no written report is needed.
