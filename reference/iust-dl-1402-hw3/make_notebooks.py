"""Writes the notebooks of iust-dl-1402-hw3 from the cell sources below:

    reference/iust-dl-1402-hw3/HW3.template.ipynb        what students start from
    reference/iust-dl-1402-hw3/HW3.ipynb                 the reference solution
    submissions/iust-dl-1402-hw3/<sample>/HW3.ipynb      the labelled samples (see their expected.toml)

Run `python reference/iust-dl-1402-hw3/make_notebooks.py` after editing a source; the .ipynb files
are committed.  The notebooks have no outputs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from davar.authoring import code, md, notebook as assemble, parameters, write

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SAMPLES = REPO / "submissions" / HERE.name

INTRO = """\
# تمرین سری سوم — مبانی یادگیری عمیق (دکتر مرضیه داوودآبادی)
# Homework 3 — Fundamentals of Deep Learning (Dr. Marzieh Davoodabadi)

<div dir="rtl">

دانشگاه علم و صنعت ایران، نیمسال اول ۱۴۰۲-۱۴۰۳ — مهلت تحویل: ۳ آذر ۱۴۰۲، ساعت ۲۳:۵۹.

- پاسخ سوال‌های **۲** و **۳ الف** را در همین نوت‌بوک و در دیکشنری `ANSWERS` بنویسید؛ این پاسخ‌ها به‌طور خودکار
  بررسی می‌شوند. تابع `conv2d_backward` و مدل `q3_model` را هم همین‌جا پیاده‌سازی کنید.
- پاسخ سوال‌های **۱**، **۳ ب** (امتیازی) و **۵** تشریحی است؛ آن‌ها را در سلول‌های متنی انتهای نوت‌بوک بنویسید.
  دستیاران آموزشی این پاسخ‌ها را تصحیح می‌کنند.
- سوال‌های ۴، ۶ و ۷ نوت‌بوک‌های جداگانهٔ خود را دارند.
- ساختار `ANSWERS` و نام‌های `conv2d_backward` و `q3_model` را تغییر ندهید. نوت‌بوک باید از ابتدا تا انتها
  بدون خطا اجرا شود و به اینترنت یا فایل‌های بیرون از آن نیازی نداشته باشد.

</div>

Write the answers of questions **2** and **3a** in this notebook, in the `ANSWERS` dict: they are
checked automatically, and so are the function `conv2d_backward` and the model `q3_model` you write
here.  Questions **1**, **3b** (bonus) and **5** are written answers for the TAs: use the text cells
at the end.  Questions 4, 6 and 7 have their own notebooks.  Keep the structure of `ANSWERS` and
the names `conv2d_backward` and `q3_model`; the notebook must run from top to bottom without errors
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

</div>

Q1 (15), Q3b (10, bonus) and Q5 (10): write your answers above, under «پاسخ» (English is fine too)."""

REFERENCE_MANUAL_MD = MANUAL_MD.replace("پاسخ:\n\n**سوال ۳ ب", """\
پاسخ: نرخ بالا — هزینه همگرا نمی‌شود یا واگرا می‌شود (نمودار هزینه بر حسب تکرار نوسان شدید دارد یا بالا
می‌رود)؛ نرخ پایین — همگرایی بسیار کند (هزینه تقریباً خطی و آهسته کم می‌شود)؛ نقطهٔ زینی — گرادیان صفر
است ولی نه کمینه است نه بیشینه؛ نویز SGD گاهی به فرار از آن کمک می‌کند و Adam با تکانه و نرخ تطبیقی بهتر
از آن عبور می‌کند؛ نمودار صاف A شیب نزولی دسته‌ای و نمودار نویزی B دسته‌ای کوچک است.

**سوال ۳ ب""").replace("پاسخ:\n\n**سوال ۵", """\
پاسخ: هستهٔ Conv2D در دو بعد مکانی حرکت می‌کند و Conv3D در سه بعد (مثلاً مکان و زمان یا سه بعد حجمی)؛
Conv3D برای داده‌های حجمی پزشکی (MRI، CT) و ویدیو به کار می‌رود و پارامتر و زمان آموزش بیشتری دارد.

**سوال ۵""").replace("پاسخ:\n\n</div>", """\
پاسخ: در دسته‌بندی تصاویر، اشتراک وزن و اتصال محلی پارامترها را کم و ویژگی‌ها را مستقل از مکان می‌کند؛
در عوض، ناوردایی محدود به چرخش و مقیاس و نیاز به دادهٔ زیاد از معایب آن است.

</div>""")


def notebook(*, q2_function: str, q2_answer: str, q3_model: str, q3_answer: str, manual: str = MANUAL_MD,
             extra: tuple[int, nbformat.NotebookNode] | None = None) -> nbformat.NotebookNode:
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
        md(manual, "written-answers"),
    ]
    if extra:
        cells.insert(*extra)
    return assemble(*cells)


def build() -> dict[Path, nbformat.NotebookNode]:
    reference = {"q2_function": Q2_SOLUTION, "q2_answer": Q2_ANSWER, "q3_model": _q3_model(),
                 "q3_answer": _q3_answer(), "manual": REFERENCE_MANUAL_MD}
    return {
        HERE / "HW3.template.ipynb": notebook(q2_function=Q2_STUB, q2_answer=Q2_ANSWER_STUB, q3_model=Q3_MODEL_STUB,
                                              q3_answer=Q3_ANSWER_STUB),
        HERE / "HW3.ipynb": notebook(**reference),
        SAMPLES / "reference_solution" / "HW3.ipynb": notebook(**reference),
        # dL/dF with the wrong sign (from a conv2d_backward that returns -dF), conv parameters counted
        # without the bias, and AveragePooling1D in place of the second MaxPool1D.
        SAMPLES / "planted_wrong" / "HW3.ipynb": notebook(
            q2_function=Q2_SOLUTION.replace("return dF, dX", "return -dF, dX"), q2_answer=Q2_ANSWER,
            q3_model=_q3_model("AveragePooling1D(pool_size=2)"), q3_answer=_q3_answer(bias="", check=False)),
        # a leftover check cell raises NameError after question 2: question 3 never runs.
        SAMPLES / "crashes" / "HW3.ipynb": notebook(
            **reference, extra=(7, code("# compare with my hand computation\n"
                                         "print(np.allclose(dF, dF_by_hand), np.allclose(dX, dX_by_hand))",
                                         "q2-check"))),
    }


def main() -> None:
    write(build(), base=REPO)


if __name__ == "__main__":
    main()
