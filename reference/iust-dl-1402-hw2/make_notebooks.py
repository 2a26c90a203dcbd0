"""Writes the notebooks of iust-dl-1402-hw2 from the cell sources below:

    reference/iust-dl-1402-hw2/HW2.template.ipynb        questions 1–3: what students start from
    reference/iust-dl-1402-hw2/HW2.ipynb                 questions 1–3: the reference solution
    reference/iust-dl-1402-hw2/HW2_Q4{.template,}.ipynb  question 4 (optimizer comparison)
    reference/iust-dl-1402-hw2/HW2_Q5{.template,}.ipynb  question 5 (FashionMNIST MLP)
    submissions/iust-dl-1402-hw2/<sample>/*.ipynb        the labelled samples (see their expected.toml)

Run `python reference/iust-dl-1402-hw2/make_notebooks.py` after editing a source; the .ipynb files
are committed.  The notebooks have no outputs.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import nbformat

from davar.authoring import PARAMETERS, code, md, notebook as assemble, parameters, write
from davar.datasets import fashion_mnist

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SAMPLES = REPO / "submissions" / HERE.name

INTRO = """\
# تمرین سری دوم — مبانی یادگیری عمیق (دکتر مرضیه داوودآبادی)
# Homework 2 — Fundamentals of Deep Learning (Dr. Marzieh Davoodabadi)

<div dir="rtl">

دانشگاه علم و صنعت ایران، نیمسال اول ۱۴۰۲-۱۴۰۳ — مهلت تحویل: ۱۶ آبان ۱۴۰۲، ساعت ۲۳:۵۹.

- پاسخ سوال‌های **۱ پ** (Dropout) و **۲ پ** (منظم‌سازی) را در همین نوت‌بوک و در دیکشنری `ANSWERS` بنویسید؛
  این پاسخ‌ها به‌طور خودکار بررسی می‌شوند.
- پاسخ سوال‌های **۱ الف و ب**، **۲ الف و ب** و **۳** تشریحی است؛ آن‌ها را در سلول‌های متنی انتهای نوت‌بوک
  بنویسید. دستیاران آموزشی این پاسخ‌ها را تصحیح می‌کنند.
- سوال‌های ۴ و ۵ نوت‌بوک‌های جداگانهٔ خود را دارند.
- ساختار `ANSWERS` را تغییر ندهید. نوت‌بوک باید از ابتدا تا انتها بدون خطا اجرا شود و به اینترنت یا
  فایل‌های بیرون از آن نیازی نداشته باشد. فقط از numpy استفاده کنید.

</div>

Write the answers of questions **1c** (dropout) and **2c** (regularisation) in this notebook, in the
`ANSWERS` dict: they are checked automatically.  Questions **1a–b**, **2a–b** and **3** are written
answers for the TAs: use the text cells at the end.  Questions 4 and 5 have their own notebooks.
Keep the structure of `ANSWERS`; the notebook must run from top to bottom without errors and without
the internet or files from outside it.  numpy is all you need."""

ANSWERS = """\
import numpy as np

# Your answers.  Replace every None; keep the keys.
# پاسخ‌های شما: به‌جای هر None مقدار درست را بگذارید و کلیدها را تغییر ندهید.
ANSWERS = {
    "q1c": {
        # each a 4×4 nested list (or numpy array): the layer's values after dropout
        "standard": {"train": None, "test": None},
        "inverted": {"train": None, "test": None},
    },
    "q2c": {
        # each one of "none", "L1", "L2"
        "W_exp1": None,
        "W_exp2": None,
        "W_exp3": None,
        "W_exp4": None,
    },
}"""

Q1C_MD = """\
## سوال ۱ پ — Dropout / Question 1c — dropout

<div dir="rtl">

یکی از راه‌های جلوگیری از بیش‌برازش استفاده از Dropout است. فرض کنید مقادیر یکی از لایه‌های یک شبکهٔ عصبی
(`OUTPUT`) و ماسک Dropout (`MASK`) به صورت زیر باشند. مقادیر نهایی این لایه بعد از اعمال Dropout را در
مرحلهٔ آموزش و آزمون، یک بار برای Dropout معمولی و یک بار برای Dropout معکوس (Inverted Dropout)، محاسبه
کنید و در `ANSWERS["q1c"]` بنویسید. احتمال نگه‌داشتن `p` را از روی ماسک به دست آورید.

</div>

A layer's values (`OUTPUT`) and a dropout mask (`MASK`) are given below.  Compute the layer's values
after dropout in training and at test time, for standard and for inverted dropout, and write the
four tables in `ANSWERS["q1c"]`.  Take the keep-probability `p` from the mask.

| OUTPUT | | | | | MASK | | | |
|---|---|---|---|---|---|---|---|---|
| 1.6 | -0.7 | -0.2 | 1.9 | | 1 | 0 | 0 | 1 |
| -2.3 | 2.5 | 2.5 | -0.9 | | 0 | 1 | 1 | 0 |
| -0.5 | 3.2 | 3.7 | -0.4 | | 0 | 1 | 1 | 0 |
| 1.3 | -0.4 | -2.6 | 1.2 | | 1 | 0 | 0 | 1 |"""

Q1C_DATA = """\
OUTPUT = np.array([[1.6, -0.7, -0.2, 1.9],
                   [-2.3, 2.5, 2.5, -0.9],
                   [-0.5, 3.2, 3.7, -0.4],
                   [1.3, -0.4, -2.6, 1.2]])
MASK = np.array([[1, 0, 0, 1],
                 [0, 1, 1, 0],
                 [0, 1, 1, 0],
                 [1, 0, 0, 1]])"""

Q1C_STUB = """\
# TODO: p from the mask, then the four tables, e.g.
# p = ...
# ANSWERS["q1c"]["standard"]["train"] = (...).tolist()"""

Q1C_SOLUTION = """\
# p = cells kept (1 in the mask) / all cells
p = MASK.sum() / MASK.size
print("p =", p)

# standard dropout: drop in training, scale by p at test time
ANSWERS["q1c"]["standard"]["train"] = (OUTPUT * MASK + 0.0).tolist()
ANSWERS["q1c"]["standard"]["test"] = (OUTPUT * p).tolist()
# inverted dropout: drop and scale by 1/p in training, nothing changes at test time
ANSWERS["q1c"]["inverted"]["train"] = (OUTPUT * MASK / p + 0.0).tolist()
ANSWERS["q1c"]["inverted"]["test"] = OUTPUT.tolist()

for kind in ("standard", "inverted"):
    for phase in ("train", "test"):
        print(kind, phase)
        print(np.array(ANSWERS["q1c"][kind][phase]))"""

# The official key's four tables, typed in as the seed writes them (mistakes included).
Q1C_SEED_TABLES = """\
p = 8 / 16
ANSWERS["q1c"]["standard"]["train"] = [[1.6, 0, 0, 1.9], [0, 2.5, 2.5, 0], [0, 3.2, 3.7, 0], [1.3, 0, 0, 1.2]]
ANSWERS["q1c"]["standard"]["test"] = [[0.8, -0.35, -0.1, 1.9], [-1.15, 1.25, 1.25, -0.45],
                                      [-0.25, 1.6, 1.85, -0.2], [0.65, -0.2, -1.3, 0.6]]
ANSWERS["q1c"]["inverted"]["train"] = [[2.3, 0, 0, 3.8], [0, 5, 5, 0], [0, 7.4, 6.4, 0], [2.4, 0, 0, 2.6]]
ANSWERS["q1c"]["inverted"]["test"] = [[1.6, -0.7, -0.2, 1.9], [-2.3, 2.5, 2.5, -0.9],
                                      [-0.5, 3.2, 3.7, -0.4], [1.3, -0.4, -2.6, 1.2]]"""

Q2C_MD = """\
## سوال ۲ پ — منظم‌سازی L1 و L2 / Question 2c — L1 and L2 regularisation

<div dir="rtl">

فرض کنید مدلی داریم و برای جلوگیری از بیش‌برازش می‌خواهیم از منظم‌سازی L1 و L2 استفاده کنیم. برای این کار
چهار آزمایش اجرا کرده‌ایم و وزن‌های به دست آمده در زیر آمده‌اند. مشخص کنید در هر آزمایش از کدام منظم‌سازی
استفاده شده است: `"none"` (بدون منظم‌سازی)، `"L1"` یا `"L2"`، و پاسخ را در `ANSWERS["q2c"]` بنویسید. دلیل
انتخاب خود را در یک سلول متنی توضیح دهید.

</div>

Four experiments gave the weights below.  Which regularisation did each use: `"none"`, `"L1"` or
`"L2"`?  Write the choices in `ANSWERS["q2c"]` and explain them in a text cell.

- W_exp1 = [0.26, 0.25, 0.25, 0.25]
- W_exp2 = [1, 0, 0, 0]
- W_exp3 = [13.3, 23.5, 53.2, 5.1]
- W_exp4 = [0.5, 1.2, 8.5, 0]"""

Q2C_STUB = """\
# TODO: "none", "L1" or "L2" for each experiment
# ANSWERS["q2c"]["W_exp1"] = ..."""


def _q2c(exp1: str = "L2") -> str:
    return f"""\
# L1 drives weights exactly to 0 (sparse); L2 shrinks all of them towards small, similar values;
# large weights with no zero among them were not regularised.
ANSWERS["q2c"]["W_exp1"] = "{exp1}"    # [0.26, 0.25, 0.25, 0.25]: small and even, none zero
ANSWERS["q2c"]["W_exp2"] = "L1"    # [1, 0, 0, 0]: all but one exactly zero
ANSWERS["q2c"]["W_exp3"] = "none"  # [13.3, 23.5, 53.2, 5.1]: large
ANSWERS["q2c"]["W_exp4"] = "L1"    # [0.5, 1.2, 8.5, 0]: smaller than 3, with an exact zero
print(ANSWERS["q2c"])"""


MANUAL_MD = """\
## پاسخ‌های تشریحی / Written answers

<div dir="rtl">

**سوال ۱ الف و ب** — مشکل بیش‌برازش و کم‌برازش در شبکه‌های عصبی؛ تشخیص بیش‌برازش مدلی که قبلاً آموزش دیده است.

پاسخ:

**سوال ۲ الف و ب** — اثر K بر بایاس و واریانس در KNN؛ درست یا غلط بودن سه گزاره دربارهٔ منظم‌سازی، با دلیل؛
و دلیل انتخاب‌های سوال ۲ پ.

پاسخ:

**سوال ۳ (۱۵ نمره)** — تقطیر دانش چیست و به چه منظور استفاده می‌شود؛ روند یادگیری معماری معلم و شاگرد؛
وزن‌های شبکهٔ شاگرد با کدام تابع ضرر به‌روزرسانی می‌شوند.

پاسخ:

</div>

Q1a–b, Q2a–b (with the reasons for 2c) and Q3 (15): write your answers above, under «پاسخ» (English
is fine too)."""

REFERENCE_MANUAL_MD = MANUAL_MD.replace("پاسخ:\n\n**سوال ۲", """\
پاسخ: بیش‌برازش یعنی مدل داده‌های آموزشی (و نویز آن‌ها) را بیش از اندازه یاد گرفته و قابلیت تعمیم ندارد
(بایاس کم، واریانس زیاد)؛ کم‌برازش یعنی مدل حتی رابطهٔ داده‌های آموزشی را هم یاد نگرفته (بایاس زیاد، واریانس
کم). بیش‌برازش از مقایسهٔ خطای آموزش و آزمون تشخیص داده می‌شود؛ بدون اطلاعات فرایند آموزش نمی‌توان دربارهٔ
آن قضاوت کرد.

**سوال ۲""").replace("پاسخ:\n\n**سوال ۳", """\
پاسخ: K کوچک (مثلاً ۱): بایاس کم و واریانس زیاد (بیش‌برازش)؛ با بزرگ شدن K بایاس زیاد و واریانس کم می‌شود.
گزاره‌ها: ۱) درست — لاندای نامناسب به کم‌برازش یا بیش‌برازش می‌انجامد؛ ۲) غلط — ویژگی‌های زیاد مدل را
پیچیده‌تر و بیش‌برازش را محتمل‌تر می‌کند؛ ۳) غلط — ضریب بزرگ‌تر بیش‌برازش را کم می‌کند (و ممکن است به
کم‌برازش برسد). ۲ پ: L1 وزن‌ها را دقیقاً صفر می‌کند (آزمایش ۲ و ۴)، L2 همهٔ وزن‌ها را کوچک و نزدیک به هم
می‌کند (آزمایش ۱)، و وزن‌های بزرگ آزمایش ۳ نشان می‌دهد منظم‌سازی نداشته است.

**سوال ۳""").replace("پاسخ:\n\n</div>", """\
پاسخ: تقطیر دانش انتقال دانش یک شبکهٔ بزرگ (معلم) به شبکه‌ای کوچک‌تر (شاگرد) است تا با توان محاسباتی کمتر
اجرا شود. وزن‌های معلم ثابت‌اند؛ یک ورودی به هر دو شبکه داده می‌شود و شاگرد با مجموع دو خطا آموزش می‌بیند:
خطای دسته‌بندی (مثلاً categorical cross-entropy) و خطای شباهت خروجی یا ویژگی‌های آن به معلم.

</div>""")


def notebook(*, q1c: str, q2c: str, manual: str = MANUAL_MD,
             extra: tuple[int, nbformat.NotebookNode] | None = None) -> nbformat.NotebookNode:
    cells = [
        md(INTRO, "intro"),
        parameters(),
        code(ANSWERS, "answers"),
        md(Q1C_MD, "q1c-md"),
        code(Q1C_DATA, "q1c-data"),
        code(q1c, "q1c-answer"),
        md(Q2C_MD, "q2c-md"),
        code(q2c, "q2c-answer"),
        md(manual, "written-answers"),
    ]
    if extra:
        cells.insert(*extra)
    return assemble(*cells)


# ================================================================ question 4: optimizer comparison

Q4_INTRO = """\
# تمرین سری دوم — سوال ۴: مقایسهٔ بهینه‌سازها
# Homework 2 — Question 4: comparing optimizers

<div dir="rtl">

کد این نوت‌بوک آماده است: سلول‌ها را به ترتیب اجرا کنید. یک شبکهٔ کوچک روی دادهٔ دومارپیچ (دو کلاس، دوبعدی) با
چهار بهینه‌ساز (SGD، Momentum، RMSprop و Adam) و چهار نرخ یادگیری (۰٫۰۰۱، ۰٫۰۱، ۰٫۱ و ۱) آموزش می‌بیند؛ خطای هر
اجرا در هر گام در `LOSSES[بهینه‌ساز][str(نرخ یادگیری)]` نگه داشته و در دو نمودار رسم می‌شود.

- بخش خودکار (۴ نمره): نوت‌بوک بدون خطا تا انتها اجرا شود، نمودارها رسم شوند و `LOSSES` برای هر بهینه‌ساز و نرخ
  یادگیری `STEPS` مقدار داشته باشد. کد را تغییر ندهید.
- بخش تشریحی (۶ نمره): نتایج بهینه‌سازها را مقایسه و تحلیل کنید و توابع استفاده‌شده را توضیح دهید (سلول متنی انتها).

</div>

The code of this notebook is ready: run its cells in order.  A small network learns the two-spirals
data (two classes, 2-D) with four optimizers (SGD, Momentum, RMSprop, Adam) at four learning rates
(0.001, 0.01, 0.1, 1); each run's loss at every step is kept in `LOSSES[optimizer][str(lr)]` and
drawn in two figures.  Automatic part (4 points): the notebook runs to the end without errors, draws
its figures, and `LOSSES` holds `STEPS` values for every optimizer and learning rate — do not change
the code.  Written part (6 points): compare and analyse the optimizers' results and explain the
functions used, in the text cell at the end."""

Q4_SETUP = """\
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
    \"\"\"n points of two interleaved spirals (labels 0 and 1) with Gaussian noise.\"\"\"
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
plt.show()"""

Q4_TRAIN = """\
def make_net():
    return nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))


def run(make_optimizer, lr):
    \"\"\"Train a fresh network (same initial weights every time) and return its loss at every step.\"\"\"
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
    print(name, {lr: round(losses[-1], 4) for lr, losses in runs.items()})"""

Q4_PLOTS = """\
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
plt.show()"""

# The planted-wrong sample prints a table instead of drawing the figures.
Q4_TABLE = """\
for name, runs in LOSSES.items():
    for lr, losses in runs.items():
        print(f"{name:8s} lr={lr:6s} first={losses[0]:.4f} last={losses[-1]:.4f}")"""

Q4_ANALYSIS = """\
## تحلیل / Analysis

<div dir="rtl">

نتایج بهینه‌سازها را با هم مقایسه و تحلیل کنید و توابع استفاده‌شده را به‌طور کامل توضیح دهید (دستیاران آموزشی
این بخش را تصحیح می‌کنند).

پاسخ:

</div>

Compare and analyse the optimizers' results and explain the functions used (graded by the TAs)."""

Q4_ANALYSIS_REFERENCE = Q4_ANALYSIS.replace("پاسخ:", """\
پاسخ: SGD فقط در جهت منفی گرادیان گام برمی‌دارد؛ با نرخ ۰٫۰۰۱ بسیار کند همگرا می‌شود و نرخ‌های بزرگ نوسان یا
واگرایی می‌آورند. Momentum میانگین نمایی گرادیان‌ها را نگه می‌دارد و در جهت‌های پایدار گام‌های بلندتری برمی‌دارد،
پس با نرخ کمتری به همان خطا می‌رسد ولی با نرخ ۱ نوسان شدید دارد. RMSprop و Adam گام هر پارامتر را با اندازهٔ
اخیر گرادیان‌هایش مقیاس می‌کنند و به نرخ یادگیری حساسیت کمتری دارند؛ Adam تکانه را هم دارد و در این مسئله
با نرخ ۰٫۰۱ سریع‌ترین همگرایی را دارد.""")


def q4_notebook(*, plots: str = Q4_PLOTS, analysis: str = Q4_ANALYSIS) -> nbformat.NotebookNode:
    return assemble(md(Q4_INTRO, "intro"), parameters(), code(Q4_SETUP, "setup"), code(Q4_TRAIN, "train"),
                    code(plots, "plots"), md(analysis, "analysis"))


# ================================================================ question 5: FashionMNIST MLP

Q5_PARAMETERS = PARAMETERS + """
EPOCHS = 15                # part a: epochs over the training images
SMALL_EPOCHS = 60          # parts b–e: epochs over the N_SMALL images"""

Q5_INTRO = """\
# تمرین سری دوم — سوال ۵: شبکهٔ MLP برای FashionMNIST
# Homework 2 — Question 5: an MLP for FashionMNIST

<div dir="rtl">

هدف، آموزش یک شبکهٔ سادهٔ MLP با PyTorch روی مجموعه‌دادهٔ FashionMNIST است (۴۰ نمره و ۱۵ نمرهٔ امتیازی).
داده از فایل‌های IDX در `DATA_DIR/fashion_mnist` خوانده می‌شود؛ برچسب‌های دادهٔ آزمون در دسترس نیست و داور
مدل‌های شما را خودش روی دادهٔ آزمون پنهان ارزیابی می‌کند. دادهٔ اعتبارسنجی از انتهای دادهٔ آموزشی جدا شده است.

نام‌هایی که داور به دنبال آن‌ها می‌گردد (آن‌ها را تغییر ندهید):

| بخش | نام | چه چیزی بررسی می‌شود |
|---|---|---|
| الف | `model`، `criterion`، `optimizer` | فقط لایه‌های `nn.Linear` و تابع فعال‌سازی (و `nn.Flatten`)؛ `nn.CrossEntropyLoss`؛ `torch.optim.SGD`؛ دقت روی دادهٔ آزمون |
| ب | `overfit_model` | فاصلهٔ دقت آموزش و آزمون (بیش‌برازش) |
| پ | `augmented_model` | همان شبکهٔ ب که فقط با داده‌افزایی آموزش دیده؛ فاصله باید کم شود |
| ت | `regularized_model` | همان شبکهٔ ب با منظم‌سازی L1 یا L2؛ فاصله باید کم شود |
| ث (امتیازی) | `best_model` | ترکیب داده‌افزایی، منظم‌سازی و Dropout؛ فاصلهٔ کمتر و دقت آزمون بهتر از ب |

- ورودی هر مدل تنسور float32 با شکل `(N, 1, 28, 28)` و مقادیر بین ۰ و ۱ است (خروجی `to_input`) و خروجی آن
  ۱۰ عدد (logit) برای هر تصویر. اگر نرمال‌سازی دیگری می‌خواهید آن را داخل مدل بگذارید.
- مدل‌های ب تا ث را فقط روی `N_SMALL` تصویر اول دادهٔ آموزشی (`X_small`، `y_small`) آموزش دهید؛ داور دقت آموزش
  را روی همین تصاویر و دقت آزمون را روی دادهٔ پنهان می‌سنجد و فاصله = دقت آموزش − دقت آزمون.
- از `EPOCHS` و `SMALL_EPOCHS` برای تعداد دوره‌ها استفاده کنید (داور هنگام اجرا مقدار آن‌ها را تعیین می‌کند).
- فقط از numpy، PyTorch و matplotlib استفاده کنید (بدون torchvision و بدون اینترنت).
- توضیح‌ها و تحلیل‌ها (دلیل بیش‌برازش، نمودار خطای آموزش و آزمون، تحلیل پ و ت و ث) را در سلول‌های متنی بنویسید؛
  دستیاران آموزشی آن‌ها را تصحیح می‌کنند.

</div>

Train a simple MLP on FashionMNIST with PyTorch (40 points, 15 bonus).  The data is read from the IDX
files in `DATA_DIR/fashion_mnist`; the test labels are not available: the grader evaluates your models
on the hidden test set itself.  The validation set is split off the end of the training images.
The names the grader looks for (keep them):

- (a) `model` (only `nn.Linear` and activation layers, plus `nn.Flatten`), `criterion`
  (`nn.CrossEntropyLoss`), `optimizer` (`torch.optim.SGD`); its test accuracy is measured.
- (b) `overfit_model`: an MLP that overfits — a clear gap between training and test accuracy.
- (c) `augmented_model`: the network of (b) trained with data augmentation only; the gap must shrink.
- (d) `regularized_model`: the network of (b) trained with an L1 or L2 penalty; the gap must shrink.
- (e, bonus) `best_model`: a combination of augmentation, regularisation and dropout; smaller gap and
  better test accuracy than (b).

Every model takes a float32 tensor `(N, 1, 28, 28)` with values in [0, 1] (what `to_input` returns)
and returns 10 logits per image; put any other normalisation inside the model.  Train the models of
(b)–(e) on the first `N_SMALL` training images only (`X_small`, `y_small`): the grader measures their
training accuracy on those images and their test accuracy on the hidden set; gap = training −
test accuracy.  Use `EPOCHS` and `SMALL_EPOCHS` for the number of epochs (the grader sets them).
numpy, PyTorch and matplotlib only (no torchvision, no internet).  Write the explanations and
analyses (why (b) overfits, its training/validation loss plot, the analysis of (c), (d), (e)) in the
text cells: the TAs grade them."""

Q5_DATA = f"""\
import gzip
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(SEED)
torch.set_num_threads(1)   # small batches: one thread is fastest (and notebooks are graded side by side)
FASHION = Path(DATA_DIR) / "fashion_mnist"
CLASSES = {list(fashion_mnist.CLASSES)!r}


{inspect.getsource(fashion_mnist.read_idx).strip()}


def to_input(images):
    \"\"\"uint8 images (N, 28, 28) -> float32 tensor (N, 1, 28, 28) in [0, 1]: what every model takes.\"\"\"
    return torch.tensor(np.asarray(images), dtype=torch.float32).div(255).reshape(-1, 1, 28, 28)


images = read_idx(FASHION / "train-images-idx3-ubyte.gz")
labels = read_idx(FASHION / "train-labels-idx1-ubyte.gz").astype(np.int64)
N_VAL = len(images) // 10                      # validation: the last tenth of the training images
X_train, y_train = to_input(images[:-N_VAL]), torch.tensor(labels[:-N_VAL])
X_val, y_val = to_input(images[-N_VAL:]), torch.tensor(labels[-N_VAL:])
N_SMALL = 500                                  # parts b–e train on these first images (keep it)
X_small, y_small = X_train[:N_SMALL], y_train[:N_SMALL]
print("train", tuple(X_train.shape), "validation", tuple(X_val.shape), "small", tuple(X_small.shape))"""

Q5_HELPERS = """\
def accuracy(model, X, y):
    model.eval()
    with torch.no_grad():
        return (model(X).argmax(1) == y).float().mean().item()


def fit(model, optimizer, X, y, epochs, batch_size=32, augment=None, penalty=None):
    \"\"\"Mini-batch training with `criterion`; `augment(batch)` transforms each batch, `penalty(model)`
    is added to the loss.  Returns the training and validation loss of every epoch.\"\"\"
    history = {"train": [], "val": []}
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
    return history"""

Q5_HELPERS_STUB = """\
def accuracy(model, X, y):
    model.eval()
    with torch.no_grad():
        return (model(X).argmax(1) == y).float().mean().item()


def fit(model, optimizer, X, y, epochs, batch_size=32, augment=None, penalty=None):
    \"\"\"Mini-batch training with `criterion`; `augment(batch)` transforms each batch, `penalty(model)`
    is added to the loss.  Returns the training and validation loss of every epoch.\"\"\"
    history = {"train": [], "val": []}
    # TODO: for every epoch, for every shuffled mini-batch of X, y: augment it (when `augment` is
    # given), compute the loss with `criterion` (+ penalty(model) when given), backpropagate and step
    # the optimizer; then append the epoch's training and validation loss to `history`.
    raise NotImplementedError("fit")
    return history"""

Q5_A_MD = """\
## الف — مدل MLP / (a) the MLP

<div dir="rtl">

مدل خود را تعریف کنید (تعداد لایه‌ها و نورون‌ها به انتخاب شما؛ فقط `nn.Linear` و تابع فعال‌سازی)، تابع ضرر
`nn.CrossEntropyLoss` و بهینه‌ساز `torch.optim.SGD` را بسازید، مدل را آموزش دهید و خروجی آن را برای چند تصویر
اعتبارسنجی با برچسب واقعی مقایسه کنید.

</div>

Define your MLP (`nn.Linear` and activations only), `criterion` (`nn.CrossEntropyLoss`) and
`optimizer` (`torch.optim.SGD`); train it and compare its output on a few validation images with
their labels."""

Q5_A = """\
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
    print(f"predicted {CLASSES[p]:12s} true {CLASSES[t]}")"""

# planted wrong: a convolution sneaks into the "MLP", and Adam in place of SGD
Q5_A_CONV_ADAM = Q5_A.replace(
    "nn.Sequential(nn.Flatten(), nn.Linear(784, 256)",
    "nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 784, 256)").replace(
    "torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)", "torch.optim.Adam(model.parameters(), lr=0.001)")

Q5_A_STUB = """\
# TODO (a): your MLP, the loss and the optimizer, then train and test
# model = nn.Sequential(...)
# criterion = ...
# optimizer = ...
# history_a = fit(model, optimizer, X_train, y_train, EPOCHS)"""

Q5_B_MD = """\
## ب — بیش‌برازش / (b) overfitting

<div dir="rtl">

مدل را طوری تغییر دهید که دچار بیش‌برازش شود (`overfit_model`، روی `X_small`)، دلیل آن را توضیح دهید و نموداری
رسم کنید که خطای آموزش و اعتبارسنجی را مقایسه کند.

</div>

Change the model so that it overfits (`overfit_model`, trained on `X_small`), explain why, and plot
its training and validation loss."""

Q5_B = """\
def big_mlp(dropout=0.0):
    \"\"\"Far more weights than 500 images can pin down: it memorises them.\"\"\"
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
report("overfit_model", overfit_model, history_b)"""

Q5_B_STUB = """\
# TODO (b): overfit_model = ...  (train it on X_small, y_small for SMALL_EPOCHS epochs and plot the
# training and validation loss)"""

Q5_C_MD = """\
## پ — داده‌افزایی / (c) data augmentation

<div dir="rtl">

فقط با داده‌افزایی (دست‌کم دو تبدیل) شبکهٔ بیش‌برازش‌شدهٔ بخش ب را بهبود دهید (`augmented_model`: همان شبکه،
همان داده) و نتیجه را تحلیل کنید.

</div>

Improve the overfitting network of (b) with data augmentation only — at least two transformations
(`augmented_model`: the same network, the same images) — and analyse the result."""

Q5_C = """\
def augment(xb, shift=2):
    \"\"\"A random shift of up to `shift` pixels and a random horizontal flip, drawn for each image.\"\"\"
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
report("augmented_model", augmented_model, history_c)"""

Q5_C_STUB = """\
# TODO (c): augmented_model = ...  (the network of (b), trained with data augmentation only)"""

Q5_D_MD = """\
## ت — منظم‌سازی L1 یا L2 / (d) L1 or L2 regularisation

<div dir="rtl">

با منظم‌سازی L1 یا L2 (به انتخاب خود) شبکهٔ بخش ب را بهبود دهید (`regularized_model`) و نتایج را تحلیل کنید.

</div>

Improve the network of (b) with an L1 or L2 penalty (your choice; `regularized_model`) and analyse
the results."""

Q5_D = """\
L2 = 1e-2


def l2_penalty(model):
    return L2 * sum((p ** 2).sum() for name, p in model.named_parameters() if name.endswith("weight"))


torch.manual_seed(SEED)
regularized_model = big_mlp()
# a smaller step than in (b): with the penalty the loss surface is steeper
history_d = fit(regularized_model, torch.optim.SGD(regularized_model.parameters(), lr=0.01, momentum=0.9),
                X_small, y_small, SMALL_EPOCHS, penalty=l2_penalty)
report("regularized_model", regularized_model, history_d)"""

# planted wrong: a penalty so strong that the network learns nothing (the gap is gone, and so is the model)
Q5_D_COLLAPSED = Q5_D.replace("L2 = 1e-2", "L2 = 1.0")

Q5_D_STUB = """\
# TODO (d): regularized_model = ...  (the network of (b), trained with an L1 or L2 penalty)"""

Q5_E_MD = """\
## ث — ترکیب (امتیازی) / (e) the best combination (bonus)

<div dir="rtl">

با ترکیبی از داده‌افزایی، منظم‌سازی و Dropout شبکه را بهبود دهید (`best_model`) و بیان کنید کدام ترکیب بیشترین
بهبود را می‌دهد.

</div>

Improve the network with a combination of augmentation, regularisation and dropout (`best_model`)
and say which combination helps most."""

Q5_E = """\
def small_l2(model):
    return 1e-3 * sum((p ** 2).sum() for name, p in model.named_parameters() if name.endswith("weight"))


torch.manual_seed(SEED)
best_model = big_mlp(dropout=0.1)
history_e = fit(best_model, torch.optim.SGD(best_model.parameters(), lr=0.05, momentum=0.9),
                X_small, y_small, SMALL_EPOCHS, augment=augment, penalty=small_l2)
report("best_model", best_model, history_e)"""

Q5_E_STUB = """\
# TODO (e, bonus): best_model = ..."""

# crashes: a typo in the augmentation cell (a name that was never defined) stops the notebook after (b)
Q5_C_TYPO = Q5_C.replace("X_small, y_small, SMALL_EPOCHS, augment=augment)", "X_small, y_small, SMALL_EPOCHS, augment=augmnet)")

Q5_WRITTEN = """\
## پاسخ‌های تشریحی / Written answers

<div dir="rtl">

**ب** — چرا شبکه دچار بیش‌برازش شد؟ نمودار خطای آموزش و اعتبارسنجی چه نشان می‌دهد؟

پاسخ:

**پ و ت** — داده‌افزایی و منظم‌سازی چه تغییری در دقت آموزش، دقت اعتبارسنجی و فاصلهٔ آن‌ها دادند و چرا؟

پاسخ:

**ث (امتیازی)** — کدام ترکیب بیشترین بهبود را داد؟

پاسخ:

</div>

(b) why does the network overfit, and what does the loss plot show?  (c, d) what did augmentation and
the penalty change, and why?  (e, bonus) which combination helped most?  Answer under «پاسخ»."""

Q5_WRITTEN_REFERENCE = Q5_WRITTEN.replace("پاسخ:\n\n**پ و ت**", """\
پاسخ: شبکه صدها هزار وزن دارد و فقط ۵۰۰ تصویر دیده است؛ این تصاویر (و برچسب‌های نادرستشان) را حفظ می‌کند: خطای
آموزش به صفر می‌رسد و خطای اعتبارسنجی پس از چند دوره بالا می‌رود.

**پ و ت**""").replace("پاسخ:\n\n**ث", """\
پاسخ: جابه‌جایی و قرینه‌سازی تصادفی هر تصویر را هر بار متفاوت نشان می‌دهد و حفظ کردن را سخت می‌کند؛ جریمهٔ L2
وزن‌های بزرگی را که برای حفظ کردن نمونه‌های استثنایی لازم است پرهزینه می‌کند. در هر دو دقت آموزش کم و فاصله کوچک
می‌شود.

**ث""").replace("پاسخ:\n\n</div>", """\
پاسخ: داده‌افزایی به‌همراه Dropout و جریمهٔ کوچک L2 بهترین دقت آزمون را داد؛ بیشترین سهم از داده‌افزایی است.

</div>""")


def q5_notebook(*, helpers: str = Q5_HELPERS, a: str = Q5_A, b: str = Q5_B, c: str = Q5_C, d: str = Q5_D,
                e: str = Q5_E, written: str = Q5_WRITTEN) -> nbformat.NotebookNode:
    return assemble(
        md(Q5_INTRO, "intro"), parameters(Q5_PARAMETERS), code(Q5_DATA, "data"), code(helpers, "helpers"),
        md(Q5_A_MD, "a-md"), code(a, "a"), md(Q5_B_MD, "b-md"), code(b, "b"), md(Q5_C_MD, "c-md"), code(c, "c"),
        md(Q5_D_MD, "d-md"), code(d, "d"), md(Q5_E_MD, "e-md"), code(e, "e"), md(written, "written-answers"))


Q5_TEMPLATE = dict(helpers=Q5_HELPERS_STUB, a=Q5_A_STUB, b=Q5_B_STUB, c=Q5_C_STUB, d=Q5_D_STUB, e=Q5_E_STUB)


def build() -> dict[Path, nbformat.NotebookNode]:
    reference = {"q1c": Q1C_SOLUTION, "q2c": _q2c(), "manual": REFERENCE_MANUAL_MD}
    q4 = q4_notebook(analysis=Q4_ANALYSIS_REFERENCE)
    q5 = q5_notebook(written=Q5_WRITTEN_REFERENCE)
    return {
        HERE / "HW2.template.ipynb": notebook(q1c=Q1C_STUB, q2c=Q2C_STUB),
        HERE / "HW2.ipynb": notebook(**reference),
        HERE / "HW2_Q4.template.ipynb": q4_notebook(),
        HERE / "HW2_Q4.ipynb": q4,
        HERE / "HW2_Q5.template.ipynb": q5_notebook(**Q5_TEMPLATE),
        HERE / "HW2_Q5.ipynb": q5,
        SAMPLES / "reference_solution" / "HW2.ipynb": notebook(**reference),
        SAMPLES / "reference_solution" / "HW2_Q4.ipynb": q4,
        SAMPLES / "reference_solution" / "HW2_Q5.ipynb": q5,
        # the official key's tables typed in as the seed writes them (its standard test table and
        # inverted training table are wrong), and W_exp1 answered "L1".
        SAMPLES / "planted_wrong" / "HW2.ipynb": notebook(q1c=Q1C_SEED_TABLES, q2c=_q2c(exp1="L1")),
        # question 4 prints a table of losses in place of the figures.
        SAMPLES / "planted_wrong" / "HW2_Q4.ipynb": q4_notebook(plots=Q4_TABLE),
        # question 5: a convolution in the "MLP" and Adam for SGD (part a), an L2 penalty so strong that
        # the regularised network learns nothing (part d), and no best_model (part e left out).
        SAMPLES / "planted_wrong" / "HW2_Q5.ipynb": q5_notebook(a=Q5_A_CONV_ADAM, d=Q5_D_COLLAPSED, e=Q5_E_STUB),
        # a leftover check cell raises NameError after question 1c: question 2c never runs.
        SAMPLES / "crashes" / "HW2.ipynb": notebook(
            **reference, extra=(6, code("# compare with my hand computation\n"
                                         "print(np.allclose(ANSWERS[\"q1c\"][\"standard\"][\"test\"], test_by_hand))",
                                         "q1c-check"))),
        # question 4's notebook was not handed in; question 5 stops at a typo in part c.
        SAMPLES / "crashes" / "HW2_Q5.ipynb": q5_notebook(c=Q5_C_TYPO),
    }


def main() -> None:
    write(build(), base=REPO)


if __name__ == "__main__":
    main()
