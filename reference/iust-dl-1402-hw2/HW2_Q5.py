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
# # تمرین سری دوم — سوال ۵: شبکهٔ MLP برای FashionMNIST
# # Homework 2 — Question 5: an MLP for FashionMNIST
#
# <div dir="rtl">
#
# هدف، آموزش یک شبکهٔ سادهٔ MLP با PyTorch روی مجموعه‌دادهٔ FashionMNIST است (۴۰ نمره و ۱۵ نمرهٔ امتیازی).
# داده از فایل‌های IDX در `DATA_DIR/fashion_mnist` خوانده می‌شود؛ برچسب‌های دادهٔ آزمون در دسترس نیست و داور
# مدل‌های شما را خودش روی دادهٔ آزمون پنهان ارزیابی می‌کند. دادهٔ اعتبارسنجی از انتهای دادهٔ آموزشی جدا شده است.
#
# نام‌هایی که داور به دنبال آن‌ها می‌گردد (آن‌ها را تغییر ندهید):
#
# | بخش | نام | چه چیزی بررسی می‌شود |
# |---|---|---|
# | الف | `model`، `criterion`، `optimizer` | فقط لایه‌های `nn.Linear` و تابع فعال‌سازی (و `nn.Flatten`)؛ `nn.CrossEntropyLoss`؛ `torch.optim.SGD`؛ دقت روی دادهٔ آزمون |
# | ب | `overfit_model` | فاصلهٔ دقت آموزش و آزمون (بیش‌برازش) |
# | پ | `augmented_model` | همان شبکهٔ ب که فقط با داده‌افزایی آموزش دیده؛ فاصله باید کم شود |
# | ت | `regularized_model` | همان شبکهٔ ب با منظم‌سازی L1 یا L2؛ فاصله باید کم شود |
# | ث (امتیازی) | `best_model` | ترکیب داده‌افزایی، منظم‌سازی و Dropout؛ فاصلهٔ کمتر و دقت آزمون بهتر از ب |
#
# - ورودی هر مدل تنسور float32 با شکل `(N, 1, 28, 28)` و مقادیر بین ۰ و ۱ است (خروجی `to_input`) و خروجی آن
#   ۱۰ عدد (logit) برای هر تصویر. داور تصاویر را از همین `to_input` شما به مدل‌ها می‌دهد؛ اگر آن را تغییر دهید
#   (مثلاً بردار ۷۸۴تایی یا نرمال‌سازی دیگر) مدل‌ها همان را می‌گیرند.
# - نمرهٔ دقت بخش الف فقط برای MLP با بهینه‌ساز SGD است. در بخش‌های پ تا ث خود روش‌ها سنجیده می‌شوند: تابع
#   داده‌افزایی `augment` (که باید تصاویر را تغییر دهد)، اثر جریمهٔ L1/L2 یا weight decay در وزن‌های مدل، و لایه‌های
#   Dropout؛ «بهبود» یعنی دقت آزمون پنهان بیش از تلورانس کمی پایین نیاید.
# - مدل‌های ب تا ث را فقط روی `N_SMALL` تصویر اول دادهٔ آموزشی (`X_small`، `y_small`) آموزش دهید؛ داور دقت آموزش
#   را روی همین تصاویر و دقت آزمون را روی دادهٔ پنهان می‌سنجد و فاصله = دقت آموزش − دقت آزمون.
# - از `EPOCHS` و `SMALL_EPOCHS` برای تعداد دوره‌ها استفاده کنید (داور هنگام اجرا مقدار آن‌ها را تعیین می‌کند).
# - فقط از numpy، PyTorch و matplotlib استفاده کنید (بدون torchvision و بدون اینترنت).
# - توضیح‌ها و تحلیل‌ها (دلیل بیش‌برازش، نمودار خطای آموزش و آزمون، تحلیل پ و ت و ث) را در سلول‌های متنی بنویسید؛
#   دستیاران آموزشی آن‌ها را تصحیح می‌کنند.
#
# </div>
#
# Train a simple MLP on FashionMNIST with PyTorch (40 points, 15 bonus).  The data is read from the IDX
# files in `DATA_DIR/fashion_mnist`; the test labels are not available: the grader evaluates your models
# on the hidden test set itself.  The validation set is split off the end of the training images.
# The names the grader looks for (keep them):
#
# - (a) `model` (only `nn.Linear` and activation layers, plus `nn.Flatten`), `criterion`
#   (`nn.CrossEntropyLoss`), `optimizer` (`torch.optim.SGD`); its test accuracy is measured.
# - (b) `overfit_model`: an MLP that overfits — a clear gap between training and test accuracy.
# - (c) `augmented_model`: the network of (b) trained with data augmentation only; the gap must shrink.
# - (d) `regularized_model`: the network of (b) trained with an L1 or L2 penalty; the gap must shrink.
# - (e, bonus) `best_model`: a combination of augmentation, regularisation and dropout; smaller gap and
#   better test accuracy than (b).
#
# Every model takes a float32 tensor `(N, 1, 28, 28)` with values in [0, 1] (what `to_input` returns)
# and returns 10 logits per image; the grader feeds the images through your `to_input`, so if you change
# it (flat vectors, another normalisation) the models get what they were trained on.  Part (a)'s accuracy
# points are for an MLP trained with SGD only.  In (c)–(e) the techniques are measured: the augmentation
# function `augment` (it must change the images), the L1/L2 penalty or weight decay as it shows in the
# weights, Dropout layers; an "improvement" may not lose hidden test accuracy beyond a small tolerance.
# Train the models of
# (b)–(e) on the first `N_SMALL` training images only (`X_small`, `y_small`): the grader measures their
# training accuracy on those images and their test accuracy on the hidden set; gap = training −
# test accuracy.  Use `EPOCHS` and `SMALL_EPOCHS` for the number of epochs (the grader sets them).
# numpy, PyTorch and matplotlib only (no torchvision, no internet).  Write the explanations and
# analyses (why (b) overfits, its training/validation loss plot, the analysis of (c), (d), (e)) in the
# text cells: the TAs grade them.

# %% id="parameters" tags=["parameters"]
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data"
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin"
EPOCHS = 15                # part a: epochs over the training images
SMALL_EPOCHS = 60          # parts b–e: epochs over the N_SMALL images

# %% id="data"
import gzip
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(SEED)
torch.set_num_threads(1)   # small batches: one thread is fastest (and notebooks are graded side by side)
FASHION = Path(DATA_DIR) / "fashion_mnist"
CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']


from fashion_mnist import read_idx  # INCLUDE


def to_input(images):
    """uint8 images (N, 28, 28) -> float32 tensor (N, 1, 28, 28) in [0, 1]: what every model takes."""
    return torch.tensor(np.asarray(images), dtype=torch.float32).div(255).reshape(-1, 1, 28, 28)


images = read_idx(FASHION / "train-images-idx3-ubyte.gz")
labels = read_idx(FASHION / "train-labels-idx1-ubyte.gz").astype(np.int64)
N_VAL = len(images) // 10                      # validation: the last tenth of the training images
X_train, y_train = to_input(images[:-N_VAL]), torch.tensor(labels[:-N_VAL])
X_val, y_val = to_input(images[-N_VAL:]), torch.tensor(labels[-N_VAL:])
N_SMALL = 500                                  # parts b–e train on these first images (keep it)
X_small, y_small = X_train[:N_SMALL], y_train[:N_SMALL]
print("train", tuple(X_train.shape), "validation", tuple(X_val.shape), "small", tuple(X_small.shape))


# %% id="helpers"
def accuracy(model, X, y):
    model.eval()
    with torch.no_grad():
        return (model(X).argmax(1) == y).float().mean().item()


def fit(model, optimizer, X, y, epochs, batch_size=32, augment=None, penalty=None):
    """Mini-batch training with `criterion`; `augment(batch)` transforms each batch, `penalty(model)`
    is added to the loss.  Returns the training and validation loss of every epoch."""
    history = {"train": [], "val": []}
    # BEGIN PROMPT
    # # TODO: for every epoch, for every shuffled mini-batch of X, y: augment it (when `augment` is
    # # given), compute the loss with `criterion` (+ penalty(model) when given), backpropagate and step
    # # the optimizer; then append the epoch's training and validation loss to `history`.
    # raise NotImplementedError("fit")
    # END PROMPT
    # BEGIN SOLUTION
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(X))
        total = 0.0
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            xb = X[batch] if augment is None else augment(X[batch])
            loss = criterion(model(xb), y[batch])
            if penalty is not None:
                loss = loss + penalty(model)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        model.eval()
        with torch.no_grad():
            history["val"].append(criterion(model(X_val), y_val).item())
        history["train"].append(total / len(X))
    # END SOLUTION
    return history


# %% [markdown] id="a-md"
# ## الف — مدل MLP / (a) the MLP
#
# <div dir="rtl">
#
# مدل خود را تعریف کنید (تعداد لایه‌ها و نورون‌ها به انتخاب شما؛ فقط `nn.Linear` و تابع فعال‌سازی)، تابع ضرر
# `nn.CrossEntropyLoss` و بهینه‌ساز `torch.optim.SGD` را بسازید، مدل را آموزش دهید و خروجی آن را برای چند تصویر
# اعتبارسنجی با برچسب واقعی مقایسه کنید.
#
# </div>
#
# Define your MLP (`nn.Linear` and activations only), `criterion` (`nn.CrossEntropyLoss`) and
# `optimizer` (`torch.optim.SGD`); train it and compare its output on a few validation images with
# their labels.

# %% id="a"
# BEGIN PROMPT
# # TODO (a): your MLP, the loss and the optimizer, then train and test
# # model = nn.Sequential(...)
# # criterion = ...
# # optimizer = ...
# # history_a = fit(model, optimizer, X_train, y_train, EPOCHS)
# END PROMPT
# BEGIN SOLUTION
torch.manual_seed(SEED)
model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
history_a = fit(model, optimizer, X_train, y_train, EPOCHS, batch_size=64)
print(f"validation accuracy: {accuracy(model, X_val, y_val):.3f}")

model.eval()
with torch.no_grad():
    predicted = model(X_val[:8]).argmax(1)
for p, t in zip(predicted.tolist(), y_val[:8].tolist()):
    print(f"predicted {CLASSES[p]:12s} true {CLASSES[t]}")
# END SOLUTION

# %% [markdown] id="b-md"
# ## ب — بیش‌برازش / (b) overfitting
#
# <div dir="rtl">
#
# مدل را طوری تغییر دهید که دچار بیش‌برازش شود (`overfit_model`، روی `X_small`)، دلیل آن را توضیح دهید و نموداری
# رسم کنید که خطای آموزش و اعتبارسنجی را مقایسه کند.
#
# </div>
#
# Change the model so that it overfits (`overfit_model`, trained on `X_small`), explain why, and plot
# its training and validation loss.

# %% id="b"
# BEGIN PROMPT
# # TODO (b): overfit_model = ...  (train it on X_small, y_small for SMALL_EPOCHS epochs and plot the
# # training and validation loss)
# END PROMPT
# BEGIN SOLUTION
def big_mlp(dropout=0.0):
    """Far more weights than 500 images can pin down: it memorises them."""
    layers = [nn.Flatten(), nn.Linear(784, 256), nn.ReLU()]
    layers += [nn.Dropout(dropout)] if dropout else []
    layers += [nn.Linear(256, 256), nn.ReLU()]
    layers += [nn.Dropout(dropout)] if dropout else []
    return nn.Sequential(*layers, nn.Linear(256, 10))


def report(name, model, history):
    print(f"{name}: train accuracy {accuracy(model, X_small, y_small):.3f}, "
          f"validation accuracy {accuracy(model, X_val, y_val):.3f}")
    plt.figure(figsize=(5, 3))
    plt.plot(history["train"], label="train")
    plt.plot(history["val"], label="validation")
    plt.xlabel("epoch")
    plt.ylabel("loss")
    plt.title(name)
    plt.legend()
    plt.show()


torch.manual_seed(SEED)
overfit_model = big_mlp()
history_b = fit(overfit_model, torch.optim.SGD(overfit_model.parameters(), lr=0.05, momentum=0.9),
                X_small, y_small, SMALL_EPOCHS)
report("overfit_model", overfit_model, history_b)
# END SOLUTION

# %% [markdown] id="c-md"
# ## پ — داده‌افزایی / (c) data augmentation
#
# <div dir="rtl">
#
# فقط با داده‌افزایی (دست‌کم دو تبدیل) شبکهٔ بیش‌برازش‌شدهٔ بخش ب را بهبود دهید (`augmented_model`: همان شبکه،
# همان داده) و نتیجه را تحلیل کنید.
#
# </div>
#
# Improve the overfitting network of (b) with data augmentation only — at least two transformations
# (`augmented_model`: the same network, the same images) — and analyse the result.

# %% id="c"
# BEGIN PROMPT
# # TODO (c): augmented_model = ...  (the network of (b), trained with data augmentation only)
# END PROMPT
# BEGIN SOLUTION
def augment(xb, shift=2):
    """A random shift of up to `shift` pixels and a random horizontal flip, drawn for each image."""
    padded = nn.functional.pad(xb, (shift, shift, shift, shift))
    offsets = torch.randint(0, 2 * shift + 1, (len(xb), 2)).tolist()
    out = torch.stack([padded[i, :, dy:dy + 28, dx:dx + 28] for i, (dy, dx) in enumerate(offsets)])
    flip = torch.rand(len(xb)) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


torch.manual_seed(SEED)
augmented_model = big_mlp()
history_c = fit(augmented_model, torch.optim.SGD(augmented_model.parameters(), lr=0.05, momentum=0.9),
                X_small, y_small, SMALL_EPOCHS, augment=augment)
report("augmented_model", augmented_model, history_c)
# END SOLUTION

# %% [markdown] id="d-md"
# ## ت — منظم‌سازی L1 یا L2 / (d) L1 or L2 regularisation
#
# <div dir="rtl">
#
# با منظم‌سازی L1 یا L2 (به انتخاب خود) شبکهٔ بخش ب را بهبود دهید (`regularized_model`) و نتایج را تحلیل کنید.
#
# </div>
#
# Improve the network of (b) with an L1 or L2 penalty (your choice; `regularized_model`) and analyse
# the results.

# %% id="d"
# BEGIN PROMPT
# # TODO (d): regularized_model = ...  (the network of (b), trained with an L1 or L2 penalty)
# END PROMPT
# BEGIN SOLUTION
L2 = 1e-2


def l2_penalty(model):
    return L2 * sum((p ** 2).sum() for name, p in model.named_parameters() if name.endswith("weight"))


torch.manual_seed(SEED)
regularized_model = big_mlp()
# a smaller step than in (b): with the penalty the loss surface is steeper
history_d = fit(regularized_model, torch.optim.SGD(regularized_model.parameters(), lr=0.01, momentum=0.9),
                X_small, y_small, SMALL_EPOCHS, penalty=l2_penalty)
report("regularized_model", regularized_model, history_d)
# END SOLUTION

# %% [markdown] id="e-md"
# ## ث — ترکیب (امتیازی) / (e) the best combination (bonus)
#
# <div dir="rtl">
#
# با ترکیبی از داده‌افزایی، منظم‌سازی و Dropout شبکه را بهبود دهید (`best_model`) و بیان کنید کدام ترکیب بیشترین
# بهبود را می‌دهد.
#
# </div>
#
# Improve the network with a combination of augmentation, regularisation and dropout (`best_model`)
# and say which combination helps most.

# %% id="e"
# BEGIN PROMPT
# # TODO (e, bonus): best_model = ...
# END PROMPT
# BEGIN SOLUTION
def small_l2(model):
    return 1e-3 * sum((p ** 2).sum() for name, p in model.named_parameters() if name.endswith("weight"))


torch.manual_seed(SEED)
best_model = big_mlp(dropout=0.1)
history_e = fit(best_model, torch.optim.SGD(best_model.parameters(), lr=0.05, momentum=0.9),
                X_small, y_small, SMALL_EPOCHS, augment=augment, penalty=small_l2)
report("best_model", best_model, history_e)
# END SOLUTION

# %% [markdown] id="written-answers"
# ## پاسخ‌های تشریحی / Written answers
#
# <div dir="rtl">
#
# **ب** — چرا شبکه دچار بیش‌برازش شد؟ نمودار خطای آموزش و اعتبارسنجی چه نشان می‌دهد؟
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: شبکه صدها هزار وزن دارد و فقط ۵۰۰ تصویر دیده است؛ این تصاویر (و برچسب‌های نادرستشان) را حفظ می‌کند: خطای
# آموزش به صفر می‌رسد و خطای اعتبارسنجی پس از چند دوره بالا می‌رود.
# <!-- END SOLUTION -->
#
# **پ و ت** — داده‌افزایی و منظم‌سازی چه تغییری در دقت آموزش، دقت اعتبارسنجی و فاصلهٔ آن‌ها دادند و چرا؟
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: جابه‌جایی و قرینه‌سازی تصادفی هر تصویر را هر بار متفاوت نشان می‌دهد و حفظ کردن را سخت می‌کند؛ جریمهٔ L2
# وزن‌های بزرگی را که برای حفظ کردن نمونه‌های استثنایی لازم است پرهزینه می‌کند. در هر دو دقت آموزش کم و فاصله کوچک
# می‌شود.
# <!-- END SOLUTION -->
#
# **ث (امتیازی)** — کدام ترکیب بیشترین بهبود را داد؟
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: داده‌افزایی به‌همراه Dropout و جریمهٔ کوچک L2 بهترین دقت آزمون را داد؛ بیشترین سهم از داده‌افزایی است.
# <!-- END SOLUTION -->
#
# </div>
#
# (b) why does the network overfit, and what does the loss plot show?  (c, d) what did augmentation and
# the penalty change, and why?  (e, bonus) which combination helped most?  Answer under «پاسخ».
