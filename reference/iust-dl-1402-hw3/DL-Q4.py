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
# # سوال ۴ — دسته‌بندی تصاویر MRI تومور مغزی (۲۰ نمره)
# # Question 4 — brain-tumour MRI classification (20 points)
#
# <div dir="rtl">
#
# تمرین سری سوم مبانی یادگیری عمیق (دکتر مرضیه داوودآبادی)، دانشگاه علم و صنعت ایران.
#
# در این سوال دادگان تومور مغزی را دسته‌بندی می‌کنیم. اهداف سوال به ترتیب:
#
# - خواندن تصاویر دادگان که در مسیر `DATA_DIR/brain_mri` قرار دارند (پوشه‌های `yes` با تومور و `no` بدون تومور)
#   و استفاده از آن‌ها برای آموزش و ارزیابی شبکه؛
# - ساختن یک شبکهٔ عصبی همگشتی با **معماری یکسان** یک بار با *Sequential API* (در متغیر `seq_model`) و یک بار با
#   *Functional API* (در متغیر `func_model`)، و آموزش هر دو.
#
# داور دو مدل را لایه به لایه مقایسه می‌کند (نوع لایه، تنظیمات مانند تعداد فیلتر، اندازهٔ هسته، گام، لایه‌گذاری و
# تابع فعال‌سازی، شکل خروجی و تعداد پارامترها) و دقت هر دو را روی یک مجموعهٔ پنهان از تصاویر می‌سنجد. ورودی مدل‌ها
# همان خروجی `load_images` است: تصویر خاکستری ۶۴×۶۴ با مقادیر بین ۰ و ۱، با شکل `(N, 64, 64, 1)` (یا مقادیر خام
# ۰ تا ۲۵۵ اگر مدل خودش با لایهٔ `Rescaling(1/255)` آن را مقیاس کند)؛ خروجی آن‌ها احتمال یا لوجیت تومور `(N, 1)` یا
# امتیاز دو کلاس `(N, 2)` (اندیس ۱ = تومور) است. دو مدل باید دو شبکهٔ جدا باشند که هر کدام آموزش دیده است: مدلی
# که لایه‌ها یا وزن‌های مدل دیگر را به کار ببرد یا کپی کند، نمرهٔ آموزش و دقت نمی‌گیرد. از `EPOCHS` برای تعداد
# epochها استفاده کنید. نوت‌بوک باید بدون خطا و بدون اینترنت از ابتدا تا انتها اجرا شود.
#
# </div>
#
# Classify the brain-tumour MRI slices in `DATA_DIR/brain_mri` (folders `yes`: tumour, `no`: none):
# read them, then build **the same** convolutional network twice, with the Sequential API as
# `seq_model` and with the Functional API as `func_model`, and train both.  The grader compares the
# two models layer by layer (type, configuration such as filters, kernel size, strides, padding and
# activation, output shape, parameter count) and measures both on a hidden set of slices.  The models
# take what `load_images` returns: grey 64×64 images in [0, 1], shape `(N, 64, 64, 1)` (or raw pixels
# 0–255 when a model rescales them itself with a `Rescaling(1/255)` layer); they output the tumour
# probability or logit `(N, 1)`, or two class scores `(N, 2)` (index 1 = tumour).  The two models must be
# two networks, each trained: one that reuses or copies the other's layers or weights earns no training
# or accuracy points.  Use `EPOCHS` epochs.  The notebook must run from top to bottom without errors or
# the internet.

# %% id="parameters" tags=["parameters"]
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data"
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin"
EPOCHS = 12  # training epochs for each model

# %% id="loaders"
# Reading the data (given; the grader reads the hidden slices with the same functions)
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

IMAGE_SIZE = 64
CLASSES = ('no', 'yes')              # label 0, label 1 (tumour)
EXTENSIONS = ('.jpg', '.jpeg', '.png')


from brain_mri import _images_in, load_image, load_images, load_public  # INCLUDE

# %% id="data"
# BEGIN SOLUTION
from sklearn.model_selection import train_test_split

# END SOLUTION
images, labels = load_public(os.path.join(DATA_DIR, "brain_mri"))
print(images.shape, "tumour:", int(labels.sum()), "none:", int((labels == 0).sum()))
# BEGIN PROMPT
#
# # TODO: split into training and test data (x_train, x_test, y_train, y_test)
# END PROMPT
# BEGIN SOLUTION
x_train, x_test, y_train, y_test = train_test_split(images, labels, test_size=0.2, random_state=SEED,
                                                    stratify=labels)
# END SOLUTION

# %% id="models"
import keras
from keras import layers

keras.utils.set_random_seed(SEED)

# BEGIN PROMPT
# # TODO: a CNN with the Sequential API ...
# seq_model = None
# END PROMPT
# BEGIN SOLUTION
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
# END SOLUTION

# BEGIN PROMPT
# # TODO: ... and exactly the same CNN with the Functional API
# func_model = None
# END PROMPT
# BEGIN SOLUTION
inputs = keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 1))
x = layers.Conv2D(filters=16, kernel_size=3, activation="relu")(inputs)
x = layers.MaxPooling2D(pool_size=2)(x)
x = layers.Conv2D(filters=32, kernel_size=3, activation="relu")(x)
x = layers.MaxPooling2D(pool_size=2)(x)
x = layers.GlobalMaxPooling2D()(x)
x = layers.Dense(units=16, activation="relu")(x)
outputs = layers.Dense(units=1, activation="sigmoid")(x)
func_model = keras.Model(inputs, outputs, name="functional_api")

seq_model.summary()
func_model.summary()
# END SOLUTION

# %% id="train"
# BEGIN PROMPT
# # TODO: compile and train both models for EPOCHS epochs, then report their accuracy on your test data
# END PROMPT
# BEGIN SOLUTION
def train(model):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model.fit(x_train, y_train, epochs=EPOCHS, batch_size=16, validation_data=(x_test, y_test), verbose=2)

seq_history = train(seq_model)
func_history = train(func_model)
for name, model in (("Sequential", seq_model), ("Functional", func_model)):
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"{name} API: test accuracy {accuracy:.3f}")
# END SOLUTION
