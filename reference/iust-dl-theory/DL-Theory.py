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
# # تمرین تئوری — مبانی یادگیری عمیق (دکتر مرضیه داوودآبادی)
# # Theory sheet — Fundamentals of Deep Learning (Dr. Marzieh Davoodabadi)
#
# <div dir="rtl">
#
# دانشگاه علم و صنعت ایران.
#
# - پاسخ عددی سوال‌های **۱ الف**، **۱ ج**، **۱ د** و **۴ الف** را در دیکشنری `ANSWERS` بنویسید و دو تابع
#   `conv_matrix` و `full_conv_matrix` را پیاده‌سازی کنید؛ این‌ها به‌طور خودکار بررسی می‌شوند. محاسبه را در کد
#   نشان دهید (برای نمونه `3 * 3 * 16 * 32 + 32`)، نه فقط عدد نهایی را.
# - پاسخ سوال‌های **۱ ب**، بخش تشریحی **۱ د**، **۲**، **۳** و **۴ ب** تشریحی است؛ آن‌ها را در سلول متنی انتهای
#   نوت‌بوک بنویسید. دستیاران آموزشی این پاسخ‌ها را تصحیح می‌کنند.
# - شکل‌ها را بدون محور دسته و به ترتیب ارتفاع × عرض × کانال بنویسید، مثل `[35, 35, 32]`.
# - ساختار `ANSWERS` و نام توابع را تغییر ندهید. نوت‌بوک باید از ابتدا تا انتها بدون خطا اجرا شود و به اینترنت
#   یا فایل‌های بیرون از آن نیازی نداشته باشد؛ numpy کافی است.
#
# </div>
#
# Write the numeric answers of questions **1a**, **1c**, **1d** and **4a** in the `ANSWERS` dict and
# implement the two functions `conv_matrix` and `full_conv_matrix`: they are checked automatically.
# Show the computation in code (e.g. `3 * 3 * 16 * 32 + 32`), not only the result.  Questions **1b**, the
# written part of **1d**, **2**, **3** and **4b** are written answers for the TAs: use the text cell at the
# end.  Write shapes without the batch axis, as height × width × channels, e.g. `[35, 35, 32]`.  Keep the
# structure of `ANSWERS` and the function names; the notebook must run from top to bottom without errors
# and without the internet or files from outside it (numpy is enough).

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
    "q1a": {
        # the side (in pixels) of the square region one neuron of layer 4 sees in each earlier layer
        "side": {"layer3": None, "layer2": None, "layer1": None, "layer0": None},
        "pixels": None,  # how many pixels of the input (layer 0) it sees
    },
    "q1c": {
        "output_shape": None,  # [height, width, channels]
        "params": None,        # weights and biases
    },
    "q1d": {
        # every layer: its output shape ([height, width, channels], or [n] after flatten) and its parameters
        "original": {
            "layers": {name: {"output_shape": None, "params": None}
                       for name in ("conv1", "conv2", "pool", "flatten", "fc1", "fc2")},
            "total_params": None,
        },
        "swapped": {  # conv2 first, then conv1, then the 7×7 max pool of stride 5
            "layers": {name: {"output_shape": None, "params": None}
                       for name in ("conv2", "conv1", "pool", "flatten", "fc1", "fc2")},
            "total_params": None,
        },
    },
    "q4a": {
        # lists of rows; each entry "W00", "W01", "W10", "W11" or 0
        "valid_matrix": None,  # 4×9: y (4 values) = A @ x (the 3×3 input read row by row)
        "full_matrix": None,   # 16×9: the full convolution (zero padding), y has 16 values
    },
}

# %% [markdown] id="q1a-md"
# ## سوال ۱ الف — میدان دید (۱۰ نمره) / Question 1a — receptive field (10 points)
#
# <div dir="rtl">
#
# در یک شبکهٔ همگشتی، لایه‌های ۱ تا ۴ هر کدام یک همگشت ۳×۳ با گام ۱ هستند و لایهٔ ۰ تصویر ورودی است. یک نورون
# در لایهٔ چهارم چند پیکسل از تصویر ورودی را «می‌بیند»؟ برای هر لایهٔ قبلی ضلع ناحیهٔ مربعی‌ای را که این نورون به آن
# وابسته است در `ANSWERS["q1a"]["side"]` و تعداد پیکسل‌های ورودی را در `ANSWERS["q1a"]["pixels"]` بنویسید.
#
# </div>
#
# In a convolutional network, layers 1–4 are each a 3×3 convolution with stride 1 and layer 0 is the input
# image.  How many input pixels does one neuron of layer 4 "see"?  Write the side of the square region it
# depends on in each earlier layer in `ANSWERS["q1a"]["side"]`, and the number of input pixels in
# `ANSWERS["q1a"]["pixels"]`.

# %% id="q1a-answer"
# BEGIN PROMPT
# # TODO: the side seen in layer 3, 2, 1 and 0, then the pixel count
# # ANSWERS["q1a"]["side"]["layer3"] = ...
# END PROMPT
# BEGIN SOLUTION
# Each 3×3 convolution (stride 1) widens the region by 3 - 1 = 2 pixels: 1 neuron of layer 4 sees
# 3×3 of layer 3, 5×5 of layer 2, 7×7 of layer 1 and 9×9 of layer 0 (four convolutions).
side = 1
for layer in (3, 2, 1, 0):
    side += 3 - 1
    ANSWERS["q1a"]["side"][f"layer{layer}"] = side
ANSWERS["q1a"]["pixels"] = ANSWERS["q1a"]["side"]["layer0"] ** 2
print(ANSWERS["q1a"])
# END SOLUTION

# %% [markdown] id="q1c-md"
# ## سوال ۱ ج — یک لایهٔ همگشتی (۱۰ نمره) / Question 1c — one convolutional layer (10 points)
#
# <div dir="rtl">
#
# ورودی یک لایهٔ همگشتی تصویری ۳۵×۳۵ با ۱۶ کانال است. لایه ۳۲ فیلتر ۳×۳ با گام ۱ و لایه‌گذاری `same` دارد. شکل
# خروجی و تعداد پارامترهای لایه (وزن‌ها و بایاس‌ها) را با نوشتن محاسبه به دست آورید.
#
# </div>
#
# The input of a convolutional layer is a 35×35 image with 16 channels.  The layer has 32 filters of 3×3,
# stride 1, `same` padding.  Compute its output shape and its number of parameters (weights and biases),
# showing the computation.

# %% id="q1c-answer"
# BEGIN PROMPT
# # TODO: ANSWERS["q1c"]["output_shape"] = [...]; ANSWERS["q1c"]["params"] = ...
# END PROMPT
# BEGIN SOLUTION
# "same" padding with stride 1 keeps 35×35; one feature map per filter.
ANSWERS["q1c"]["output_shape"] = [35, 35, 32]
# each filter: 3 × 3 × 16 weights and one bias
ANSWERS["q1c"]["params"] = 3 * 3 * 16 * 32 + 32
print(ANSWERS["q1c"])
# END SOLUTION

# %% [markdown] id="q1d-md"
# ## سوال ۱ د — شبکهٔ ۲۲۷×۲۲۷×۳ (۲۰ نمره) / Question 1d — the 227×227×3 network (20 points)
#
# <div dir="rtl">
#
# شبکهٔ زیر را در نظر بگیرید (همهٔ همگشت‌ها با لایه‌گذاری `same` و گام ۱):
#
# ورودی ۲۲۷×۲۲۷×۳ ← `conv1`: ۲۵۶ فیلتر ۵×۵ ← `conv2`: ۱۲۸ فیلتر ۵×۵ ← ادغام بیشینه ۵×۵ با گام ۲ ← `flatten` ←
# لایهٔ تمام‌متصل `fc1` با ۵۱۲ نورون ← لایهٔ تمام‌متصل `fc2` با ۱۰۰ نورون.
#
# شکل خروجی و تعداد پارامترهای هر لایه و تعداد کل پارامترها را در `ANSWERS["q1d"]["original"]` بنویسید. سپس جای
# `conv1` و `conv2` را عوض کنید (اول ۱۲۸ فیلتر، بعد ۲۵۶ فیلتر) و لایهٔ ادغام را ۷×۷ با گام ۵ بگیرید؛ همین جدول را
# برای این شبکه در `ANSWERS["q1d"]["swapped"]` بنویسید. در سلول متنی انتها توضیح دهید چرا این شبکه این‌قدر پارامتر
# دارد و چطور می‌توان آن را کم کرد.
#
# </div>
#
# Take this network (every convolution `same` padding, stride 1): input 227×227×3 → `conv1`: 256 filters
# of 5×5 → `conv2`: 128 filters of 5×5 → max pool 5×5, stride 2 → `flatten` → dense `fc1`, 512 units →
# dense `fc2`, 100 units.  Write each layer's output shape and parameter count, and the total, in
# `ANSWERS["q1d"]["original"]`.  Then swap `conv1` and `conv2` (128 filters first, then 256) and make the
# pool 7×7 with stride 5: write the same table for that network in `ANSWERS["q1d"]["swapped"]`.  In the
# text cell at the end, explain why the network has so many parameters and how to reduce them.

# %% id="q1d-answer"
# BEGIN PROMPT
# # TODO: both tables, each number with its computation, e.g.
# # ANSWERS["q1d"]["original"]["layers"]["conv1"] = {"output_shape": [..., ..., ...], "params": ... * ... + ...}
# END PROMPT
# BEGIN SOLUTION
def conv(shape, filters, k):  # "same", stride 1: the size stays; (k × k × in_channels + 1) × filters
    h, w, c = shape
    return [h, w, filters], (k * k * c + 1) * filters

def maxpool(shape, k, stride):  # "valid": (size - k) // stride + 1; no parameters
    h, w, c = shape
    return [(h - k) // stride + 1, (w - k) // stride + 1, c], 0

def dense(shape, units):  # (inputs + 1) × units
    return [units], (shape[0] + 1) * units

for variant, convs, pool in [("original", [("conv1", 256), ("conv2", 128)], (5, 2)),
                             ("swapped", [("conv2", 128), ("conv1", 256)], (7, 5))]:
    table = ANSWERS["q1d"][variant]["layers"]
    shape = [227, 227, 3]
    for name, filters in convs:
        shape, params = conv(shape, filters, 5)
        table[name] = {"output_shape": shape, "params": params}
    shape, params = maxpool(shape, *pool)
    table["pool"] = {"output_shape": shape, "params": params}
    shape = [shape[0] * shape[1] * shape[2]]
    table["flatten"] = {"output_shape": shape, "params": 0}
    for name, units in [("fc1", 512), ("fc2", 100)]:
        shape, params = dense(shape, units)
        table[name] = {"output_shape": shape, "params": params}
    ANSWERS["q1d"][variant]["total_params"] = sum(row["params"] for row in table.values())
    for name, row in table.items():
        print(f"{variant:9} {name:8} {row['output_shape']!s:18} {row['params']:>12,}")
    print(f"{variant:9} total {ANSWERS['q1d'][variant]['total_params']:>33,}")
# END SOLUTION

# %% [markdown] id="q4a-md"
# ## سوال ۴ الف — همگشت به‌صورت ضرب ماتریسی (۲۰ نمره) / Question 4a — convolution as a matrix product (20 points)
#
# <div dir="rtl">
#
# ورودی `x` تصویری ۳×۳ است که سطر به سطر به برداری ۹تایی تبدیل می‌شود و هستهٔ همگشت ۲×۲ است:
# `W = [[W00, W01], [W10, W11]]`. همگشت (با هستهٔ وارونه‌شده، همان‌طور که در درس تعریف شد:
# `y[i, j] = Σ x[i + a, j + b] · W[1 - a, 1 - b]`) را به‌صورت ضرب ماتریسی `y = A x` بنویسید:
#
# 1. بدون لایه‌گذاری: `A` ماتریسی ۴×۹ است. آن را در `ANSWERS["q4a"]["valid_matrix"]` بنویسید.
# 2. با لایه‌گذاری صفر تا اندازهٔ کامل (full): خروجی ۴×۴ است و `A` ماتریسی ۱۶×۹. آن را در
#    `ANSWERS["q4a"]["full_matrix"]` بنویسید.
#
# هر درایه یکی از رشته‌های `"W00"`، `"W01"`، `"W10"`، `"W11"` یا عدد `0` است. سپس تابع‌های
# `conv_matrix(input_size, kernel)` و `full_conv_matrix(input_size, kernel)` را با numpy برای هر اندازهٔ ورودی
# `(H, W)` و هر هستهٔ عددی (آرایهٔ دوبعدی) بنویسید: ماتریس `A` را برگردانند به‌طوری که `A @ x.ravel()` برابر همگشت
# (به‌ترتیب بدون لایه‌گذاری و کامل) به‌صورت سطر به سطر باشد. داور آن‌ها را با اندازه‌ها و هسته‌های تصادفی امتحان
# می‌کند.
#
# </div>
#
# The input `x` is a 3×3 image read row by row as a 9-vector; the kernel is 2×2,
# `W = [[W00, W01], [W10, W11]]`.  Write the convolution (the kernel flipped, as defined in the lectures:
# `y[i, j] = Σ x[i + a, j + b] · W[1 - a, 1 - b]`) as a matrix product `y = A x`:
#
# 1. without padding, `A` is 4×9: write it in `ANSWERS["q4a"]["valid_matrix"]`;
# 2. zero-padded to the full convolution, the output is 4×4 and `A` is 16×9: write it in
#    `ANSWERS["q4a"]["full_matrix"]`.
#
# Each entry is one of the strings `"W00"`, `"W01"`, `"W10"`, `"W11"` or the number `0`.  Then write, with
# numpy, `conv_matrix(input_size, kernel)` and `full_conv_matrix(input_size, kernel)` for any input size
# `(H, W)` and any numeric kernel (a 2-D array): each returns the matrix `A` with `A @ x.ravel()` equal to
# the convolution (without padding, and full), read row by row.  The grader calls them on random sizes
# and kernels.

# %% id="q4a-functions"
def conv_matrix(input_size, kernel):
    """The matrix A of the convolution (no padding, stride 1) of an input of `input_size` (H, W) by
    `kernel` (kh × kw): A @ x.ravel() == the (H-kh+1) × (W-kw+1) output, row by row."""
    # BEGIN PROMPT
    # raise NotImplementedError("question 4a")
    # END PROMPT
    # BEGIN SOLUTION
    H, W = input_size
    K = np.asarray(kernel)
    K = K if K.dtype == object else K.astype(float)  # an object kernel of names gives the symbolic matrix
    kh, kw = K.shape
    oh, ow = H - kh + 1, W - kw + 1
    A = np.zeros((oh * ow, H * W), dtype=K.dtype)
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):  # y[i, j] += x[i + a, j + b] · K[kh-1-a, kw-1-b] (the kernel flipped)
                    A[i * ow + j, (i + a) * W + (j + b)] = K[kh - 1 - a, kw - 1 - b]
    return A
    # END SOLUTION


def full_conv_matrix(input_size, kernel):
    """The matrix A of the full convolution (zero padding of kh-1 and kw-1 on every side) of an input of
    `input_size` (H, W) by `kernel`: A @ x.ravel() == the (H+kh-1) × (W+kw-1) output, row by row."""
    # BEGIN PROMPT
    # raise NotImplementedError("question 4a")
    # END PROMPT
    # BEGIN SOLUTION
    H, W = input_size
    K = np.asarray(kernel)
    K = K if K.dtype == object else K.astype(float)
    kh, kw = K.shape
    oh, ow = H + kh - 1, W + kw - 1
    A = np.zeros((oh * ow, H * W), dtype=K.dtype)
    for p in range(H):
        for q in range(W):
            for a in range(kh):
                for b in range(kw):  # x[p, q] · K[a, b] lands on y[p + a, q + b]
                    A[(p + a) * ow + (q + b), p * W + q] = K[a, b]
    return A
    # END SOLUTION

# %% id="q4a-answer"
# BEGIN PROMPT
# # TODO: the two matrices as lists of rows, e.g. ANSWERS["q4a"]["valid_matrix"] = [[...9 entries...], ...]
# END PROMPT
# BEGIN SOLUTION
# The same functions with a kernel of names give the two matrices.
W_names = np.array([["W00", "W01"], ["W10", "W11"]], dtype=object)
ANSWERS["q4a"]["valid_matrix"] = conv_matrix((3, 3), W_names).tolist()
ANSWERS["q4a"]["full_matrix"] = full_conv_matrix((3, 3), W_names).tolist()
for row in ANSWERS["q4a"]["valid_matrix"]:
    print(row)

# check with numbers: the valid output is the middle of the full one (the same flipped kernel)
x, w = np.arange(9.0).reshape(3, 3), np.array([[1.0, 2.0], [3.0, 4.0]])
full = (full_conv_matrix((3, 3), w) @ x.ravel()).reshape(4, 4)
assert np.allclose((conv_matrix((3, 3), w) @ x.ravel()).reshape(2, 2), full[1:3, 1:3])
# END SOLUTION

# %% [markdown] id="written-answers"
# ## پاسخ‌های تشریحی / Written answers
#
# <div dir="rtl">
#
# **سوال ۱ ب (۵ نمره)** — لایه‌های ادغام (pooling) چه کاری انجام می‌دهند و چرا مفیدند؟
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: لایهٔ ادغام اندازهٔ مکانی نقشه‌های ویژگی را کم می‌کند و در نتیجه محاسبات و پارامترهای لایه‌های بعدی کم
# می‌شود. همچنین ویژگی‌های یک ناحیه از نقشهٔ ویژگی را خلاصه می‌کند، پس لایه‌های بعدی روی ویژگی‌های خلاصه‌شده کار
# می‌کنند نه روی جای دقیق آن‌ها؛ مدل نسبت به جابه‌جایی‌های کوچک ویژگی‌ها در تصویر مقاوم‌تر می‌شود.
# <!-- END SOLUTION -->
#
# **سوال ۱ د، بخش تشریحی (۴ نمره)** — چرا این شبکه این‌قدر پارامتر دارد و چطور می‌توان آن را کم کرد؟
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: تقریباً همهٔ پارامترها در `fc1` است: ورودی آن پس از flatten بیش از ۱٫۶ میلیون مقدار است و هر کدام به ۵۱۲
# نورون وصل می‌شود. راه‌ها: ادغام قوی‌تر یا گام بزرگ‌تر پیش از flatten (در نسخهٔ جابه‌جاشده ادغام ۷×۷ با گام ۵
# ورودی fc1 را به ۵۱۸٬۴۰۰ می‌رساند)، ادغام میانگین سراسری به‌جای flatten، همگشت ۱×۱ برای کم کردن کانال‌ها پیش از
# flatten، و فیلترهای کمتر در همگشت‌ها (در نسخهٔ جابه‌جاشده `conv2` با ۱۲۸ فیلتر اول می‌آید و پارامترهای لایهٔ اول
# کم می‌شود).
# <!-- END SOLUTION -->
#
# **سوال ۲ (۱۰ نمره)** — چرا معمولاً شبکه‌های عمیق و باریک را به شبکه‌های کم‌عمق و پهن (مثلاً با دو لایه) ترجیح
# می‌دهیم؟
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: ترکیب لایه‌ها، f(g(x))، توابعی بسیار غیرخطی‌تر از جمع آن‌ها، f(x) + g(x)، می‌سازد؛ هر لایه ویژگی‌های لایهٔ
# قبل را دوباره به کار می‌گیرد. شبکهٔ دولایه در نظریه تقریب‌زن عمومی است، اما برای همان پیچیدگی به نورون‌ها و
# پارامترهای بسیار بیشتری نیاز دارد؛ با عمیق شدن، با نورون و پارامتر کمتری به همان توان بیان می‌رسیم.
# <!-- END SOLUTION -->
#
# **سوال ۳ (۱۰ نمره)** — محوشدگی (vanishing) و انفجار (exploding) گرادیان را توضیح دهید و تفاوتشان را بگویید.
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: در پس‌انتشار، گرادیان لایه‌های اول حاصل‌ضرب مشتق‌های همهٔ لایه‌های بعدی است. اگر این عامل‌ها کوچک‌تر از
# یک باشند (مثلاً sigmoid یا tanh در ناحیهٔ اشباع)، گرادیان لایه‌های اول تقریباً صفر می‌شود و آن لایه‌ها عملاً به‌روز
# نمی‌شوند (محوشدگی). اگر بزرگ‌تر از یک باشند، که بیشتر از وزن‌های بزرگ می‌آید، گرادیان بزرگ و بزرگ‌تر می‌شود،
# به‌روزرسانی‌ها بسیار بزرگ می‌شوند و آموزش ناپایدار می‌شود یا واگرا می‌شود (انفجار). راه‌ها: ReLU، مقداردهی اولیهٔ
# مناسب، نرمال‌سازی دسته‌ای، اتصال‌های باقی‌مانده و برش گرادیان.
# <!-- END SOLUTION -->
#
# **سوال ۴ ب (۱۵ نمره)** — همگشت جزئی (partial یا masked convolution) چیست و کجا به کار می‌رود؟ همگشت جدایی‌پذیر
# مکانی (spatially separable) را با یک مثال توضیح دهید و بگویید چه سودی دارد.
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: همگشت جزئی جایی به کار می‌رود که بخشی از پیکسل‌ها از بین رفته‌اند (مثل بازسازی آثار هنری آسیب‌دیده):
# همگشت فقط روی پیکسل‌های معتبر با یک ماسک انجام می‌شود، X' = W (X ⊙ M)، و ماسک پس از هر لایه به‌روز می‌شود.
# همگشت جدایی‌پذیر مکانی یک هسته را به ضرب دو هستهٔ کوچک‌تر می‌شکند، مثلاً هستهٔ ۳×۳
# [[3, 6, 9], [4, 8, 12], [5, 10, 15]] برابر ستون [3, 4, 5] ضرب در سطر [1, 2, 3] است؛ به‌جای ۹ ضرب در هر مکان، دو
# همگشت با ۳ ضرب انجام می‌شود (۶ ضرب) و نتیجه یکسان است، پس محاسبه کمتر و سریع‌تر است.
# <!-- END SOLUTION -->
#
# </div>
#
# Q1b (5), the written part of Q1d (4), Q2 (10), Q3 (10) and Q4b (15): write your answers above, under
# «پاسخ» (English is fine too).
