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
# # سوال ۷ — شبکهٔ همگشتی با ماژول Inception روی CIFAR-10 (۱۵ نمره + ۱۰ نمرهٔ امتیازی)
# # Question 7 — a CNN with an Inception module on CIFAR-10 (15 points + 10 bonus)
#
# <div dir="rtl">
#
# تمرین سری سوم مبانی یادگیری عمیق (دکتر مرضیه داوودآبادی)، دانشگاه علم و صنعت ایران.
#
# یک شبکهٔ عصبی همگشتی که شامل یک **ماژول Inception** است (دست‌کم سه شاخهٔ موازی با اندازه‌های هستهٔ متفاوت
# روی یک ورودی مشترک که خروجی‌هایشان به هم **الحاق** می‌شود) برای دسته‌بندی تصاویر CIFAR-10 با Keras در متغیر
# `model` پیاده‌سازی و آموزش دهید. داده‌ها نسخهٔ **دودویی** CIFAR-10 در `DATA_DIR/cifar10` است
# (`data_batch_1.bin` تا `data_batch_5.bin`)؛ تابع‌های خواندن آن داده شده است. داور ماژول Inception را از گراف
# مدل تشخیص می‌دهد و دقت آن را روی تصاویر آموزشی و روی دادهٔ آزمون پنهان CIFAR-10 می‌سنجد: **دقت بالای ۸۰٪ در
# آموزش** ده نمرهٔ امتیازی دارد، فقط برای مدلی که ماژول Inception دارد. ورودی مدل تصویر ۳۲×۳۲×۳ با مقادیر بین ۰ و ۱
# (`float32`) است، یا اگر مدل خودش با لایهٔ `Rescaling(1/255)` ورودی را مقیاس کند، مقادیر خام ۰ تا ۲۵۵؛ خروجی آن
# امتیاز ۱۰ کلاس `(N, 10)` است (احتمال یا لوجیت). از `CIFAR_EPOCHS` برای تعداد epochها استفاده کنید. پاسخ بخش‌های
# تشریحی را در سلول متنی انتهای نوت‌بوک بنویسید.
#
# </div>
#
# Implement and train, with Keras, a convolutional network for CIFAR-10 that contains an **Inception
# module** (at least three parallel branches with different kernel sizes on one input, their outputs
# **concatenated**), as `model`.  The data is the **binary** CIFAR-10 in `DATA_DIR/cifar10`
# (`data_batch_1.bin` … `data_batch_5.bin`); the functions that read it are given.  The grader finds the
# Inception module in the model's graph and measures the model on the training images and on the
# hidden CIFAR-10 test data: **above 80 % in training** earns the 10 bonus points, for a model with an
# Inception module only.  The model takes 32×32×3 images in [0, 1] (`float32`), or raw pixels 0–255 when
# it rescales them itself with a `Rescaling(1/255)` layer, and outputs 10 class scores `(N, 10)`
# (probabilities or logits).  Use `CIFAR_EPOCHS` epochs.  Write the explanations in the text cell at the end.

# %% id="parameters" tags=["parameters"]
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data"
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin"
CIFAR_EPOCHS = 6  # training epochs

# %% id="loaders"
# Reading the binary CIFAR-10 batches (given; the grader reads the test batch with the same code)
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck')
SIZE = 32
RECORD = 1 + 3 * SIZE * SIZE                 # one label byte, then the R, G and B planes (CHW)
TRAIN_FILES = ('data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin')


from cifar10 import read_batch, read_batches, load_train  # INCLUDE

# %% id="data"
images, labels = load_train(os.path.join(DATA_DIR, "cifar10"))
images = images.astype("float32") / 255.0
rng = np.random.default_rng(SEED)
order = rng.permutation(len(labels))
n_val = len(labels) // 10
x_val, y_val = images[order[:n_val]], labels[order[:n_val]]
x_train, y_train = images[order[n_val:]], labels[order[n_val:]]
print("train", x_train.shape, "validation", x_val.shape)

# %% id="model"
import keras
from keras import layers

keras.utils.set_random_seed(SEED)

# BEGIN PROMPT
# # TODO: an Inception module (parallel branches with different kernel sizes, concatenated) ...
# # TODO: ... inside a CNN for 32×32×3 images and 10 classes
# model = None
# END PROMPT
# BEGIN SOLUTION

def inception_module(x, filters):
    """GoogLeNet's module, small: parallel k×k convolutions (after 1×1 reductions) and a pooled
    branch, all "same"-padded so their outputs line up, concatenated along the channels."""
    branches = []
    for k in (1, 3, 5):
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
model.summary()
# END SOLUTION

# %% id="train"
# BEGIN PROMPT
# # TODO: compile and train `model` for CIFAR_EPOCHS epochs and report its validation accuracy
# END PROMPT
# BEGIN SOLUTION
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=CIFAR_EPOCHS, batch_size=32, validation_data=(x_val, y_val), verbose=2)
print(f"validation accuracy: {history.history['val_accuracy'][-1]:.3f}")
# END SOLUTION

# %% [markdown] id="written-answers"
# ## پاسخ‌های تشریحی / Written answers
#
# <div dir="rtl">
#
# - ساختار و هدف ماژول Inception در این شبکه را توضیح دهید.
# - اندازهٔ گام (stride) در لایه‌های همگشتی چگونه بر ابعاد مکانی نگاشت‌های ویژگی تأثیر می‌گذارد؟
# - ویژگی‌های کلیدی و عملیات لایه‌های همگشتی شبکهٔ خود و اهمیت آن‌ها در استخراج ویژگی را شرح دهید.
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: ماژول Inception چند شاخهٔ موازی (۱×۱، ۳×۳، ۵×۵ و ادغام بیشینه) را روی یک ورودی اجرا و خروجی‌ها را
# در محور کانال الحاق می‌کند، تا ویژگی‌ها در چند مقیاس هم‌زمان استخراج شوند؛ کانولوشن‌های ۱×۱ پیش از هسته‌های
# بزرگ عمق را کم و محاسبه را ارزان می‌کنند. با گام s، اندازهٔ خروجی ⌊(n + 2p − k) / s⌋ + 1 است: گام ۲ ابعاد
# مکانی را تقریباً نصف می‌کند. لایه‌های همگشتی با اتصال محلی و اشتراک وزن، الگوهای محلی را مستقل از مکان
# می‌یابند و با لایه‌گذاری same اندازه را حفظ می‌کنند؛ ReLU غیرخطی بودن و ادغام، کاهش ابعاد را می‌دهد.
# <!-- END SOLUTION -->
#
# </div>
#
# Explain the structure and purpose of the Inception module in your network; how the stride of a
# convolution changes the spatial size of its feature maps; and the key properties and operations of
# the convolution layers you used.  Write under «پاسخ» (English is fine too).
