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
# # تمرین سری چهارم — مبانی یادگیری عمیق (دکتر مرضیه داوودآبادی)
# # Homework 4 — Fundamentals of Deep Learning (Dr. Marzieh Davoodabadi)
#
# <div dir="rtl">
#
# دانشگاه علم و صنعت ایران، نیمسال اول ۱۴۰۲-۱۴۰۳ — مهلت تحویل: ۱۷ آذر ۱۴۰۲، ساعت ۲۳:۵۹.
#
# - سوال **۱** (KerasTuner روی MNIST)، تابع سوال **۳**، پاسخ‌های سوال **۵** و **۶** در همین نوت‌بوک است و به‌طور
#   خودکار بررسی می‌شود: `tuner` و `best_model`، `create_proper_dataset_for_rnn` و `lstm_model`، دیکشنری
#   `ANSWERS`، تابع‌های `same_padding` و `batchnorm_forward` و مدل `bn_model`.
# - سوال ۷ نوت‌بوک خودش را دارد: `Q7.ipynb`. سوال ۲ (یادگیری انتقالی روی دادهٔ پزشکی) فقط با دادهٔ واقعی اجرا و
#   به‌دست دستیاران آموزشی تصحیح می‌شود. پاسخ‌های تشریحی را در سلول متنی انتهای نوت‌بوک بنویسید.
# - نام‌ها و ساختار `ANSWERS` و سلول‌های «داده‌شده» را تغییر ندهید؛ نوت‌بوک باید از ابتدا تا انتها بدون خطا اجرا شود.
#
# </div>
#
# Question **1** (KerasTuner on MNIST), the function of question **3** and the answers of questions **5**
# and **6** are in this notebook and checked automatically: `tuner` and `best_model`,
# `create_proper_dataset_for_rnn` and `lstm_model`, the `ANSWERS` dict, the functions `same_padding` and
# `batchnorm_forward` and the model `bn_model`.  Question 7 has its own notebook, `Q7.ipynb`; question 2
# (transfer learning on medical images) runs on the real data only and is marked by the TAs.  Keep the
# names, the structure of `ANSWERS` and the cells marked "given"; the notebook must run from top to bottom.

# %% id="parameters" tags=["parameters"]
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data"
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin"
TUNER_TRIALS = 2      # trials of the search (at most)
TUNER_EPOCHS = 3      # epochs of a trial (a Hyperband search: its max_epochs), and of the best model's training
TUNER_SAMPLES = 600   # training images the search uses

# %% id="q1-data"
# MNIST (given): the same arrays keras.datasets.mnist.load_data() returns
import os
from pathlib import Path

import numpy as np

from mnist_digits import load_mnist  # INCLUDE

(x_train, y_train), (x_test, y_test) = load_mnist(os.path.join(DATA_DIR, "mnist"))
x_train = x_train.astype("float32")[..., None] / 255.0
x_test = x_test.astype("float32")[..., None] / 255.0
print("train", x_train.shape, "test", x_test.shape)

# %% [markdown] id="q1-prompt"
# ## سوال ۱ — KerasTuner / Question 1 — KerasTuner
#
# <div dir="rtl">
#
# با KerasTuner یک شبکهٔ همگشتی برای MNIST جست‌وجو کنید: حداکثر ۵ لایهٔ همگشتی و ۵ لایهٔ تمام‌متصل، حداکثر ۲۵۶
# فیلتر یا نورون در هر لایه و نرخ یادگیری حداکثر ۰٫۰۰۱. تیونر را در `tuner` و بهترین مدل را در `best_model` بگذارید
# (ورودی ۲۸×۲۸×۱ بین ۰ و ۱، خروجی ۱۰ امتیاز). از `TUNER_TRIALS`، `TUNER_EPOCHS` و `TUNER_SAMPLES` استفاده کنید.
#
# </div>
#
# Search a CNN for MNIST with KerasTuner: at most 5 convolution and 5 dense layers, at most 256 filters or
# units a layer, a learning rate of at most 0.001.  Keep the tuner in `tuner` and the best model in
# `best_model` (input 28×28×1 in [0, 1], 10 class scores out).  Use `TUNER_TRIALS`, `TUNER_EPOCHS` and
# `TUNER_SAMPLES`.

# %% id="q1-build"
import keras
import keras_tuner

keras.utils.set_random_seed(SEED)


def build_model(hp):
    # BEGIN PROMPT
    # raise NotImplementedError("question 1: a model built from the hyperparameters in hp")
    # END PROMPT
    # BEGIN SOLUTION
    inputs = keras.Input(shape=(28, 28, 1))
    x = inputs
    for i in range(hp.Int("conv_layers", min_value=1, max_value=3)):
        x = keras.layers.Conv2D(hp.Int(f"filters_{i}", min_value=16, max_value=64, step=16), 3, padding="same",
                                activation="relu")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    for i in range(hp.Int("dense_layers", min_value=1, max_value=2)):
        x = keras.layers.Dense(hp.Int(f"units_{i}", min_value=32, max_value=128, step=32), activation="relu")(x)
        x = keras.layers.Dropout(hp.Float("dropout", min_value=0.0, max_value=0.3, step=0.1))(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-3, 5e-4])),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
    # END SOLUTION


# %% id="q1-search"
# BEGIN PROMPT
# # TODO: a tuner of your choice over build_model, its search, and the best model
# tuner = None
# best_model = None
# END PROMPT
# BEGIN SOLUTION
tuner = keras_tuner.RandomSearch(build_model, objective="val_accuracy", max_trials=TUNER_TRIALS, seed=SEED,
                                 directory=os.path.join(OUTPUT_DIR, "tuner"), project_name="mnist", overwrite=True)
tuner.search(x_train[:TUNER_SAMPLES], y_train[:TUNER_SAMPLES], epochs=1, validation_split=0.2, verbose=0)
best_model = tuner.get_best_models(num_models=1)[0]
best_model.fit(x_train, y_train, epochs=TUNER_EPOCHS, verbose=0)
print("best hyperparameters:", tuner.get_best_hyperparameters(1)[0].values)
# END SOLUTION

# %% id="q1-given"
# Given (do not change): what the grader reads of your tuner — its class, search space and trials.
def tuner_trials(name="tuner"):
    found = globals()[name]
    oracle = found.oracle
    return {"class": type(found).__name__, "module": type(found).__module__,
            "space": oracle.hyperparameters.get_config()["space"],
            "trials": [{"status": str(t.status), "values": dict(t.hyperparameters.values),
                        "score": None if t.score is None else float(t.score)} for t in oracle.trials.values()]}


# %% [markdown] id="q3-prompt"
# ## سوال ۳ — پنجره‌های زمانی برای LSTM / Question 3 — time windows for an LSTM
#
# <div dir="rtl">
#
# تابع `create_proper_dataset_for_rnn(inputs, labels, look_back)` را بنویسید: پنجرهٔ i سطرهای i تا
# i+look_back-1 از `inputs` است و برچسب آن `labels[i + look_back]` (گام بعد از پنجره)؛ خروجی آرایهٔ پنجره‌ها با شکل
# `(len(inputs) - look_back, look_back, n_features)` و آرایهٔ برچسب‌هاست. سپس شکل ورودی `lstm_model` را درست کنید.
#
# </div>
#
# Write `create_proper_dataset_for_rnn(inputs, labels, look_back)`: window i is rows i … i+look_back-1 of
# `inputs`, labelled `labels[i + look_back]` (the step after the window); it returns the windows, shaped
# `(len(inputs) - look_back, look_back, n_features)`, and their labels.  Then give `lstm_model` the input
# shape these windows have.

# %% id="q3-data"
# Hourly gas consumption with six features (given; a small synthetic series in the handout's shape)
rng = np.random.default_rng(SEED)
hours = np.arange(400)
features = np.stack([np.sin(2 * np.pi * hours / 24), np.cos(2 * np.pi * hours / 24),
                     np.sin(2 * np.pi * hours / 168), rng.normal(size=len(hours)),
                     10 + 5 * np.sin(2 * np.pi * hours / 24 + 1) + rng.normal(size=len(hours)),
                     rng.uniform(size=len(hours))], axis=1).astype("float32")
consumption = (features[:, 4] * 0.8 + features[:, 0] * 2 + rng.normal(scale=0.3, size=len(hours))).astype("float32")
X_train, y_train_gas = features[:300], consumption[:300]
X_test, y_test_gas = features[300:], consumption[300:]


# %% id="q3-function"
def create_proper_dataset_for_rnn(inputs, labels, look_back):
    # BEGIN PROMPT
    # raise NotImplementedError("question 3")
    # END PROMPT
    # BEGIN SOLUTION
    new_inputs, new_labels = [], []
    for i in range(len(inputs) - look_back):
        new_inputs.append(inputs[i:i + look_back, :])
        new_labels.append(labels[i + look_back])
    return np.array(new_inputs), np.array(new_labels)
    # END SOLUTION


# %% id="q3-lstm"
from keras.layers import LSTM, Dense
from keras.models import Sequential

look_back = 12
prepared_X_train, prepared_Y_train = create_proper_dataset_for_rnn(X_train, y_train_gas, look_back)
prepared_X_test, prepared_Y_test = create_proper_dataset_for_rnn(X_test, y_test_gas, look_back)

lstm_model = Sequential()
lstm_model.add(keras.Input(shape=(look_back, X_train.shape[1])))  # SOLUTION
lstm_model.add(LSTM(units=16))
lstm_model.add(Dense(1))
lstm_model.compile(optimizer="adam", loss="mse")
lstm_model.fit(prepared_X_train, prepared_Y_train, epochs=1, batch_size=32, verbose=0)

# %% [markdown] id="q5-prompt"
# ## سوال ۵ و ۶ / Questions 5 and 6
#
# <div dir="rtl">
#
# ۵ الف) شکل خروجی (بدون محور دسته، کانال آخر) و تعداد پارامترهای هر یک از نُه لایه روی ورودی ۲۵۶×۲۵۶×۳. برای لایه‌ای
# که خروجی معتبر ندارد (اندازهٔ صفر یا منفی) به‌جای شکل بنویسید `"invalid"`.
# ۵ ب) تابع `same_padding(f)`: اندازهٔ لایه‌گذاری هر طرف برای حفظ اندازه با فیلتر f×f فرد و گام ۱.
# ۶) درستی سه گزاره (True/False)، تابع `batchnorm_forward` و تعداد پارامترهای قابل آموزش Dense(10→20) + BN، و مدل
# `bn_model` با همین دو لایه.
#
# </div>
#
# 5a) Each of the nine layers' output shape (without the batch axis, channels last) and parameter count on
# a 256×256×3 input; for a layer without a valid output (a zero or negative size) write `"invalid"` as its
# shape.  5b) `same_padding(f)`: the padding on each side that keeps the size for an odd f×f filter, stride
# 1.  6) Whether each of the three statements is true, `batchnorm_forward`, the trainable parameters of
# Dense(10 → 20) + BatchNormalization, and `bn_model` with those two layers.

# %% id="answers"
# Your answers.  Replace every None; keep the keys.
# پاسخ‌های شما: به‌جای هر None مقدار درست را بگذارید و کلیدها را تغییر ندهید.
ANSWERS = {
    "q5a": {  # each layer: its output shape [height, width, channels] (or "invalid") and its parameter count
        "layer1": {"output_shape": None, "params": None},
        "layer2": {"output_shape": None, "params": None},
        "layer3": {"output_shape": None, "params": None},
        "layer4": {"output_shape": None, "params": None},
        "layer5": {"output_shape": None, "params": None},
        "layer6": {"output_shape": None, "params": None},
        "layer7": {"output_shape": None, "params": None},
        "layer8": {"output_shape": None, "params": None},
        "layer9": {"output_shape": None, "params": None},
    },
    "q6": {
        "statements": None,        # [True/False, True/False, True/False]: statements 1–3 of question 6a
        "trainable_params": None,  # trainable parameters of Dense(10 -> 20) + BatchNormalization
    },
}

# %% id="answers-solution"
# BEGIN PROMPT
# # (write your answers in ANSWERS above, or fill them in here)
# END PROMPT
# BEGIN SOLUTION
ANSWERS["q5a"] = {
    "layer1": {"output_shape": [256, 256, 64], "params": 1792},
    "layer2": {"output_shape": [124, 124, 32], "params": 51232},
    "layer3": {"output_shape": [62, 62, 32], "params": 0},
    "layer4": {"output_shape": [62, 62, 128], "params": 36992},
    "layer5": {"output_shape": [23, 23, 64], "params": 204864},
    "layer6": {"output_shape": [11, 11, 64], "params": 0},
    "layer7": {"output_shape": [11, 11, 256], "params": 147712},
    "layer8": {"output_shape": "invalid", "params": 819328},
    "layer9": {"output_shape": "invalid", "params": 0},
}
ANSWERS["q6"] = {"statements": [False, True, False], "trainable_params": 220 + 40}
# END SOLUTION


# %% id="q5b"
def same_padding(f):
    # BEGIN PROMPT
    # raise NotImplementedError("question 5b")
    # END PROMPT
    # BEGIN SOLUTION
    return f // 2
    # END SOLUTION


# %% id="q6-batchnorm"
def batchnorm_forward(X, gamma, beta, eps, mode, running_mean, running_var):
    """X: (N, D).  mode "train": normalise with the batch's mean and variance; "test": with running_mean and
    running_var.  Returns gamma * x_hat + beta, shape (N, D)."""
    # BEGIN PROMPT
    # raise NotImplementedError("question 6")
    # END PROMPT
    # BEGIN SOLUTION
    if mode == "train":
        mu, var = X.mean(axis=0), X.var(axis=0)
    else:
        mu, var = running_mean, running_var
    return gamma * (X - mu) / np.sqrt(var + eps) + beta
    # END SOLUTION


# %% id="q6-model"
# BEGIN PROMPT
# bn_model = None  # TODO: Dense(20) on 10 inputs, then BatchNormalization
# END PROMPT
# BEGIN SOLUTION
bn_model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(20), keras.layers.BatchNormalization()])
bn_model.summary()
# END SOLUTION

# %% [markdown] id="written-answers"
# ## پاسخ‌های تشریحی / Written answers
#
# <div dir="rtl">
#
# سوال ۱ (الف، ب و بخش‌های امتیازی)، سوال ۴، سوال ۶ (ج و د) را اینجا بنویسید.
#
# <!-- BEGIN PROMPT -->
# پاسخ:
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# پاسخ: اپسیلون از تقسیم بر صفر وقتی واریانس یک ویژگی در دسته صفر است جلوگیری می‌کند؛ با دستهٔ یک‌تایی واریانس
# همیشه صفر است و خروجی نرمال‌شده فقط beta می‌شود، پس نرمال‌سازی دسته‌ای معنا ندارد.
# <!-- END SOLUTION -->
#
# </div>
#
# Write questions 1 (a, b and the bonus parts), 4 and 6 (c, d) here, under «پاسخ» (English is fine too).
