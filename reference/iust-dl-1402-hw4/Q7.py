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
# # سوال ۷ — شبکهٔ همگشتی MNIST و Grad-CAM (۲۰ نمره)
# # Question 7 — an MNIST CNN and Grad-CAM (20 points)
#
# <div dir="rtl">
#
# الف) شبکهٔ زیر را **دقیقاً** با همین لایه‌ها در Keras در متغیر `model` بسازید (همهٔ همگشت‌ها ۳×۳ با لایه‌گذاری same و
# ReLU، همهٔ ادغام‌ها ۲×۲): Conv(32) → MaxPool → Conv(64) → MaxPool → Conv(64) → MaxPool → Flatten → Dense(128, ReLU) →
# Dense(10, softmax). آن را با Adam و آنتروپی متقاطع دسته‌ای (برچسب‌های one-hot) به تعداد `EPOCHS` دوره آموزش دهید و
# خروجی `fit` را در `history` نگه دارید.
# ب) تابع `make_gradcam_heatmap(img_array, model, last_conv_layer_name, pred_index=None)` را بنویسید: نقشهٔ Grad-CAM
# آخرین لایهٔ همگشتی، نرمال‌شده به بازهٔ ۰ تا ۱. نام آن لایه را در `last_conv_layer_name` بگذارید.
#
# </div>
#
# a) Build **exactly** this network with Keras as `model` (every convolution 3×3, "same" padding, ReLU;
# every pooling 2×2): Conv(32) → MaxPool → Conv(64) → MaxPool → Conv(64) → MaxPool → Flatten → Dense(128,
# ReLU) → Dense(10, softmax).  Train it with Adam and categorical cross-entropy (one-hot labels) for
# `EPOCHS` epochs and keep what `fit` returns in `history`.  b) Write `make_gradcam_heatmap(img_array,
# model, last_conv_layer_name, pred_index=None)`: the Grad-CAM map of the last convolution layer,
# normalised to [0, 1]; put that layer's name in `last_conv_layer_name`.

# %% id="parameters" tags=["parameters"]
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data"
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin"
EPOCHS = 15  # the handout's 15 epochs

# %% id="data"
# MNIST (given): the same arrays keras.datasets.mnist.load_data() returns
import os
from pathlib import Path

import numpy as np

from mnist_digits import load_mnist  # INCLUDE

(x_train, y_train), (x_test, y_test) = load_mnist(os.path.join(DATA_DIR, "mnist"))
np.random.seed(0)
shuffle_index = np.random.permutation(len(x_train))
x_train, y_train = x_train[shuffle_index], y_train[shuffle_index]
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255

# %% id="labels"
import keras
from keras.utils import to_categorical

keras.utils.set_random_seed(SEED)
y_train = to_categorical(y_train)
y_test = to_categorical(y_test)

# %% id="model"
from keras.layers import Conv2D, Dense, Flatten, MaxPooling2D
from keras.models import Sequential

# BEGIN PROMPT
# model = None  # TODO: the handout's network, layer by layer
# END PROMPT
# BEGIN SOLUTION
model = Sequential([
    keras.Input(shape=(28, 28, 1)),
    Conv2D(32, (3, 3), activation="relu", padding="same"),
    MaxPooling2D((2, 2)),
    Conv2D(64, (3, 3), activation="relu", padding="same"),
    MaxPooling2D((2, 2)),
    Conv2D(64, (3, 3), activation="relu", padding="same"),
    MaxPooling2D((2, 2)),
    Flatten(),
    Dense(128, activation="relu"),
    Dense(10, activation="softmax"),
])
# END SOLUTION

# %% id="train"
# BEGIN PROMPT
# # TODO: compile (Adam, categorical cross-entropy) and train for EPOCHS epochs: history = model.fit(...)
# END PROMPT
# BEGIN SOLUTION
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
history = model.fit(x_train.reshape(-1, 28, 28, 1), y_train, epochs=EPOCHS, batch_size=64, verbose=2)
# END SOLUTION

# %% id="gradcam"
import tensorflow as tf


def make_gradcam_heatmap(img_array, model, last_conv_layer_name, pred_index=None):
    # BEGIN PROMPT
    # raise NotImplementedError("question 7b")
    # END PROMPT
    # BEGIN SOLUTION
    grad_model = keras.models.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, model.outputs[0]])
    with tf.GradientTape() as tape:
        last_conv_layer_output, preds = grad_model(img_array)
        if pred_index is None:
            pred_index = tf.argmax(preds[0])
        class_channel = preds[:, pred_index]
    grads = tape.gradient(class_channel, last_conv_layer_output)
    pooled_grads = tf.reduce_mean(grads, axis=(0, 1, 2))
    heatmap = last_conv_layer_output[0] @ pooled_grads[..., tf.newaxis]
    heatmap = tf.squeeze(heatmap)
    heatmap = tf.maximum(heatmap, 0) / tf.math.reduce_max(heatmap)
    return heatmap.numpy()
    # END SOLUTION


last_conv_layer_name = model.layers[4].name  # SOLUTION
heatmap = make_gradcam_heatmap(x_test[:1].reshape(-1, 28, 28, 1), model, last_conv_layer_name)
print(heatmap.shape)


# %% id="gradcam-given"
# Given (do not change): how the grader calls your Grad-CAM, on images (N, 28, 28, 1) of its choice.
def gradcam_probe(images):
    return np.stack([np.asarray(make_gradcam_heatmap(image[None], model, last_conv_layer_name)) for image in images])


# %% [markdown] id="written-answers"
# ## پاسخ‌های تشریحی / Written answers
#
# <div dir="rtl">
#
# نقشه‌های Grad-CAM چند تصویر را رسم و تفسیر کنید.
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: خانه‌های روشن نقشه بخش‌هایی از رقم‌اند که بیشترین اثر را بر امتیاز کلاس پیش‌بینی‌شده دارند.
# <!-- END SOLUTION -->
#
# </div>
#
# Draw and interpret the Grad-CAM maps of a few images.
