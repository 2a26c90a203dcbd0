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
# # تمرین سری دوم — سوال ۵: شبکهٔ پیچشی برای ارقام دست‌نویس ۱ تا ۴
# # Homework 2 — Question 5: a CNN for handwritten digits 1–4
#
# <div dir="rtl">
#
# در این سوال برای مجموعه‌دادهٔ زیر یک **شبکهٔ عصبی پیچشی** با معماری دلخواه توسعه دهید که اعداد
# دست‌نویس انگلیسی ۱ تا ۴ را از روی تصاویر رنگی ۶۴×۶۴ تشخیص دهد (۱۵ نمره). تصاویر فایل برچسب
# ندارند و برچسب هر تصویر از روی نام فایل آن ساخته می‌شود (کد آن در همین نوت‌بوک آماده است).
# داده با نسبت ۸۰ به ۲۰ و `random_state=42` به آموزشی و آزمایشی تقسیم می‌شود و انتظار می‌رود دقت
# مدل روی **هر دو** مجموعه **بالای ۹۰٪** باشد. استفاده از داده‌افزایی، `early stopping` و
# `learning rate scheduler` پیشنهاد می‌شود (اختیاری).
#
# </div>
#
# Develop a convolutional neural network (any architecture) that recognises the handwritten English
# digits 1–4 in 64×64 colour images (15 points). The images have no label file: each label is parsed
# from the file name (the code is provided below). The data is split 80/20 with `random_state=42`;
# the model must reach **more than 90 % accuracy on both the train and the test split**. Data
# augmentation, early stopping and a learning-rate scheduler are suggested (optional).
#
# **Grading / نحوهٔ نمره‌دهی.** The grader runs this notebook top to bottom, then uses two names
# from it: `model` (your `torch.nn.Module`, it must contain a convolutional layer) and
# `predict(images)`. It calls `predict` on the train split, the test split and a **hidden** set of
# images of the same kind, and measures the accuracy itself. Do not rename them. An accuracy counts
# only when it is your model's: while `predict` runs, the grader records what `model` returns, and
# `predict`'s labels must be the model's own predictions (its largest output) for those images; labels
# taken from the file names do not count. Labels 0–3 are read as 1–4.
#
# <div dir="rtl">
#
# دقت فقط وقتی حساب می‌شود که دقت مدل شما باشد: هنگام اجرای `predict` داور خروجی `model` را ثبت می‌کند و
# برچسب‌های `predict` باید همان پیش‌بینی خود مدل (بزرگ‌ترین خروجی آن) برای همان تصاویر باشد؛ برچسبی که از
# نام فایل‌ها برداشته شود حساب نمی‌شود. برچسب‌های ۰ تا ۳ به‌جای ۱ تا ۴ خوانده می‌شوند.
#
# </div>

# %% id="parameters" tags=["parameters"]
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data/iust-dl-1403-hw2/public"  # folder that contains digits/*.png
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin"
DIGITS_EPOCHS = 8  # number of training epochs to use

# %% [markdown] id="load-data-md"
# ## بارگذاری داده (آماده) / Loading the data (provided)
#
# <div dir="rtl">
#
# برچسب هر تصویر آخرین بخش نام فایل (پس از `_`) است؛ برای مثال `00017_3.png` تصویری از عدد ۳ است.
# این سلول را تغییر ندهید.
#
# </div>
#
# The label is the last `_`-separated part of the file name: `00017_3.png` shows a 3. Do not change
# this cell: the grader splits the data in exactly the same way.

# %% id="load-data"
import random
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image
from sklearn.model_selection import train_test_split

random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)


def label_from_name(path):
    """The label is the last "_" field of the file name: 00017_3.png -> 3."""
    return int(Path(path).stem.split("_")[-1])


def load_images(paths):
    """uint8 array of shape (N, 64, 64, 3), RGB."""
    images = []
    for p in paths:
        with Image.open(p) as im:
            images.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
    return np.stack(images)


paths = sorted(Path(DATA_DIR, "digits").glob("*.png"))
labels = np.array([label_from_name(p) for p in paths])
train_paths, test_paths, y_train, y_test = train_test_split(
    paths, labels, test_size=0.2, random_state=42
)
X_train, X_test = load_images(train_paths), load_images(test_paths)
print(f"{len(paths)} images: train {X_train.shape}, test {X_test.shape}, labels {sorted(set(labels))}")

# %% id="show-samples"
fig, axes = plt.subplots(1, 8, figsize=(10, 1.6))
for ax, image, label in zip(axes, X_train[:8], y_train[:8]):
    ax.imshow(image)
    ax.set_title(str(label))
    ax.axis("off")
plt.show()

# %% [markdown] id="model-md"
# ## مدل / The model
#
# <div dir="rtl">
#
# یک شبکهٔ پیچشی (دارای حداقل یک لایهٔ `nn.Conv2d`) با نام **`model`** تعریف کنید. برچسب‌ها ۱ تا ۴
# هستند؛ می‌توانید درون مدل از ۰ تا ۳ استفاده کنید ولی خروجی `predict` باید ۱ تا ۴ باشد.
#
# </div>
#
# Define a convolutional network (at least one `nn.Conv2d`) and assign it to **`model`**. Labels are
# 1–4; you may use 0–3 inside the model, but `predict` must return 1–4.

# %% id="model"
import torch.nn as nn
import torch.nn.functional as F

# BEGIN PROMPT
# # YOUR CODE HERE: define a CNN and assign it to `model`.
# # کد خود را اینجا بنویسید: یک شبکهٔ پیچشی تعریف کرده و در `model` قرار دهید.
# model = None
# raise NotImplementedError
# END PROMPT
# BEGIN SOLUTION

def preprocess(images):
    """uint8 (N, 64, 64, 3) RGB -> float (N, 3, 32, 32), standardised per image.

    Ink and paper colours vary from photo to photo, so each image is standardised on its own;
    2×2 average pooling halves the resolution (plenty for a digit, 4× cheaper to train).
    """
    x = torch.as_tensor(np.asarray(images), dtype=torch.float32).permute(0, 3, 1, 2) / 255.0
    x = F.avg_pool2d(x, 2)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True)
    return (x - mean) / (std + 1e-6)


def conv_block(c_in, c_out):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class DigitCNN(nn.Module):
    """Three conv blocks (32 -> 16 -> 8 -> 4 pixels), global average pooling, a linear head."""

    def __init__(self, n_classes=4):
        super().__init__()
        self.features = nn.Sequential(conv_block(3, 32), conv_block(32, 64), conv_block(64, 128))
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(128, n_classes)
        )

    def forward(self, x):
        return self.head(self.features(x))


model = DigitCNN()
print(model)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")
# END SOLUTION

# %% [markdown] id="train-md"
# ## آموزش / Training
#
# <div dir="rtl">
#
# مدل را روی `X_train`, `y_train` آموزش دهید و برای هر epoch مقادیر را در `history` ذخیره کنید
# (برای رسم نمودار آموزش). از `DIGITS_EPOCHS` برای تعداد epochها استفاده کنید؛ هر سلول حداکثر ۵ دقیقه
# وقت دارد.
#
# </div>
#
# Train `model` on `X_train`, `y_train` and append one value per epoch to the lists in `history`
# (they are plotted at the end). Use `DIGITS_EPOCHS` epochs; each cell may run for at most 5 minutes.

# %% id="train"
history = {"train_loss": [], "train_acc": [], "test_acc": []}

# BEGIN PROMPT
# # YOUR CODE HERE: train `model` for DIGITS_EPOCHS epochs and fill `history`.
# # کد خود را اینجا بنویسید: مدل را به تعداد DIGITS_EPOCHS دوره آموزش دهید و history را پر کنید.
# raise NotImplementedError
# END PROMPT
# BEGIN SOLUTION
BATCH_SIZE = 64
generator = torch.Generator().manual_seed(SEED)
x_train = preprocess(X_train)
t_train = torch.as_tensor(y_train - 1)          # labels 1..4 -> classes 0..3
x_test, t_test = preprocess(X_test), torch.as_tensor(y_test - 1)


def augment(x):
    """A random shift of up to 3 pixels and a random order of the colour channels."""
    padded = F.pad(x, (3, 3, 3, 3), mode="replicate")
    i, j = torch.randint(0, 7, (2,), generator=generator).tolist()
    x = padded[:, :, i : i + x.shape[2], j : j + x.shape[3]]
    return x[:, torch.randperm(3, generator=generator)]


def accuracy(x, t):
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == t).float().mean())


optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
steps_per_epoch = (len(x_train) + BATCH_SIZE - 1) // BATCH_SIZE
scheduler = torch.optim.lr_scheduler.OneCycleLR(
    optimizer, max_lr=1e-2, total_steps=DIGITS_EPOCHS * steps_per_epoch
)

for epoch in range(DIGITS_EPOCHS):
    model.train()
    order = torch.randperm(len(x_train), generator=generator)
    total = 0.0
    for start in range(0, len(x_train), BATCH_SIZE):
        idx = order[start : start + BATCH_SIZE]
        loss = F.cross_entropy(model(augment(x_train[idx])), t_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item() * len(idx)
    history["train_loss"].append(total / len(x_train))
    history["train_acc"].append(accuracy(x_train, t_train))
    history["test_acc"].append(accuracy(x_test, t_test))
    print(
        f"epoch {epoch + 1:2d}/{DIGITS_EPOCHS}  loss {history['train_loss'][-1]:.4f}  "
        f"train {history['train_acc'][-1]:.4f}  test {history['test_acc'][-1]:.4f}"
    )
# END SOLUTION

# %% [markdown] id="predict-md"
# ## تابع پیش‌بینی / The `predict` function
#
# <div dir="rtl">
#
# تابع `predict(images)` آرایه‌ای از نوع `uint8` با شکل `(N, 64, 64, 3)` (تصاویر RGB دقیقاً همان‌طور
# که `load_images` بارگذاری می‌کند) می‌گیرد و آرایه‌ای از اعداد صحیح ۱ تا ۴ با شکل `(N,)` برمی‌گرداند.
# پیش‌پردازش را خود تابع انجام دهد، مدل را در حالت `eval` قرار دهد، از `torch.no_grad()` استفاده کند و
# ورودی‌های بزرگ را دسته‌دسته پردازش کند.
#
# </div>
#
# `predict(images)` receives a `uint8` array of shape `(N, 64, 64, 3)` — RGB images exactly as
# `load_images` returns them — and returns an integer array of shape `(N,)` with labels in {1, 2, 3, 4}.
# It must do its own preprocessing, put the model in `eval` mode, use `torch.no_grad()` and process
# large inputs in batches.

# %% id="predict"
# BEGIN PROMPT
# def predict(images: np.ndarray) -> np.ndarray:
# END PROMPT
# BEGIN SOLUTION
def predict(images: np.ndarray, batch_size: int = 256) -> np.ndarray:
# END SOLUTION
    """uint8 (N, 64, 64, 3) RGB images -> int labels in {1, 2, 3, 4}, shape (N,)."""
    # BEGIN PROMPT
    # # YOUR CODE HERE
    # # کد خود را اینجا بنویسید
    # raise NotImplementedError
    # END PROMPT
    # BEGIN SOLUTION
    images = np.asarray(images)
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            logits = model(preprocess(images[start : start + batch_size]))
            out.append(logits.argmax(dim=1).numpy() + 1)
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, dtype=np.int64)
    # END SOLUTION


# %% [markdown] id="evaluate-md"
# ## ارزیابی (آماده) / Evaluation (provided)

# %% id="evaluate"
train_acc = float(np.mean(predict(X_train) == y_train))
test_acc = float(np.mean(predict(X_test) == y_test))
print(f"train accuracy: {train_acc:.4f}")
print(f"test accuracy:  {test_acc:.4f}")

Path(OUTPUT_DIR).mkdir(parents=True, exist_ok=True)
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(8, 3))
for name, values in history.items():
    if len(values) == 0:
        continue
    ax = ax_loss if "loss" in name else ax_acc
    ax.plot(range(1, len(values) + 1), values, marker=".", label=name)
for ax, title in ((ax_loss, "loss"), (ax_acc, "accuracy")):
    ax.set_title(title)
    ax.set_xlabel("epoch")
    if ax.lines:
        ax.legend()
fig.tight_layout()
fig.savefig(Path(OUTPUT_DIR, "training_curve.png"), dpi=80)
plt.show()
