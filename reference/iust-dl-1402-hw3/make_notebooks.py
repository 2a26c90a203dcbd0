"""Writes the notebooks of iust-dl-1402-hw3 from the cell sources below:

    reference/iust-dl-1402-hw3/{HW3,DL-Q4,Q7}.template.ipynb   what students start from
    reference/iust-dl-1402-hw3/{HW3,DL-Q4,Q7}.ipynb            the reference solutions
    submissions/iust-dl-1402-hw3/<sample>/*.ipynb              the labelled samples (see their expected.toml)

HW3.ipynb holds questions 1, 2, 3, 5 and 6; DL-Q4.ipynb (brain tumours, Sequential vs Functional
API) and Q7.ipynb (an Inception module on CIFAR-10) are the handout's own notebooks.  The data
loaders in DL-Q4 and Q7 are the source of davar.datasets.brain_mri / cifar10, copied in, so the
notebooks read the data exactly as the graders do (notebooks cannot import davar).

Run `python reference/iust-dl-1402-hw3/make_notebooks.py` after editing a source; the .ipynb files
are committed.  The notebooks have no outputs.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import nbformat

from davar.datasets import brain_mri, cifar10

from davar.authoring import PARAMETERS, code, md, notebook as assemble, parameters, write

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SAMPLES = REPO / "submissions" / HERE.name

INTRO = """\
# تمرین سری سوم — مبانی یادگیری عمیق (دکتر مرضیه داوودآبادی)
# Homework 3 — Fundamentals of Deep Learning (Dr. Marzieh Davoodabadi)

<div dir="rtl">

دانشگاه علم و صنعت ایران، نیمسال اول ۱۴۰۲-۱۴۰۳ — مهلت تحویل: ۳ آذر ۱۴۰۲، ساعت ۲۳:۵۹.

- پاسخ سوال‌های **۲**، **۳ الف** و **۶ ج** را در همین نوت‌بوک و در دیکشنری `ANSWERS` بنویسید؛ این پاسخ‌ها
  به‌طور خودکار بررسی می‌شوند. تابع `conv2d_backward` و مدل‌های `q3_model` و `q6_model` را هم همین‌جا
  پیاده‌سازی کنید.
- پاسخ سوال‌های **۱**، **۳ ب** (امتیازی)، **۵** و **۶ الف تا ث** تشریحی است؛ آن‌ها را در سلول‌های متنی انتهای
  نوت‌بوک بنویسید. دستیاران آموزشی این پاسخ‌ها را تصحیح می‌کنند.
- سوال‌های ۴ و ۷ نوت‌بوک‌های جداگانهٔ خود را دارند: `DL-Q4.ipynb` و `Q7.ipynb`.
- ساختار `ANSWERS` و نام‌های `conv2d_backward`، `q3_model` و `q6_model` را تغییر ندهید. نوت‌بوک باید از ابتدا تا انتها
  بدون خطا اجرا شود و به اینترنت یا فایل‌های بیرون از آن نیازی نداشته باشد.

</div>

Write the answers of questions **2**, **3a** and **6f** in this notebook, in the `ANSWERS` dict: they
are checked automatically, and so are the function `conv2d_backward` and the models `q3_model` and
`q6_model` you write here.  Questions **1**, **3b** (bonus), **5** and **6a–e** are written answers for
the TAs: use the text cells at the end.  Questions 4 and 7 have their own notebooks, `DL-Q4.ipynb`
and `Q7.ipynb`.  Keep the structure of `ANSWERS` and the names `conv2d_backward`, `q3_model` and
`q6_model`; the notebook must run from top to bottom without errors
and without the internet or files from outside it."""

ANSWERS = """\
import numpy as np

# Your answers.  Replace every None; keep the keys.
# پاسخ‌های شما: به‌جای هر None مقدار درست را بگذارید و کلیدها را تغییر ندهید.
ANSWERS = {
    "q2": {
        "dL_dF": None,  # 2×2 nested list (or numpy array): dL/dF
        "dL_dX": None,  # 3×3 nested list (or numpy array): dL/dX
    },
    "q3a": {
        # every layer: its output shape WITHOUT the batch axis (e.g. [498, 16]) and its parameter count
        "layers": {
            "conv1d": {"output_shape": None, "params": None},
            "max_pooling1d": {"output_shape": None, "params": None},
            "conv1d_1": {"output_shape": None, "params": None},
            "max_pooling1d_1": {"output_shape": None, "params": None},
            "conv1d_2": {"output_shape": None, "params": None},
            "max_pooling1d_2": {"output_shape": None, "params": None},
            "flatten": {"output_shape": None, "params": None},
            "dense": {"output_shape": None, "params": None},
            "dense_1": {"output_shape": None, "params": None},
        },
        "total_params": None,
    },
    "q6": {
        # shapes WITHOUT the batch axis, e.g. [height, width, channels]
        "input_shape": None,   # the input you gave q6_model
        "output_shape": None,  # the shape of q6_model's output for it
    },
}"""

Q2_MD = """\
## سوال ۲ — پس‌انتشار در لایهٔ همگشتی (۱۵ نمره) / Question 2 — backpropagation through a convolution (15 points)

<div dir="rtl">

ورودی یک لایهٔ همگشتی (`X`) سه در سه است و فیلتر `F` دو در دو روی آن اعمال می‌شود (همبستگی متقابل
بدون لایه‌گذاری، گام ۱). روی خروجی این لایه یک لایهٔ ادغام میانگین سراسری (GAP) اعمال می‌شود که خروجی نهایی
یک عدد است. با فرض این‌که گرادیان تابع ضرر نسبت به این خروجی نهایی ۱ است، با الگوریتم پس‌انتشار خطا
گرادیان‌های `dL/dF` و `dL/dX` را به دست آورید و در `ANSWERS["q2"]` بنویسید.

سپس تابع `conv2d_backward(X, F, dO)` را **فقط با numpy** (بدون مشتق‌گیری خودکار) برای ورودی، فیلتر و
گرادیان خروجی دلخواه (تک‌کاناله) پیاده‌سازی کنید؛ داور آن را روی ورودی‌های تصادفی با ابعاد دیگر هم امتحان
می‌کند.

</div>

A 3×3 input `X` goes through a 2×2 filter `F` (valid cross-correlation, stride 1), then global
average pooling (GAP) gives one number; dL/d(that number) = 1.  Backpropagate: write dL/dF and dL/dX
in `ANSWERS["q2"]`.  Then implement `conv2d_backward(X, F, dO)` **with numpy only** (no autograd)
for any single-channel input, filter and output gradient: the grader also calls it on random
inputs of other shapes.

| X | | | | F | |
|---|---|---|---|---|---|
| 3 | 4 | 5 | | 2 | 0 |
| 2 | 1 | -3 | | -3 | 1 |
| 4 | -2 | 0 | | | |"""

Q2_DATA = """\
X = np.array([[3, 4, 5], [2, 1, -3], [4, -2, 0]], dtype=float)
F = np.array([[2, 0], [-3, 1]], dtype=float)"""

Q2_STUB = '''\
def conv2d_backward(X, F, dO):
    """Gradients of O = valid cross-correlation of X (H×W) with F (kh×kw), stride 1, one channel.

    dO is dL/dO, of shape (H - kh + 1, W - kw + 1).
    Returns (dF, dX): dL/dF with F's shape and dL/dX with X's shape, as numpy arrays.
    """
    # TODO: numpy only
    raise NotImplementedError'''

Q2_SOLUTION = '''\
def conv2d_backward(X, F, dO):
    """Gradients of O = valid cross-correlation of X (H×W) with F (kh×kw), stride 1, one channel.

    dO is dL/dO, of shape (H - kh + 1, W - kw + 1).
    Returns (dF, dX): dL/dF with F's shape and dL/dX with X's shape, as numpy arrays.
    """
    X, F, dO = (np.asarray(a, dtype=float) for a in (X, F, dO))
    kh, kw = F.shape
    dF, dX = np.zeros_like(F), np.zeros_like(X)
    # O[i, j] = sum(X[i:i+kh, j:j+kw] * F): each output touches one window of X and all of F.
    # dL/dF = valid cross-correlation of X with dO; dL/dX = full convolution of dO with F.
    for i in range(dO.shape[0]):
        for j in range(dO.shape[1]):
            dF += dO[i, j] * X[i:i + kh, j:j + kw]
            dX[i:i + kh, j:j + kw] += dO[i, j] * F
    return dF, dX'''

Q2_ANSWER_STUB = """\
# TODO: dL/dO for the 2×2 output O (GAP follows, dL/d(GAP) = 1), then the two gradients:
# dO = ...
# dF, dX = conv2d_backward(X, F, dO)
# ANSWERS["q2"]["dL_dF"] = dF.tolist()
# ANSWERS["q2"]["dL_dX"] = dX.tolist()"""

Q2_ANSWER = """\
# GAP averages the four outputs, so dL/dO[i, j] = 1 × 1/4 for each of them.
dO = np.full((2, 2), 1 / 4)
dF, dX = conv2d_backward(X, F, dO)
ANSWERS["q2"]["dL_dF"] = dF.tolist()
ANSWERS["q2"]["dL_dX"] = dX.tolist()
print("dL/dF =\\n", dF)
print("dL/dX =\\n", dX)"""

Q3_MD = """\
## سوال ۳ الف — تعداد پارامترها (۱۰ نمره) / Question 3a — parameter counts (10 points)

<div dir="rtl">

تعداد پارامترهای شبکهٔ زیر را محاسبه کنید و محاسبات هر لایه را کامل بنویسید. مدل را با Keras و **دقیقاً
مانند صورت سوال** در متغیر `q3_model` بسازید. سپس برای هر لایه شکل خروجی (بدون محور دسته) و تعداد
پارامترها، و تعداد کل پارامترها را در `ANSWERS["q3a"]` بنویسید. محاسبهٔ هر لایه را نشان دهید (برای نمونه
`((7 × 3) + 1) × 16`)؛ `model.summary()` برای بررسی پاسخ مناسب است، نه به‌جای محاسبه.

</div>

Count the parameters of the network below, showing the computation for every layer.  Build it with
Keras, **exactly as written**, as `q3_model`; then write each layer's output shape (without the batch
axis) and parameter count, and the total, in `ANSWERS["q3a"]`.  Show how each number is computed
(e.g. `((7 × 3) + 1) × 16`); `model.summary()` is for checking, not instead of the computation.

```python
model = Sequential()
model.add(Input(shape=(500, 7)))
model.add(Conv1D(filters=16, kernel_size=3, activation="relu"))
model.add(MaxPool1D())
model.add(Conv1D(filters=32, kernel_size=5, activation="relu"))
model.add(MaxPool1D())
model.add(Conv1D(filters=64, kernel_size=5, activation="relu"))
model.add(MaxPool1D())
model.add(Flatten())
model.add(Dense(units=128, activation="relu"))
model.add(Dense(units=5, activation="softmax"))
```"""

Q3_MODEL_STUB = """\
import keras
from keras import layers

# TODO: the handout's model, exactly as written
q3_model = None"""


def _q3_model(second_pool: str = "MaxPool1D()") -> str:
    return f"""\
import keras
from keras import layers

q3_model = keras.Sequential([
    keras.Input(shape=(500, 7)),
    layers.Conv1D(filters=16, kernel_size=3, activation="relu"),
    layers.MaxPool1D(),
    layers.Conv1D(filters=32, kernel_size=5, activation="relu"),
    layers.{second_pool},
    layers.Conv1D(filters=64, kernel_size=5, activation="relu"),
    layers.MaxPool1D(),
    layers.Flatten(),
    layers.Dense(units=128, activation="relu"),
    layers.Dense(units=5, activation="softmax"),
])"""


Q3_ANSWER_STUB = """\
# TODO: for every layer, its output shape (without the batch axis) and parameter count, with the
# computation, e.g.
# ANSWERS["q3a"]["layers"]["conv1d"] = {"output_shape": [..., ...], "params": ((7 * 3) + 1) * 16}
# ANSWERS["q3a"]["total_params"] = ..."""


def _q3_answer(bias: str = " + 1", check: bool = True) -> str:
    b = bias.replace(" ", "")
    text = f"""\
# Conv1D, padding "valid", stride 1: length - kernel_size + 1; (in_channels × kernel_size{bias}) × filters
# MaxPool1D() (pool_size 2, stride 2, "valid"): length // 2; no parameters
# Dense: (inputs + 1) × units
def conv1d(length, channels, filters, kernel_size):
    return (length - kernel_size + 1, filters), (channels * kernel_size{bias}) * filters

def pool(length, channels):
    return (length // 2, channels), 0

rows = {{}}
shape = (500, 7)
shape, params = conv1d(*shape, filters=16, kernel_size=3); rows["conv1d"] = (shape, params)          # ((7×3){b})×16
shape, params = pool(*shape); rows["max_pooling1d"] = (shape, params)
shape, params = conv1d(*shape, filters=32, kernel_size=5); rows["conv1d_1"] = (shape, params)        # ((16×5){b})×32
shape, params = pool(*shape); rows["max_pooling1d_1"] = (shape, params)
shape, params = conv1d(*shape, filters=64, kernel_size=5); rows["conv1d_2"] = (shape, params)        # ((32×5){b})×64
shape, params = pool(*shape); rows["max_pooling1d_2"] = (shape, params)
flat = shape[0] * shape[1]; rows["flatten"] = ((flat,), 0)                                            # 59×64
rows["dense"] = ((128,), (flat + 1) * 128)
rows["dense_1"] = ((5,), (128 + 1) * 5)

for name, (shape, params) in rows.items():
    ANSWERS["q3a"]["layers"][name] = {{"output_shape": list(shape), "params": params}}
    print(f"{{name:16}} {{shape!s:12}} {{params:>8,}}")
ANSWERS["q3a"]["total_params"] = sum(params for _, params in rows.values())
print("total", ANSWERS["q3a"]["total_params"])"""
    if check:
        text += """

# the same numbers from Keras
assert [list(l.output.shape[1:]) for l in q3_model.layers] == [list(s) for s, _ in rows.values()]
assert [l.count_params() for l in q3_model.layers] == [p for _, p in rows.values()]
assert q3_model.count_params() == ANSWERS["q3a"]["total_params"]"""
    return text


Q6_MD = """\
## سوال ۶ ج — فیلتر ۱×۱ / Question 6f — a 1×1 filter

<div dir="rtl">

یک مدل همگشتی ساده با فیلتر ۱×۱ (لایهٔ `Conv2D` با `kernel_size=1`) با Keras در متغیر `q6_model` بسازید و
تاثیر آن را روی یک ورودی دلخواه با مقایسهٔ اندازهٔ ورودی و خروجی مدل نشان دهید: فیلتر ۱×۱ باید **تعداد
کانال‌ها** را تغییر دهد ولی **اندازهٔ مکانی** (ارتفاع و عرض) را نه. شکل ورودی و خروجی (بدون محور دسته) را در
`ANSWERS["q6"]` بنویسید؛ داور مدل شما را روی یک ورودی تصادفی با همان شکل اجرا می‌کند. پاسخ بخش‌های الف تا ث
تشریحی است (انتهای نوت‌بوک).

</div>

Build a simple convolutional model with a 1×1 filter (a `Conv2D` with `kernel_size=1`) in Keras as
`q6_model`, and show its effect on an input of your choice by comparing the model's input and output
shapes: the 1×1 filter must change the **number of channels** but not the **spatial size** (height
and width).  Write both shapes (without the batch axis) in `ANSWERS["q6"]`; the grader runs your
model on a random input of that shape.  Parts a–e are written answers (end of the notebook)."""

Q6_STUB = """\
import keras
from keras import layers

# TODO: a simple convolutional model with a 1×1 filter
q6_model = None

# TODO: run it on an input of your choice and compare the shapes
# ANSWERS["q6"]["input_shape"] = [...]
# ANSWERS["q6"]["output_shape"] = [...]"""


def _q6_model(one_by_one: str = "layers.Conv2D(filters=16, kernel_size=1, activation=\"relu\")") -> str:
    return f"""\
import keras
from keras import layers

# a 3×3 convolution makes 64 feature maps; the 1×1 convolution mixes them into 16, pixel by pixel
q6_model = keras.Sequential([
    keras.Input(shape=(32, 32, 3)),
    layers.Conv2D(filters=64, kernel_size=3, padding="same", activation="relu"),
    {one_by_one},
], name="q6")
q6_model.summary()

x = np.random.default_rng(SEED).normal(size=(4, 32, 32, 3)).astype("float32")
y = q6_model.predict(x, verbose=0)
ANSWERS["q6"]["input_shape"] = list(x.shape[1:])
ANSWERS["q6"]["output_shape"] = list(y.shape[1:])
print("input", x.shape[1:], "→ output", y.shape[1:])"""



MANUAL_MD = """\
## پاسخ‌های تشریحی / Written answers

<div dir="rtl">

**سوال ۱ (۱۵ نمره)** — الف) مشکلات نرخ یادگیری بسیار بالا و تشخیص آن؛ ب) مشکلات نرخ یادگیری بسیار پایین و
تشخیص آن؛ پ) نقطهٔ زینی و مقایسهٔ Adam و SGD؛ ت) کدام نمودار شیب نزولی دسته‌ای و کدام دسته‌ای کوچک است.

پاسخ:

**سوال ۳ ب (۱۰ نمرهٔ امتیازی)** — مقایسهٔ Conv2D و Conv3D و کاربرد Conv3D.

پاسخ:

**سوال ۵ (۱۰ نمره)** — یک کاربرد واقعی که مزایای لایه‌های همگشتی در آن مفید است، و حالتی که ویژگی‌های
آن‌ها چالش ایجاد می‌کند.

پاسخ:

**سوال ۶ الف تا ث (۱۰ نمره)** — الف) هدف فیلترهای ۱×۱ و کاهش تعداد نقشه‌های ویژگی؛ ب) نقشهٔ ویژگی پس از
فیلتر ۱×۱ چه اطلاعاتی دارد؛ پ) تفاوت آن با تصویر اصلی و با فیلترهای بزرگ‌تر؛ ت) مدل‌هایی که از آن استفاده
کرده‌اند؛ ث) حالت‌هایی که فیلتر ۱×۱ مفید نیست.

پاسخ:

</div>

Q1 (15), Q3b (10, bonus), Q5 (10) and Q6a–e (10): write your answers above, under «پاسخ» (English is
fine too)."""

REFERENCE_MANUAL_MD = MANUAL_MD.replace("پاسخ:\n\n**سوال ۳ ب", """\
پاسخ: نرخ بالا — هزینه همگرا نمی‌شود یا واگرا می‌شود (نمودار هزینه بر حسب تکرار نوسان شدید دارد یا بالا
می‌رود)؛ نرخ پایین — همگرایی بسیار کند (هزینه تقریباً خطی و آهسته کم می‌شود)؛ نقطهٔ زینی — گرادیان صفر
است ولی نه کمینه است نه بیشینه؛ نویز SGD گاهی به فرار از آن کمک می‌کند و Adam با تکانه و نرخ تطبیقی بهتر
از آن عبور می‌کند؛ نمودار صاف A شیب نزولی دسته‌ای و نمودار نویزی B دسته‌ای کوچک است.

**سوال ۳ ب""").replace("پاسخ:\n\n**سوال ۵", """\
پاسخ: هستهٔ Conv2D در دو بعد مکانی حرکت می‌کند و Conv3D در سه بعد (مثلاً مکان و زمان یا سه بعد حجمی)؛
Conv3D برای داده‌های حجمی پزشکی (MRI، CT) و ویدیو به کار می‌رود و پارامتر و زمان آموزش بیشتری دارد.

**سوال ۵""").replace("پاسخ:\n\n**سوال ۶", """\
پاسخ: در دسته‌بندی تصاویر، اشتراک وزن و اتصال محلی پارامترها را کم و ویژگی‌ها را مستقل از مکان می‌کند؛
در عوض، ناوردایی محدود به چرخش و مقیاس و نیاز به دادهٔ زیاد از معایب آن است.

**سوال ۶""").replace("پاسخ:\n\n</div>", """\
پاسخ: فیلتر ۱×۱ در هر مکان ترکیبی خطی (و پس از فعال‌سازی، غیرخطی) از کانال‌ها می‌سازد؛ با تعداد فیلتر کمتر از
کانال‌های ورودی، عمق را کم و محاسبهٔ لایه‌های بعدی را ارزان می‌کند بی‌آن‌که اندازهٔ مکانی تغییر کند؛ نقشهٔ
خروجی هم‌اندازهٔ ورودی است ولی هر پیکسل آن ترکیب ویژگی‌های همان پیکسل است، نه همسایه‌ها (میدان دید ۱)؛ در
Inception (GoogLeNet)، Network in Network و گلوگاه‌های ResNet به کار رفته است؛ وقتی کانال‌ها کم‌اند یا
ویژگی‌های مکانی همسایه لازم است، سودی ندارد و فقط پارامتر و لایه اضافه می‌کند.

</div>""")


def notebook(*, q2_function: str, q2_answer: str, q3_model: str, q3_answer: str, q6_model: str,
             manual: str = MANUAL_MD, extra: tuple[int, nbformat.NotebookNode] | None = None) -> nbformat.NotebookNode:
    cells = [
        md(INTRO, "intro"),
        parameters(),
        code(ANSWERS, "answers"),
        md(Q2_MD, "q2-md"),
        code(Q2_DATA, "q2-data"),
        code(q2_function, "q2-function"),
        code(q2_answer, "q2-answer"),
        md(Q3_MD, "q3-md"),
        code(q3_model, "q3-model"),
        code(q3_answer, "q3-answer"),
        md(Q6_MD, "q6-md"),
        code(q6_model, "q6-model"),
        md(manual, "written-answers"),
    ]
    if extra:
        cells.insert(*extra)
    return assemble(*cells)


# ==================================================================================================
# DL-Q4.ipynb — question 4: brain tumours, one CNN built with the Sequential and the Functional API
# ==================================================================================================


def _source(*functions) -> str:
    return "\n\n\n".join(inspect.getsource(f).rstrip() for f in functions)


Q4_INTRO = """\
# سوال ۴ — دسته‌بندی تصاویر MRI تومور مغزی (۲۰ نمره)
# Question 4 — brain-tumour MRI classification (20 points)

<div dir="rtl">

تمرین سری سوم مبانی یادگیری عمیق (دکتر مرضیه داوودآبادی)، دانشگاه علم و صنعت ایران.

در این سوال دادگان تومور مغزی را دسته‌بندی می‌کنیم. اهداف سوال به ترتیب:

- خواندن تصاویر دادگان که در مسیر `DATA_DIR/brain_mri` قرار دارند (پوشه‌های `yes` با تومور و `no` بدون تومور)
  و استفاده از آن‌ها برای آموزش و ارزیابی شبکه؛
- ساختن یک شبکهٔ عصبی همگشتی با **معماری یکسان** یک بار با *Sequential API* (در متغیر `seq_model`) و یک بار با
  *Functional API* (در متغیر `func_model`)، و آموزش هر دو.

داور دو مدل را لایه به لایه مقایسه می‌کند (نوع لایه، تنظیمات مانند تعداد فیلتر، اندازهٔ هسته، گام، لایه‌گذاری و
تابع فعال‌سازی، شکل خروجی و تعداد پارامترها) و دقت هر دو را روی یک مجموعهٔ پنهان از تصاویر می‌سنجد. ورودی مدل‌ها
همان خروجی `load_images` است: تصویر خاکستری ۶۴×۶۴ با مقادیر بین ۰ و ۱، با شکل `(N, 64, 64, 1)`؛ خروجی آن‌ها
احتمال تومور `(N, 1)` (سیگموید) یا امتیاز دو کلاس `(N, 2)` (سافت‌مکس، اندیس ۱ = تومور) است. از `EPOCHS` برای
تعداد epochها استفاده کنید. نوت‌بوک باید بدون خطا و بدون اینترنت از ابتدا تا انتها اجرا شود.

</div>

Classify the brain-tumour MRI slices in `DATA_DIR/brain_mri` (folders `yes`: tumour, `no`: none):
read them, then build **the same** convolutional network twice, with the Sequential API as
`seq_model` and with the Functional API as `func_model`, and train both.  The grader compares the
two models layer by layer (type, configuration such as filters, kernel size, strides, padding and
activation, output shape, parameter count) and measures both on a hidden set of slices.  The models
take what `load_images` returns: grey 64×64 images in [0, 1], shape `(N, 64, 64, 1)`; they output the
tumour probability `(N, 1)` (sigmoid) or two class scores `(N, 2)` (softmax, index 1 = tumour).  Use
`EPOCHS` epochs.  The notebook must run from top to bottom without errors or the internet."""

Q4_PARAMETERS = PARAMETERS + "\nEPOCHS = 12  # training epochs for each model"

Q4_LOADERS = f"""\
# Reading the data (given; the grader reads the hidden slices with the same functions)
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

IMAGE_SIZE = {brain_mri.IMAGE_SIZE}
CLASSES = {brain_mri.CLASSES!r}              # label 0, label 1 (tumour)
EXTENSIONS = {brain_mri.EXTENSIONS!r}


{_source(brain_mri._images_in, brain_mri.load_image, brain_mri.load_images, brain_mri.load_public)}"""

Q4_DATA_STUB = """\
images, labels = load_public(os.path.join(DATA_DIR, "brain_mri"))
print(images.shape, "tumour:", int(labels.sum()), "none:", int((labels == 0).sum()))

# TODO: split into training and test data (x_train, x_test, y_train, y_test)"""

Q4_DATA = """\
from sklearn.model_selection import train_test_split

images, labels = load_public(os.path.join(DATA_DIR, "brain_mri"))
print(images.shape, "tumour:", int(labels.sum()), "none:", int((labels == 0).sum()))
x_train, x_test, y_train, y_test = train_test_split(images, labels, test_size=0.2, random_state=SEED,
                                                    stratify=labels)"""

Q4_MODELS_STUB = """\
import keras
from keras import layers

keras.utils.set_random_seed(SEED)

# TODO: a CNN with the Sequential API ...
seq_model = None

# TODO: ... and exactly the same CNN with the Functional API
func_model = None"""


def _q4_models(func_second_kernel: int = 3) -> str:
    return f"""\
import keras
from keras import layers

keras.utils.set_random_seed(SEED)

seq_model = keras.Sequential([
    keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 1)),
    layers.Conv2D(filters=16, kernel_size=3, activation="relu"),
    layers.MaxPooling2D(pool_size=2),
    layers.Conv2D(filters=32, kernel_size=3, activation="relu"),
    layers.MaxPooling2D(pool_size=2),
    layers.GlobalMaxPooling2D(),              # "is there a bright spot anywhere?"
    layers.Dense(units=16, activation="relu"),
    layers.Dense(units=1, activation="sigmoid"),
], name="sequential_api")

inputs = keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 1))
x = layers.Conv2D(filters=16, kernel_size=3, activation="relu")(inputs)
x = layers.MaxPooling2D(pool_size=2)(x)
x = layers.Conv2D(filters=32, kernel_size={func_second_kernel}, activation="relu")(x)
x = layers.MaxPooling2D(pool_size=2)(x)
x = layers.GlobalMaxPooling2D()(x)
x = layers.Dense(units=16, activation="relu")(x)
outputs = layers.Dense(units=1, activation="sigmoid")(x)
func_model = keras.Model(inputs, outputs, name="functional_api")

seq_model.summary()
func_model.summary()"""


Q4_TRAIN_STUB = """\
# TODO: compile and train both models for EPOCHS epochs, then report their accuracy on your test data"""

Q4_TRAIN = """\
def train(model):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model.fit(x_train, y_train, epochs=EPOCHS, batch_size=16, validation_data=(x_test, y_test), verbose=2)

seq_history = train(seq_model)
func_history = train(func_model)
for name, model in (("Sequential", seq_model), ("Functional", func_model)):
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"{name} API: test accuracy {accuracy:.3f}")"""


def q4_notebook(*, data: str, models: str, train: str) -> nbformat.NotebookNode:
    return assemble(
        md(Q4_INTRO, "intro"),
        parameters(Q4_PARAMETERS),
        code(Q4_LOADERS, "loaders"),
        code(data, "data"),
        code(models, "models"),
        code(train, "train"),
    )


# ==================================================================================================
# Q7.ipynb — question 7: a CNN with an Inception module on CIFAR-10
# ==================================================================================================


Q7_INTRO = """\
# سوال ۷ — شبکهٔ همگشتی با ماژول Inception روی CIFAR-10 (۱۵ نمره + ۱۰ نمرهٔ امتیازی)
# Question 7 — a CNN with an Inception module on CIFAR-10 (15 points + 10 bonus)

<div dir="rtl">

تمرین سری سوم مبانی یادگیری عمیق (دکتر مرضیه داوودآبادی)، دانشگاه علم و صنعت ایران.

یک شبکهٔ عصبی همگشتی که شامل یک **ماژول Inception** است (دست‌کم سه شاخهٔ موازی با اندازه‌های هستهٔ متفاوت
روی یک ورودی مشترک که خروجی‌هایشان به هم **الحاق** می‌شود) برای دسته‌بندی تصاویر CIFAR-10 با Keras در متغیر
`model` پیاده‌سازی و آموزش دهید. داده‌ها نسخهٔ **دودویی** CIFAR-10 در `DATA_DIR/cifar10` است
(`data_batch_1.bin` تا `data_batch_5.bin`)؛ تابع‌های خواندن آن داده شده است. داور ماژول Inception را از گراف
مدل تشخیص می‌دهد و دقت مدل را روی دادهٔ آزمون پنهان CIFAR-10 می‌سنجد: **دقت بالای ۸۰٪** ده نمرهٔ امتیازی دارد.
ورودی مدل تصویر ۳۲×۳۲×۳ با مقادیر بین ۰ و ۱ (`float32`) و خروجی آن امتیاز ۱۰ کلاس `(N, 10)` است. از `EPOCHS`
برای تعداد epochها استفاده کنید. پاسخ بخش‌های تشریحی را در سلول متنی انتهای نوت‌بوک بنویسید.

</div>

Implement and train, with Keras, a convolutional network for CIFAR-10 that contains an **Inception
module** (at least three parallel branches with different kernel sizes on one input, their outputs
**concatenated**), as `model`.  The data is the **binary** CIFAR-10 in `DATA_DIR/cifar10`
(`data_batch_1.bin` … `data_batch_5.bin`); the functions that read it are given.  The grader finds the
Inception module in the model's graph and measures the model on the hidden CIFAR-10 test data:
**above 80 %** earns the 10 bonus points.  The model takes 32×32×3 images in [0, 1] (`float32`) and
outputs 10 class scores `(N, 10)`.  Use `EPOCHS` epochs.  Write the explanations in the text cell at
the end."""

Q7_PARAMETERS = PARAMETERS + "\nEPOCHS = 12  # training epochs"

Q7_LOADERS = f"""\
# Reading the binary CIFAR-10 batches (given; the grader reads the test batch with the same code)
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

CLASSES = {cifar10.CLASSES!r}
SIZE = {cifar10.SIZE}
RECORD = 1 + 3 * SIZE * SIZE                 # one label byte, then the R, G and B planes (CHW)
TRAIN_FILES = {cifar10.TRAIN_FILES!r}


{_source(cifar10.read_batch, cifar10.read_batches, cifar10.load_train)}"""

Q7_DATA = """\
images, labels = load_train(os.path.join(DATA_DIR, "cifar10"))
images = images.astype("float32") / 255.0
rng = np.random.default_rng(SEED)
order = rng.permutation(len(labels))
n_val = len(labels) // 10
x_val, y_val = images[order[:n_val]], labels[order[:n_val]]
x_train, y_train = images[order[n_val:]], labels[order[n_val:]]
print("train", x_train.shape, "validation", x_val.shape)"""

Q7_MODEL_STUB = """\
import keras
from keras import layers

keras.utils.set_random_seed(SEED)

# TODO: an Inception module (parallel branches with different kernel sizes, concatenated) ...
# TODO: ... inside a CNN for 32×32×3 images and 10 classes
model = None"""


def _q7_model(branches: str = "1, 3, 5") -> str:
    return f"""\
import keras
from keras import layers

keras.utils.set_random_seed(SEED)


def inception_module(x, filters):
    \"\"\"GoogLeNet's module, small: parallel k×k convolutions (after 1×1 reductions) and a pooled
    branch, all "same"-padded so their outputs line up, concatenated along the channels.\"\"\"
    branches = []
    for k in ({branches}):
        if k == 1:
            b = layers.Conv2D(filters, 1, padding="same", activation="relu")(x)
        else:
            b = layers.Conv2D(filters // 2, 1, padding="same", activation="relu")(x)   # 1×1 reduction
            b = layers.Conv2D(filters, k, padding="same", activation="relu")(b)
        branches.append(b)
    pooled = layers.MaxPooling2D(pool_size=3, strides=1, padding="same")(x)
    branches.append(layers.Conv2D(filters, 1, padding="same", activation="relu")(pooled))
    return layers.Concatenate()(branches)


inputs = keras.Input(shape=(32, 32, 3))
x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
x = layers.MaxPooling2D(pool_size=2)(x)                  # stride 2: 32×32 → 16×16
x = inception_module(x, 8)
x = layers.MaxPooling2D(pool_size=2)(x)                  # 16×16 → 8×8
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs, name="inception_cifar10")
model.summary()"""


Q7_TRAIN_STUB = """\
# TODO: compile and train `model` for EPOCHS epochs and report its validation accuracy"""


def _q7_train(loss: str = "sparse_categorical_crossentropy") -> str:
    return f"""\
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003), loss="{loss}", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=32, validation_data=(x_val, y_val), verbose=2)
print(f"validation accuracy: {{history.history['val_accuracy'][-1]:.3f}}")"""


Q7_WRITTEN = """\
## پاسخ‌های تشریحی / Written answers

<div dir="rtl">

- ساختار و هدف ماژول Inception در این شبکه را توضیح دهید.
- اندازهٔ گام (stride) در لایه‌های همگشتی چگونه بر ابعاد مکانی نگاشت‌های ویژگی تأثیر می‌گذارد؟
- ویژگی‌های کلیدی و عملیات لایه‌های همگشتی شبکهٔ خود و اهمیت آن‌ها در استخراج ویژگی را شرح دهید.

پاسخ:

</div>

Explain the structure and purpose of the Inception module in your network; how the stride of a
convolution changes the spatial size of its feature maps; and the key properties and operations of
the convolution layers you used.  Write under «پاسخ» (English is fine too)."""

Q7_WRITTEN_REFERENCE = Q7_WRITTEN.replace("پاسخ:\n\n</div>", """\
پاسخ: ماژول Inception چند شاخهٔ موازی (۱×۱، ۳×۳، ۵×۵ و ادغام بیشینه) را روی یک ورودی اجرا و خروجی‌ها را
در محور کانال الحاق می‌کند، تا ویژگی‌ها در چند مقیاس هم‌زمان استخراج شوند؛ کانولوشن‌های ۱×۱ پیش از هسته‌های
بزرگ عمق را کم و محاسبه را ارزان می‌کنند. با گام s، اندازهٔ خروجی ⌊(n + 2p − k) / s⌋ + 1 است: گام ۲ ابعاد
مکانی را تقریباً نصف می‌کند. لایه‌های همگشتی با اتصال محلی و اشتراک وزن، الگوهای محلی را مستقل از مکان
می‌یابند و با لایه‌گذاری same اندازه را حفظ می‌کنند؛ ReLU غیرخطی بودن و ادغام، کاهش ابعاد را می‌دهد.

</div>""")


def q7_notebook(*, model: str, train: str, written: str = Q7_WRITTEN, data: str = Q7_DATA) -> nbformat.NotebookNode:
    return assemble(
        md(Q7_INTRO, "intro"),
        parameters(Q7_PARAMETERS),
        code(Q7_LOADERS, "loaders"),
        code(data, "data"),
        code(model, "model"),
        code(train, "train"),
        md(written, "written-answers"),
    )


# ==================================================================================================
# Everything written
# ==================================================================================================


def build() -> dict[Path, nbformat.NotebookNode]:
    reference = {"q2_function": Q2_SOLUTION, "q2_answer": Q2_ANSWER, "q3_model": _q3_model(),
                 "q3_answer": _q3_answer(), "q6_model": _q6_model(), "manual": REFERENCE_MANUAL_MD}
    q4_reference = q4_notebook(data=Q4_DATA, models=_q4_models(), train=Q4_TRAIN)
    q7_reference = q7_notebook(model=_q7_model(), train=_q7_train(), written=Q7_WRITTEN_REFERENCE)
    return {
        HERE / "HW3.template.ipynb": notebook(q2_function=Q2_STUB, q2_answer=Q2_ANSWER_STUB, q3_model=Q3_MODEL_STUB,
                                              q3_answer=Q3_ANSWER_STUB, q6_model=Q6_STUB),
        HERE / "DL-Q4.template.ipynb": q4_notebook(data=Q4_DATA_STUB, models=Q4_MODELS_STUB, train=Q4_TRAIN_STUB),
        HERE / "Q7.template.ipynb": q7_notebook(model=Q7_MODEL_STUB, train=Q7_TRAIN_STUB),
        HERE / "HW3.ipynb": notebook(**reference),
        HERE / "DL-Q4.ipynb": q4_reference,
        HERE / "Q7.ipynb": q7_reference,
        SAMPLES / "reference_solution" / "HW3.ipynb": notebook(**reference),
        SAMPLES / "reference_solution" / "DL-Q4.ipynb": q4_reference,
        SAMPLES / "reference_solution" / "Q7.ipynb": q7_reference,
        # dL/dF with the wrong sign (from a conv2d_backward that returns -dF), conv parameters counted
        # without the bias, AveragePooling1D in place of the second MaxPool1D, and a "1×1" model whose
        # 1×1 convolution has stride 2 (the spatial size halves).  DL-Q4: the Functional model's second
        # Conv2D has a 5×5 kernel where the Sequential one has 3×3.  Q7: the "Inception" module's
        # three branches all use 3×3 kernels.
        SAMPLES / "planted_wrong" / "HW3.ipynb": notebook(
            q2_function=Q2_SOLUTION.replace("return dF, dX", "return -dF, dX"), q2_answer=Q2_ANSWER,
            q3_model=_q3_model("AveragePooling1D(pool_size=2)"), q3_answer=_q3_answer(bias="", check=False),
            q6_model=_q6_model('layers.Conv2D(filters=16, kernel_size=1, strides=2, activation="relu")')),
        SAMPLES / "planted_wrong" / "DL-Q4.ipynb": q4_notebook(data=Q4_DATA, models=_q4_models(5), train=Q4_TRAIN),
        SAMPLES / "planted_wrong" / "Q7.ipynb": q7_notebook(model=_q7_model("3, 3, 3"), train=_q7_train()),
        # HW3: a leftover check cell raises NameError after question 2: questions 3 and 6 never run.
        # DL-Q4 is the reference.  Q7: categorical cross-entropy on integer labels stops the training
        # cell (the model exists, untrained).
        SAMPLES / "crashes" / "HW3.ipynb": notebook(
            **reference, extra=(7, code("# compare with my hand computation\n"
                                         "print(np.allclose(dF, dF_by_hand), np.allclose(dX, dX_by_hand))",
                                         "q2-check"))),
        SAMPLES / "crashes" / "DL-Q4.ipynb": q4_reference,
        SAMPLES / "crashes" / "Q7.ipynb": q7_notebook(model=_q7_model(), train=_q7_train("categorical_crossentropy")),
    }


def main() -> None:
    write(build(), base=REPO)


if __name__ == "__main__":
    main()
