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
# # تمرین سری دوم — مبانی یادگیری عمیق (دکتر مرضیه داوودآبادی)
# # Homework 2 — Fundamentals of Deep Learning (Dr. Marzieh Davoodabadi)
#
# <div dir="rtl">
#
# دانشگاه علم و صنعت ایران، نیمسال اول ۱۴۰۲-۱۴۰۳ — مهلت تحویل: ۱۶ آبان ۱۴۰۲، ساعت ۲۳:۵۹.
#
# - پاسخ سوال‌های **۱ پ** (Dropout) و **۲ پ** (منظم‌سازی) را در همین نوت‌بوک و در دیکشنری `ANSWERS` بنویسید؛
#   این پاسخ‌ها به‌طور خودکار بررسی می‌شوند.
# - پاسخ سوال‌های **۱ الف و ب**، **۲ الف و ب** و **۳** تشریحی است؛ آن‌ها را در سلول‌های متنی انتهای نوت‌بوک
#   بنویسید. دستیاران آموزشی این پاسخ‌ها را تصحیح می‌کنند.
# - سوال‌های ۴ و ۵ نوت‌بوک‌های جداگانهٔ خود را دارند.
# - ساختار `ANSWERS` را تغییر ندهید. نوت‌بوک باید از ابتدا تا انتها بدون خطا اجرا شود و به اینترنت یا
#   فایل‌های بیرون از آن نیازی نداشته باشد. فقط از numpy استفاده کنید.
#
# </div>
#
# Write the answers of questions **1c** (dropout) and **2c** (regularisation) in this notebook, in the
# `ANSWERS` dict: they are checked automatically.  Questions **1a–b**, **2a–b** and **3** are written
# answers for the TAs: use the text cells at the end.  Questions 4 and 5 have their own notebooks.
# Keep the structure of `ANSWERS`; the notebook must run from top to bottom without errors and without
# the internet or files from outside it.  numpy is all you need.

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
}

# %% [markdown] id="q1c-md"
# ## سوال ۱ پ — Dropout / Question 1c — dropout
#
# <div dir="rtl">
#
# یکی از راه‌های جلوگیری از بیش‌برازش استفاده از Dropout است. فرض کنید مقادیر یکی از لایه‌های یک شبکهٔ عصبی
# (`OUTPUT`) و ماسک Dropout (`MASK`) به صورت زیر باشند. مقادیر نهایی این لایه بعد از اعمال Dropout را در
# مرحلهٔ آموزش و آزمون، یک بار برای Dropout معمولی و یک بار برای Dropout معکوس (Inverted Dropout)، محاسبه
# کنید و در `ANSWERS["q1c"]` بنویسید. احتمال نگه‌داشتن `p` را از روی ماسک به دست آورید.
#
# </div>
#
# A layer's values (`OUTPUT`) and a dropout mask (`MASK`) are given below.  Compute the layer's values
# after dropout in training and at test time, for standard and for inverted dropout, and write the
# four tables in `ANSWERS["q1c"]`.  Take the keep-probability `p` from the mask.
#
# | OUTPUT | | | | | MASK | | | |
# |---|---|---|---|---|---|---|---|---|
# | 1.6 | -0.7 | -0.2 | 1.9 | | 1 | 0 | 0 | 1 |
# | -2.3 | 2.5 | 2.5 | -0.9 | | 0 | 1 | 1 | 0 |
# | -0.5 | 3.2 | 3.7 | -0.4 | | 0 | 1 | 1 | 0 |
# | 1.3 | -0.4 | -2.6 | 1.2 | | 1 | 0 | 0 | 1 |

# %% id="q1c-data"
OUTPUT = np.array([[1.6, -0.7, -0.2, 1.9],
                   [-2.3, 2.5, 2.5, -0.9],
                   [-0.5, 3.2, 3.7, -0.4],
                   [1.3, -0.4, -2.6, 1.2]])
MASK = np.array([[1, 0, 0, 1],
                 [0, 1, 1, 0],
                 [0, 1, 1, 0],
                 [1, 0, 0, 1]])

# %% id="q1c-answer"
# BEGIN PROMPT
# # TODO: p from the mask, then the four tables, e.g.
# # p = ...
# # ANSWERS["q1c"]["standard"]["train"] = (...).tolist()
# END PROMPT
# BEGIN SOLUTION
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
        print(np.array(ANSWERS["q1c"][kind][phase]))
# END SOLUTION

# %% [markdown] id="q2c-md"
# ## سوال ۲ پ — منظم‌سازی L1 و L2 / Question 2c — L1 and L2 regularisation
#
# <div dir="rtl">
#
# فرض کنید مدلی داریم و برای جلوگیری از بیش‌برازش می‌خواهیم از منظم‌سازی L1 و L2 استفاده کنیم. برای این کار
# چهار آزمایش اجرا کرده‌ایم و وزن‌های به دست آمده در زیر آمده‌اند. مشخص کنید در هر آزمایش از کدام منظم‌سازی
# استفاده شده است: `"none"` (بدون منظم‌سازی)، `"L1"` یا `"L2"`، و پاسخ را در `ANSWERS["q2c"]` بنویسید. دلیل
# انتخاب خود را در یک سلول متنی توضیح دهید.
#
# </div>
#
# Four experiments gave the weights below.  Which regularisation did each use: `"none"`, `"L1"` or
# `"L2"`?  Write the choices in `ANSWERS["q2c"]` and explain them in a text cell.
#
# - W_exp1 = [0.26, 0.25, 0.25, 0.25]
# - W_exp2 = [1, 0, 0, 0]
# - W_exp3 = [13.3, 23.5, 53.2, 5.1]
# - W_exp4 = [0.5, 1.2, 8.5, 0]

# %% id="q2c-answer"
# BEGIN PROMPT
# # TODO: "none", "L1" or "L2" for each experiment
# # ANSWERS["q2c"]["W_exp1"] = ...
# END PROMPT
# BEGIN SOLUTION
# L1 drives weights exactly to 0 (sparse); L2 shrinks all of them towards small, similar values;
# large weights with no zero among them were not regularised.
ANSWERS["q2c"]["W_exp1"] = "L2"    # [0.26, 0.25, 0.25, 0.25]: small and even, none zero
ANSWERS["q2c"]["W_exp2"] = "L1"    # [1, 0, 0, 0]: all but one exactly zero
ANSWERS["q2c"]["W_exp3"] = "none"  # [13.3, 23.5, 53.2, 5.1]: large
ANSWERS["q2c"]["W_exp4"] = "L1"    # [0.5, 1.2, 8.5, 0]: smaller than 3, with an exact zero
print(ANSWERS["q2c"])
# END SOLUTION

# %% [markdown] id="written-answers"
# ## پاسخ‌های تشریحی / Written answers
#
# <div dir="rtl">
#
# **سوال ۱ الف و ب** — مشکل بیش‌برازش و کم‌برازش در شبکه‌های عصبی؛ تشخیص بیش‌برازش مدلی که قبلاً آموزش دیده است.
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: بیش‌برازش یعنی مدل داده‌های آموزشی (و نویز آن‌ها) را بیش از اندازه یاد گرفته و قابلیت تعمیم ندارد
# (بایاس کم، واریانس زیاد)؛ کم‌برازش یعنی مدل حتی رابطهٔ داده‌های آموزشی را هم یاد نگرفته (بایاس زیاد، واریانس
# کم). بیش‌برازش از مقایسهٔ خطای آموزش و آزمون تشخیص داده می‌شود؛ بدون اطلاعات فرایند آموزش نمی‌توان دربارهٔ
# آن قضاوت کرد.
# <!-- END SOLUTION -->
#
# **سوال ۲ الف و ب** — اثر K بر بایاس و واریانس در KNN؛ درست یا غلط بودن سه گزاره دربارهٔ منظم‌سازی، با دلیل؛
# و دلیل انتخاب‌های سوال ۲ پ.
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: K کوچک (مثلاً ۱): بایاس کم و واریانس زیاد (بیش‌برازش)؛ با بزرگ شدن K بایاس زیاد و واریانس کم می‌شود.
# گزاره‌ها: ۱) درست — لاندای نامناسب به کم‌برازش یا بیش‌برازش می‌انجامد؛ ۲) غلط — ویژگی‌های زیاد مدل را
# پیچیده‌تر و بیش‌برازش را محتمل‌تر می‌کند؛ ۳) غلط — ضریب بزرگ‌تر بیش‌برازش را کم می‌کند (و ممکن است به
# کم‌برازش برسد). ۲ پ: L1 وزن‌ها را دقیقاً صفر می‌کند (آزمایش ۲ و ۴)، L2 همهٔ وزن‌ها را کوچک و نزدیک به هم
# می‌کند (آزمایش ۱)، و وزن‌های بزرگ آزمایش ۳ نشان می‌دهد منظم‌سازی نداشته است.
# <!-- END SOLUTION -->
#
# **سوال ۳ (۱۵ نمره)** — تقطیر دانش چیست و به چه منظور استفاده می‌شود؛ روند یادگیری معماری معلم و شاگرد؛
# وزن‌های شبکهٔ شاگرد با کدام تابع ضرر به‌روزرسانی می‌شوند.
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: تقطیر دانش انتقال دانش یک شبکهٔ بزرگ (معلم) به شبکه‌ای کوچک‌تر (شاگرد) است تا با توان محاسباتی کمتر
# اجرا شود. وزن‌های معلم ثابت‌اند؛ یک ورودی به هر دو شبکه داده می‌شود و شاگرد با مجموع دو خطا آموزش می‌بیند:
# خطای دسته‌بندی (مثلاً categorical cross-entropy) و خطای شباهت خروجی یا ویژگی‌های آن به معلم.
# <!-- END SOLUTION -->
#
# </div>
#
# Q1a–b, Q2a–b (with the reasons for 2c) and Q3 (15): write your answers above, under «پاسخ» (English
# is fine too).
