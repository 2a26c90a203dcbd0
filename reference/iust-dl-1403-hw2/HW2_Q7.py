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
# # تمرین سری دوم — سوال ۷: مصورسازی کلاس و حملهٔ FGSM
# # Homework 2 — Question 7: class visualisation and the FGSM attack
#
# <div dir="rtl">
#
# در بخش اول، با شروع از یک تصویر تصادفی و بهینه‌سازی آن، تصویری بسازید که شبکهٔ پیش‌آموختهٔ زیر آن را با
# احتمال بالا متعلق به یک کلاس بداند. در بخش دوم با حملهٔ FGSM تصویری را که شبکه درست دسته‌بندی می‌کند با
# کمترین تغییر به تصویری تبدیل کنید که شبکه آن را متعلق به آن کلاس نداند. یک کلاس مشخص برای هر دو بخش در
# نظر بگیرید و دو تصویر به دست آمده را در سلول متنی پایانی با هم مقایسه کنید (۲۰ نمره).
#
# </div>
#
# Part A: starting from a random image and optimising it, make an image the pretrained network below
# assigns to a class with high probability.  Part B: with the FGSM attack, turn an image the network
# classifies correctly into one it does not assign to that class, with the smallest change.  Pick one
# class for both parts and compare the two images in the text cell at the end (20 points).
#
# **The network / شبکه.** Offline, the course ships its own pretrained network: a small CNN for
# handwritten digits, 16×16 grayscale images with values in [0, 1], classes 0–9 (`DATA_DIR/q7/model.npz`,
# loaded below; do not change or retrain it).
#
# **Grading / نحوهٔ نمره‌دهی.** The grader uses two functions of this notebook:
# `visualize_class(target)` must return one image (16×16, or 1×16×16, values in [0, 1]) optimised from
# noise that the network assigns to class `target` with high probability; `fgsm(images, labels, eps)`
# gets a batch of images (a float tensor N×1×16×16 in [0, 1]), their labels (a long tensor) and ε, and
# must return the FGSM adversarial images: no pixel changed by more than ε, every value in [0, 1], and
# most predictions flipped.  The grader calls them on classes, images and ε of its choice and checks the
# results on its own copy of the network.  The comparison is marked by the TA.

# %% id="parameters" tags=["parameters"]
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data/iust-dl-1403-hw2/public"  # folder that contains q7/model.npz and q7/images.npz
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin"

# %% id="imports"
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

# %% [markdown] id="model-md"
# ## شبکهٔ پیش‌آموخته (آماده) / The pretrained network (provided)


# %% id="model-code"
from q7_model import build_model, load_model  # INCLUDE


# %% id="model"
model = load_model(Path(DATA_DIR) / "q7" / "model.npz")
with np.load(Path(DATA_DIR) / "q7" / "images.npz", allow_pickle=False) as data:
    images, labels = torch.from_numpy(data["images"]), torch.from_numpy(data["labels"])
with torch.no_grad():
    print("accuracy on the demo images:", (model(images).argmax(1) == labels).float().mean().item())

# %% [markdown] id="part-a-md"
# ## بخش اول — مصورسازی کلاس / Part A — class visualisation
#
# <div dir="rtl">
#
# تابع `visualize_class(target)` را کامل کنید: از یک تصویر تصادفی شروع کنید و با گرادیان نسبت به ورودی، امتیاز
# کلاس `target` را بیشینه کنید (با یک جملهٔ تنظیم‌کننده و نگه داشتن مقادیر در بازهٔ ۰ تا ۱).
#
# </div>
#
# Complete `visualize_class(target)`: start from a random image and maximise the score of class `target`
# by gradient ascent on the input (with a regulariser, keeping the values in [0, 1]).

# %% id="visualize"
TARGET_CLASS = 3  # the class of both parts


def visualize_class(target, steps=150, lr=0.05, weight_decay=0.01, seed=0):
    # BEGIN PROMPT
    # # TODO: optimise a random 1×1×16×16 image so that the model's score of `target` is high
    # ...
    # END PROMPT
    # BEGIN SOLUTION
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 1, 16, 16, generator=generator).requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=lr)
    model.eval()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = -model(image)[0, int(target)] + weight_decay * (image ** 2).sum()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            image.clamp_(0, 1)
    return image.detach()[0, 0]
    # END SOLUTION


class_image = visualize_class(TARGET_CLASS)
with torch.no_grad():
    probability = F.softmax(model(class_image.reshape(1, 1, 16, 16)), dim=1)[0, TARGET_CLASS].item()
print(f"P(class {TARGET_CLASS}) = {probability:.3f}")
plt.imshow(class_image.numpy(), cmap="gray", vmin=0, vmax=1)
plt.title(f"class {TARGET_CLASS}: p = {probability:.3f}")
plt.axis("off")
plt.show()

# %% [markdown] id="part-b-md"
# ## بخش دوم — حملهٔ FGSM / Part B — the FGSM attack
#
# <div dir="rtl">
#
# تابع `fgsm(images, labels, eps)` را کامل کنید: یک گام به اندازهٔ ε در جهت علامت گرادیان تابع هزینه نسبت به
# ورودی، و سپس محدود کردن مقادیر به بازهٔ ۰ تا ۱.
#
# </div>
#
# Complete `fgsm(images, labels, eps)`: one step of size ε along the sign of the loss's gradient with
# respect to the input, then clip the values to [0, 1].

# %% id="fgsm"
def fgsm(images, labels, eps):
    # BEGIN PROMPT
    # # TODO: x_adv = x + eps * sign(grad_x loss(model(x), labels)), clipped to [0, 1]
    # ...
    # END PROMPT
    # BEGIN SOLUTION
    x = torch.as_tensor(images, dtype=torch.float32).clone().requires_grad_(True)
    model.eval()
    loss = F.cross_entropy(model(x), torch.as_tensor(labels, dtype=torch.long))
    loss.backward()
    adversarial = x + eps * x.grad.sign()
    adversarial = adversarial.clamp(0, 1)
    return adversarial.detach()
    # END SOLUTION


# %% id="fgsm-demo"
chosen = images[labels == TARGET_CLASS][:8]
attacked = fgsm(chosen, torch.full((len(chosen),), TARGET_CLASS), eps=0.2)
with torch.no_grad():
    before, after = model(chosen).argmax(1), model(attacked).argmax(1)
print("predictions before:", before.tolist())
print("predictions after: ", after.tolist())
figure, axes = plt.subplots(2, len(chosen), figsize=(2 * len(chosen), 4))
for i in range(len(chosen)):
    axes[0, i].imshow(chosen[i, 0], cmap="gray", vmin=0, vmax=1)
    axes[0, i].set_title(f"{before[i].item()}")
    axes[1, i].imshow(attacked[i, 0], cmap="gray", vmin=0, vmax=1)
    axes[1, i].set_title(f"{after[i].item()}")
    axes[0, i].axis("off")
    axes[1, i].axis("off")
plt.show()

# %% [markdown] id="comparison"
# ## مقایسه / The comparison
#
# <div dir="rtl">
#
# تصویر بخش اول و تصویرهای بخش دوم را با هم مقایسه کنید (این بخش را دستیار آموزشی تصحیح می‌کند).
#
# </div>
#
# Compare the image of part A with the images of part B (marked by the TA).
