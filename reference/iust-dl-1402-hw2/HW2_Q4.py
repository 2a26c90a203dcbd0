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
# # تمرین سری دوم — سوال ۴: مقایسهٔ بهینه‌سازها
# # Homework 2 — Question 4: comparing optimizers
#
# <div dir="rtl">
#
# کد این نوت‌بوک آماده است: سلول‌ها را به ترتیب اجرا کنید. یک شبکهٔ کوچک روی دادهٔ دومارپیچ (دو کلاس، دوبعدی) با
# چهار بهینه‌ساز (SGD، Momentum، RMSprop و Adam) و چهار نرخ یادگیری (۰٫۰۰۱، ۰٫۰۱، ۰٫۱ و ۱) آموزش می‌بیند؛ خطای هر
# اجرا در هر گام در `LOSSES[بهینه‌ساز][str(نرخ یادگیری)]` نگه داشته و در دو نمودار رسم می‌شود.
#
# - بخش خودکار (۴ نمره): نوت‌بوک بدون خطا تا انتها اجرا شود، نمودارها رسم شوند و `LOSSES` برای هر بهینه‌ساز و نرخ
#   یادگیری `STEPS` مقدار داشته باشد. کد را تغییر ندهید.
# - بخش تشریحی (۶ نمره): نتایج بهینه‌سازها را مقایسه و تحلیل کنید و توابع استفاده‌شده را توضیح دهید (سلول متنی انتها).
#
# </div>
#
# The code of this notebook is ready: run its cells in order.  A small network learns the two-spirals
# data (two classes, 2-D) with four optimizers (SGD, Momentum, RMSprop, Adam) at four learning rates
# (0.001, 0.01, 0.1, 1); each run's loss at every step is kept in `LOSSES[optimizer][str(lr)]` and
# drawn in two figures.  Automatic part (4 points): the notebook runs to the end without errors, draws
# its figures, and `LOSSES` holds `STEPS` values for every optimizer and learning rate — do not change
# the code.  Written part (6 points): compare and analyse the optimizers' results and explain the
# functions used, in the text cell at the end.

# %% id="parameters" tags=["parameters"]
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data"
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin"

# %% id="setup"
import numpy as np
import torch
import torch.nn as nn
import matplotlib.pyplot as plt

torch.set_num_threads(1)                       # tiny tensors: one thread is fastest
STEPS = 200                                    # full-batch training steps per run
LEARNING_RATES = [0.001, 0.01, 0.1, 1.0]
OPTIMIZERS = {
    "SGD": lambda params, lr: torch.optim.SGD(params, lr=lr),
    "Momentum": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
    "RMSprop": lambda params, lr: torch.optim.RMSprop(params, lr=lr),
    "Adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
}


def two_spirals(n, noise, rng):
    """n points of two interleaved spirals (labels 0 and 1) with Gaussian noise."""
    t = np.sqrt(rng.uniform(0.05, 1.0, n)) * 3 * np.pi
    label = rng.integers(0, 2, n)
    sign = np.where(label == 1, 1.0, -1.0)
    x = np.stack([sign * t * np.cos(t), sign * t * np.sin(t)], axis=1) / (3 * np.pi)
    return x + rng.normal(0, noise, x.shape), label


rng = np.random.default_rng(SEED)
x, label = two_spirals(400, 0.03, rng)
X = torch.tensor(x, dtype=torch.float32)
y = torch.tensor(label, dtype=torch.float32)
plt.figure(figsize=(4, 4))
plt.scatter(x[:, 0], x[:, 1], c=label, s=6, cmap="coolwarm")
plt.title("two spirals")
plt.show()


# %% id="train"
def make_net():
    return nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))


def run(make_optimizer, lr):
    """Train a fresh network (same initial weights every time) and return its loss at every step."""
    torch.manual_seed(SEED)
    net = make_net()
    optimizer = make_optimizer(net.parameters(), lr)
    losses = []
    for step in range(STEPS):
        loss = nn.functional.binary_cross_entropy_with_logits(net(X).squeeze(1), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


LOSSES = {name: {str(lr): run(make, lr) for lr in LEARNING_RATES} for name, make in OPTIMIZERS.items()}
for name, runs in LOSSES.items():
    print(name, {lr: round(losses[-1], 4) for lr, losses in runs.items()})

# %% id="plots"
fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
for ax, (name, runs) in zip(axes.flat, LOSSES.items()):
    for lr, losses in runs.items():
        ax.plot(losses, label=f"lr = {lr}")
    ax.set_title(name)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
fig.tight_layout()
plt.show()

plt.figure(figsize=(6, 4))
for name, runs in LOSSES.items():
    lr, losses = min(runs.items(), key=lambda item: item[1][-1])
    plt.plot(losses, label=f"{name} (lr = {lr})")
plt.yscale("log")
plt.xlabel("step")
plt.ylabel("loss")
plt.title("each optimizer at its best learning rate")
plt.legend()
plt.show()

# %% [markdown] id="analysis"
# ## تحلیل / Analysis
#
# <div dir="rtl">
#
# نتایج بهینه‌سازها را با هم مقایسه و تحلیل کنید و توابع استفاده‌شده را به‌طور کامل توضیح دهید (دستیاران آموزشی
# این بخش را تصحیح می‌کنند).
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: SGD فقط در جهت منفی گرادیان گام برمی‌دارد؛ با نرخ ۰٫۰۰۱ بسیار کند همگرا می‌شود و نرخ‌های بزرگ نوسان یا
# واگرایی می‌آورند. Momentum میانگین نمایی گرادیان‌ها را نگه می‌دارد و در جهت‌های پایدار گام‌های بلندتری برمی‌دارد،
# پس با نرخ کمتری به همان خطا می‌رسد ولی با نرخ ۱ نوسان شدید دارد. RMSprop و Adam گام هر پارامتر را با اندازهٔ
# اخیر گرادیان‌هایش مقیاس می‌کنند و به نرخ یادگیری حساسیت کمتری دارند؛ Adam تکانه را هم دارد و در این مسئله
# با نرخ ۰٫۰۱ سریع‌ترین همگرایی را دارد.
# <!-- END SOLUTION -->
#
# </div>
#
# Compare and analyse the optimizers' results and explain the functions used (graded by the TAs).
