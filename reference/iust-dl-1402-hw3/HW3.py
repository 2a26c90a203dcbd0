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
# # تمرین سری سوم — مبانی یادگیری عمیق (دکتر مرضیه داوودآبادی)
# # Homework 3 — Fundamentals of Deep Learning (Dr. Marzieh Davoodabadi)
#
# <div dir="rtl">
#
# دانشگاه علم و صنعت ایران، نیمسال اول ۱۴۰۲-۱۴۰۳ — مهلت تحویل: ۳ آذر ۱۴۰۲، ساعت ۲۳:۵۹.
#
# - پاسخ سوال‌های **۲**، **۳ الف** و **۶ ج** را در همین نوت‌بوک و در دیکشنری `ANSWERS` بنویسید؛ این پاسخ‌ها
#   به‌طور خودکار بررسی می‌شوند. تابع `conv2d_backward` و مدل‌های `q3_model` و `q6_model` را هم همین‌جا
#   پیاده‌سازی کنید.
# - پاسخ سوال‌های **۱**، **۳ ب** (امتیازی)، **۵** و **۶ الف تا ث** تشریحی است؛ آن‌ها را در سلول‌های متنی انتهای
#   نوت‌بوک بنویسید. دستیاران آموزشی این پاسخ‌ها را تصحیح می‌کنند.
# - سوال‌های ۴ و ۷ نوت‌بوک‌های جداگانهٔ خود را دارند: `DL-Q4.ipynb` و `Q7.ipynb`.
# - ساختار `ANSWERS` و نام‌های `conv2d_backward`، `q3_model` و `q6_model` را تغییر ندهید. نوت‌بوک باید از ابتدا تا انتها
#   بدون خطا اجرا شود و به اینترنت یا فایل‌های بیرون از آن نیازی نداشته باشد.
#
# </div>
#
# Write the answers of questions **2**, **3a** and **6f** in this notebook, in the `ANSWERS` dict: they
# are checked automatically, and so are the function `conv2d_backward` and the models `q3_model` and
# `q6_model` you write here.  Questions **1**, **3b** (bonus), **5** and **6a–e** are written answers for
# the TAs: use the text cells at the end.  Questions 4 and 7 have their own notebooks, `DL-Q4.ipynb`
# and `Q7.ipynb`.  Keep the structure of `ANSWERS` and the names `conv2d_backward`, `q3_model` and
# `q6_model`; the notebook must run from top to bottom without errors
# and without the internet or files from outside it.

# %% id="parameters" tags=["parameters"]
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data"
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin"

# %% id="answers"
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
}

# %% [markdown] id="q2-md"
# ## سوال ۲ — پس‌انتشار در لایهٔ همگشتی (۱۵ نمره) / Question 2 — backpropagation through a convolution (15 points)
#
# <div dir="rtl">
#
# ورودی یک لایهٔ همگشتی (`X`) سه در سه است و فیلتر `F` دو در دو روی آن اعمال می‌شود (همبستگی متقابل
# بدون لایه‌گذاری، گام ۱). روی خروجی این لایه یک لایهٔ ادغام میانگین سراسری (GAP) اعمال می‌شود که خروجی نهایی
# یک عدد است. با فرض این‌که گرادیان تابع ضرر نسبت به این خروجی نهایی ۱ است، با الگوریتم پس‌انتشار خطا
# گرادیان‌های `dL/dF` و `dL/dX` را به دست آورید و در `ANSWERS["q2"]` بنویسید.
#
# سپس تابع `conv2d_backward(X, F, dO)` را **فقط با numpy** (بدون مشتق‌گیری خودکار) برای ورودی، فیلتر و
# گرادیان خروجی دلخواه (تک‌کاناله) پیاده‌سازی کنید؛ داور آن را روی ورودی‌های تصادفی با ابعاد دیگر هم امتحان
# می‌کند.
#
# </div>
#
# A 3×3 input `X` goes through a 2×2 filter `F` (valid cross-correlation, stride 1), then global
# average pooling (GAP) gives one number; dL/d(that number) = 1.  Backpropagate: write dL/dF and dL/dX
# in `ANSWERS["q2"]`.  Then implement `conv2d_backward(X, F, dO)` **with numpy only** (no autograd)
# for any single-channel input, filter and output gradient: the grader also calls it on random
# inputs of other shapes.
#
# | X | | | | F | |
# |---|---|---|---|---|---|
# | 3 | 4 | 5 | | 2 | 0 |
# | 2 | 1 | -3 | | -3 | 1 |
# | 4 | -2 | 0 | | | |

# %% id="q2-data"
X = np.array([[3, 4, 5], [2, 1, -3], [4, -2, 0]], dtype=float)
F = np.array([[2, 0], [-3, 1]], dtype=float)


# %% id="q2-function"
def conv2d_backward(X, F, dO):
    """Gradients of O = valid cross-correlation of X (H×W) with F (kh×kw), stride 1, one channel.

    dO is dL/dO, of shape (H - kh + 1, W - kw + 1).
    Returns (dF, dX): dL/dF with F's shape and dL/dX with X's shape, as numpy arrays.
    """
    # BEGIN PROMPT
    # # TODO: numpy only
    # raise NotImplementedError
    # END PROMPT
    # BEGIN SOLUTION
    X, F, dO = (np.asarray(a, dtype=float) for a in (X, F, dO))
    kh, kw = F.shape
    dF, dX = np.zeros_like(F), np.zeros_like(X)
    # O[i, j] = sum(X[i:i+kh, j:j+kw] * F): each output touches one window of X and all of F.
    # dL/dF = valid cross-correlation of X with dO; dL/dX = full convolution of dO with F.
    for i in range(dO.shape[0]):
        for j in range(dO.shape[1]):
            dF += dO[i, j] * X[i:i + kh, j:j + kw]
            dX[i:i + kh, j:j + kw] += dO[i, j] * F
    return dF, dX
    # END SOLUTION


# %% id="q2-answer"
# BEGIN PROMPT
# # TODO: dL/dO for the 2×2 output O (GAP follows, dL/d(GAP) = 1), then the two gradients:
# # dO = ...
# # dF, dX = conv2d_backward(X, F, dO)
# # ANSWERS["q2"]["dL_dF"] = dF.tolist()
# # ANSWERS["q2"]["dL_dX"] = dX.tolist()
# END PROMPT
# BEGIN SOLUTION
# GAP averages the four outputs, so dL/dO[i, j] = 1 × 1/4 for each of them.
dO = np.full((2, 2), 1 / 4)
dF, dX = conv2d_backward(X, F, dO)
ANSWERS["q2"]["dL_dF"] = dF.tolist()
ANSWERS["q2"]["dL_dX"] = dX.tolist()
print("dL/dF =\n", dF)
print("dL/dX =\n", dX)
# END SOLUTION

# %% [markdown] id="q3-md"
# ## سوال ۳ الف — تعداد پارامترها (۱۰ نمره) / Question 3a — parameter counts (10 points)
#
# <div dir="rtl">
#
# تعداد پارامترهای شبکهٔ زیر را محاسبه کنید و محاسبات هر لایه را کامل بنویسید. مدل را با Keras و **دقیقاً
# مانند صورت سوال** در متغیر `q3_model` بسازید. سپس برای هر لایه شکل خروجی (بدون محور دسته) و تعداد
# پارامترها، و تعداد کل پارامترها را در `ANSWERS["q3a"]` بنویسید. محاسبهٔ هر لایه را نشان دهید (برای نمونه
# `((7 × 3) + 1) × 16`)؛ `model.summary()` برای بررسی پاسخ مناسب است، نه به‌جای محاسبه.
#
# </div>
#
# Count the parameters of the network below, showing the computation for every layer.  Build it with
# Keras, **exactly as written**, as `q3_model`; then write each layer's output shape (without the batch
# axis) and parameter count, and the total, in `ANSWERS["q3a"]`.  Show how each number is computed
# (e.g. `((7 × 3) + 1) × 16`); `model.summary()` is for checking, not instead of the computation.
#
# ```python
# model = Sequential()
# model.add(Input(shape=(500, 7)))
# model.add(Conv1D(filters=16, kernel_size=3, activation="relu"))
# model.add(MaxPool1D())
# model.add(Conv1D(filters=32, kernel_size=5, activation="relu"))
# model.add(MaxPool1D())
# model.add(Conv1D(filters=64, kernel_size=5, activation="relu"))
# model.add(MaxPool1D())
# model.add(Flatten())
# model.add(Dense(units=128, activation="relu"))
# model.add(Dense(units=5, activation="softmax"))
# ```

# %% id="q3-model"
import keras
from keras import layers

# BEGIN PROMPT
# # TODO: the handout's model, exactly as written
# q3_model = None
# END PROMPT
# BEGIN SOLUTION
q3_model = keras.Sequential([
    keras.Input(shape=(500, 7)),
    layers.Conv1D(filters=16, kernel_size=3, activation="relu"),
    layers.MaxPool1D(),
    layers.Conv1D(filters=32, kernel_size=5, activation="relu"),
    layers.MaxPool1D(),
    layers.Conv1D(filters=64, kernel_size=5, activation="relu"),
    layers.MaxPool1D(),
    layers.Flatten(),
    layers.Dense(units=128, activation="relu"),
    layers.Dense(units=5, activation="softmax"),
])
# END SOLUTION

# %% id="q3-answer"
# BEGIN PROMPT
# # TODO: for every layer, its output shape (without the batch axis) and parameter count, with the
# # computation, e.g.
# # ANSWERS["q3a"]["layers"]["conv1d"] = {"output_shape": [..., ...], "params": ((7 * 3) + 1) * 16}
# # ANSWERS["q3a"]["total_params"] = ...
# END PROMPT
# BEGIN SOLUTION
# Conv1D, padding "valid", stride 1: length - kernel_size + 1; (in_channels × kernel_size + 1) × filters
# MaxPool1D() (pool_size 2, stride 2, "valid"): length // 2; no parameters
# Dense: (inputs + 1) × units
def conv1d(length, channels, filters, kernel_size):
    return (length - kernel_size + 1, filters), (channels * kernel_size + 1) * filters

def pool(length, channels):
    return (length // 2, channels), 0

rows = {}
shape = (500, 7)
shape, params = conv1d(*shape, filters=16, kernel_size=3); rows["conv1d"] = (shape, params)          # ((7×3)+1)×16
shape, params = pool(*shape); rows["max_pooling1d"] = (shape, params)
shape, params = conv1d(*shape, filters=32, kernel_size=5); rows["conv1d_1"] = (shape, params)        # ((16×5)+1)×32
shape, params = pool(*shape); rows["max_pooling1d_1"] = (shape, params)
shape, params = conv1d(*shape, filters=64, kernel_size=5); rows["conv1d_2"] = (shape, params)        # ((32×5)+1)×64
shape, params = pool(*shape); rows["max_pooling1d_2"] = (shape, params)
flat = shape[0] * shape[1]; rows["flatten"] = ((flat,), 0)                                            # 59×64
rows["dense"] = ((128,), (flat + 1) * 128)
rows["dense_1"] = ((5,), (128 + 1) * 5)

for name, (shape, params) in rows.items():
    ANSWERS["q3a"]["layers"][name] = {"output_shape": list(shape), "params": params}
    print(f"{name:16} {shape!s:12} {params:>8,}")
ANSWERS["q3a"]["total_params"] = sum(params for _, params in rows.values())
print("total", ANSWERS["q3a"]["total_params"])

# the same numbers from Keras
assert [list(l.output.shape[1:]) for l in q3_model.layers] == [list(s) for s, _ in rows.values()]
assert [l.count_params() for l in q3_model.layers] == [p for _, p in rows.values()]
assert q3_model.count_params() == ANSWERS["q3a"]["total_params"]
# END SOLUTION

# %% [markdown] id="q6-md"
# ## سوال ۶ ج — فیلتر ۱×۱ / Question 6f — a 1×1 filter
#
# <div dir="rtl">
#
# یک مدل همگشتی ساده با فیلتر ۱×۱ (لایهٔ `Conv2D` با `kernel_size=1`) با Keras در متغیر `q6_model` بسازید و
# تاثیر آن را روی یک ورودی دلخواه با مقایسهٔ اندازهٔ ورودی و خروجی مدل نشان دهید: فیلتر ۱×۱ باید **تعداد
# کانال‌ها** را تغییر دهد ولی **اندازهٔ مکانی** (ارتفاع و عرض) را نه. شکل ورودی و خروجی (بدون محور دسته) را در
# `ANSWERS["q6"]` بنویسید؛ داور مدل شما را روی یک ورودی تصادفی با همان شکل اجرا می‌کند. پاسخ بخش‌های الف تا ث
# تشریحی است (انتهای نوت‌بوک).
#
# </div>
#
# Build a simple convolutional model with a 1×1 filter (a `Conv2D` with `kernel_size=1`) in Keras as
# `q6_model`, and show its effect on an input of your choice by comparing the model's input and output
# shapes: the 1×1 filter must change the **number of channels** but not the **spatial size** (height
# and width).  Write both shapes (without the batch axis) in `ANSWERS["q6"]`; the grader runs your
# model on a random input of that shape.  Parts a–e are written answers (end of the notebook).

# %% id="q6-model"
import keras
from keras import layers

# BEGIN PROMPT
# # TODO: a simple convolutional model with a 1×1 filter
# q6_model = None
# END PROMPT
# BEGIN SOLUTION
# a 3×3 convolution makes 64 feature maps; the 1×1 convolution mixes them into 16, pixel by pixel
q6_model = keras.Sequential([
    keras.Input(shape=(32, 32, 3)),
    layers.Conv2D(filters=64, kernel_size=3, padding="same", activation="relu"),
    layers.Conv2D(filters=16, kernel_size=1, activation="relu"),
], name="q6")
q6_model.summary()
# END SOLUTION

# BEGIN PROMPT
# # TODO: run it on an input of your choice and compare the shapes
# # ANSWERS["q6"]["input_shape"] = [...]
# # ANSWERS["q6"]["output_shape"] = [...]
# END PROMPT
# BEGIN SOLUTION
x = np.random.default_rng(SEED).normal(size=(4, 32, 32, 3)).astype("float32")
y = q6_model.predict(x, verbose=0)
ANSWERS["q6"]["input_shape"] = list(x.shape[1:])
ANSWERS["q6"]["output_shape"] = list(y.shape[1:])
print("input", x.shape[1:], "→ output", y.shape[1:])
# END SOLUTION

# %% [markdown] id="written-answers"
# ## پاسخ‌های تشریحی / Written answers
#
# <div dir="rtl">
#
# **سوال ۱ (۱۵ نمره)** — الف) مشکلات نرخ یادگیری بسیار بالا و تشخیص آن؛ ب) مشکلات نرخ یادگیری بسیار پایین و
# تشخیص آن؛ پ) نقطهٔ زینی و مقایسهٔ Adam و SGD؛ ت) کدام نمودار شیب نزولی دسته‌ای و کدام دسته‌ای کوچک است.
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: نرخ بالا — هزینه همگرا نمی‌شود یا واگرا می‌شود (نمودار هزینه بر حسب تکرار نوسان شدید دارد یا بالا
# می‌رود)؛ نرخ پایین — همگرایی بسیار کند (هزینه تقریباً خطی و آهسته کم می‌شود)؛ نقطهٔ زینی — گرادیان صفر
# است ولی نه کمینه است نه بیشینه؛ نویز SGD گاهی به فرار از آن کمک می‌کند و Adam با تکانه و نرخ تطبیقی بهتر
# از آن عبور می‌کند؛ نمودار صاف A شیب نزولی دسته‌ای و نمودار نویزی B دسته‌ای کوچک است.
# <!-- END SOLUTION -->
#
# **سوال ۳ ب (۱۰ نمرهٔ امتیازی)** — مقایسهٔ Conv2D و Conv3D و کاربرد Conv3D.
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: هستهٔ Conv2D در دو بعد مکانی حرکت می‌کند و Conv3D در سه بعد (مثلاً مکان و زمان یا سه بعد حجمی)؛
# Conv3D برای داده‌های حجمی پزشکی (MRI، CT) و ویدیو به کار می‌رود و پارامتر و زمان آموزش بیشتری دارد.
# <!-- END SOLUTION -->
#
# **سوال ۵ (۱۰ نمره)** — یک کاربرد واقعی که مزایای لایه‌های همگشتی در آن مفید است، و حالتی که ویژگی‌های
# آن‌ها چالش ایجاد می‌کند.
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: در دسته‌بندی تصاویر، اشتراک وزن و اتصال محلی پارامترها را کم و ویژگی‌ها را مستقل از مکان می‌کند؛
# در عوض، ناوردایی محدود به چرخش و مقیاس و نیاز به دادهٔ زیاد از معایب آن است.
# <!-- END SOLUTION -->
#
# **سوال ۶ الف تا ث (۱۰ نمره)** — الف) هدف فیلترهای ۱×۱ و کاهش تعداد نقشه‌های ویژگی؛ ب) نقشهٔ ویژگی پس از
# فیلتر ۱×۱ چه اطلاعاتی دارد؛ پ) تفاوت آن با تصویر اصلی و با فیلترهای بزرگ‌تر؛ ت) مدل‌هایی که از آن استفاده
# کرده‌اند؛ ث) حالت‌هایی که فیلتر ۱×۱ مفید نیست.
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: فیلتر ۱×۱ در هر مکان ترکیبی خطی (و پس از فعال‌سازی، غیرخطی) از کانال‌ها می‌سازد؛ با تعداد فیلتر کمتر از
# کانال‌های ورودی، عمق را کم و محاسبهٔ لایه‌های بعدی را ارزان می‌کند بی‌آن‌که اندازهٔ مکانی تغییر کند؛ نقشهٔ
# خروجی هم‌اندازهٔ ورودی است ولی هر پیکسل آن ترکیب ویژگی‌های همان پیکسل است، نه همسایه‌ها (میدان دید ۱)؛ در
# Inception (GoogLeNet)، Network in Network و گلوگاه‌های ResNet به کار رفته است؛ وقتی کانال‌ها کم‌اند یا
# ویژگی‌های مکانی همسایه لازم است، سودی ندارد و فقط پارامتر و لایه اضافه می‌کند.
# <!-- END SOLUTION -->
#
# </div>
#
# Q1 (15), Q3b (10, bonus), Q5 (10) and Q6a–e (10): write your answers above, under «پاسخ» (English is
# fine too).
