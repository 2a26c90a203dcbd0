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
# # تمرین سری دوم — سوال ۳: پارامترها، ضرب و جمع‌ها و میدان دید
# # Homework 2 — Question 3: parameters, multiply-adds and receptive fields
#
# <div dir="rtl">
#
# برای هر یک از ۱۷ لایهٔ شبکهٔ زیر با ورودی تصویر رنگی ۲۵۶×۲۵۶، شکل خروجی، تعداد پارامترها، تعداد ضرب و
# جمع‌ها (MAC) و میدان دید را به تفصیل محاسبه کنید و اعداد اعشاری را به پایین گرد کنید (۱۵ نمره). پاسخ هر خانهٔ
# جدول جداگانه نمره می‌گیرد.
#
# </div>
#
# For each of the 17 layers of the network below, on a 256×256 colour image, compute the output shape,
# the number of parameters, the number of multiply-accumulates (MACs) and the receptive field, showing
# the computation, and floor decimals (15 points).  Each cell of the table is graded on its own.
#
# ```
# Layer1 : nn.Conv2d(in_channels=3, out_channels=32, kernel_size=(7,7), stride=1, padding='same')
# bn1    : nn.BatchNorm2d(32)
# Layer2 : nn.Conv2d(in_channels=32, out_channels=64, kernel_size=(5,5), stride=2, padding='valid')
# bn2    : nn.BatchNorm2d(64)
# Layer3 : nn.AvgPool2d(kernel_size=(2,2), stride=2)
# Layer4 : nn.Conv2d(in_channels=64, out_channels=128, kernel_size=(3,3), stride=1, dilation=2, padding='valid')
# bn3    : nn.BatchNorm2d(128)
# Layer5 : nn.Conv2d(in_channels=128, out_channels=128, kernel_size=(3,3), stride=1, dilation=1, padding='valid')
# bn4    : nn.BatchNorm2d(128)
# Layer6 : nn.AvgPool2d(kernel_size=(2,2), stride=2)
# Layer7 : nn.Conv2d(in_channels=128, out_channels=256, kernel_size=(3,3), stride=1, padding='valid')
# bn5    : nn.BatchNorm2d(256)
# Layer8 : nn.AvgPool2d(kernel_size=(2,2), stride=2)
# fc1    : nn.Linear(in_features=43264, out_features=1024)
# fc2    : nn.Linear(in_features=1024, out_features=1024)
# dropout: nn.Dropout(p=0.5)
# fc3    : nn.Linear(in_features=1024, out_features=10)
# ```
#
# **Conventions / قراردادها.** Output shapes channels first without the batch axis, as PyTorch writes
# them: `[32, 256, 256]`, `[1024]` (`[256, 256, 32]`, channels last, is read too).  Parameters: what
# `sum(p.numel() for p in layer.parameters())` counts (BatchNorm: γ and β).  MACs for one image:
# a convolution or a linear layer one per weight and output position plus one per output element for the
# bias; BatchNorm one per element (a scale and a shift at inference); an average pooling k×k, k·k per
# output element; dropout 0.  Receptive field: the side (in input pixels) of the region one output unit
# sees, with dilation; a linear layer sees the whole image (256).
#
# <div dir="rtl">
#
# شکل خروجی را کانال‌اول و بدون محور دسته بنویسید (مانند PyTorch). تعداد ضرب و جمع برای یک تصویر: در لایهٔ
# پیچشی یا خطی یکی به ازای هر وزن و هر مکان خروجی و یکی به ازای هر عنصر خروجی برای بایاس؛ در BatchNorm یکی
# به ازای هر عنصر؛ در ادغام میانگین k×k، k·k به ازای هر عنصر خروجی؛ dropout صفر. میدان دید ضلع ناحیه‌ای از
# ورودی است که یک واحد خروجی می‌بیند (با در نظر گرفتن dilation)؛ لایهٔ خطی کل تصویر (۲۵۶) را می‌بیند.
#
# </div>

# %% id="parameters" tags=["parameters"]
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data"
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin"

# %% id="answers"
# Your answers: one row per layer; replace every None and keep the keys.
# پاسخ‌های شما: برای هر لایه یک سطر؛ به‌جای هر None مقدار درست را بگذارید و کلیدها را تغییر ندهید.
LAYERS = ["Layer1", "bn1", "Layer2", "bn2", "Layer3", "Layer4", "bn3", "Layer5", "bn4", "Layer6",
          "Layer7", "bn5", "Layer8", "fc1", "fc2", "dropout", "fc3"]
ANSWERS = {
    "q3": {name: {"output_shape": None, "params": None, "macs": None, "receptive_field": None}
           for name in LAYERS},
}

# %% id="q3-answer"
# BEGIN PROMPT
# # TODO: fill the table, showing the computation, e.g.
# # ANSWERS["q3"]["Layer1"]["params"] = 7 * 7 * 3 * 32 + 32
# END PROMPT
# BEGIN SOLUTION
# The network as (name, kind, arguments): conv (in, out, kernel, stride, dilation, padding), bn (channels),
# pool (kernel, stride), fc (in, out), dropout.
NETWORK = [
    ("Layer1", "conv", (3, 32, 7, 1, 1, "same")),
    ("bn1", "bn", (32,)),
    ("Layer2", "conv", (32, 64, 5, 2, 1, "valid")),
    ("bn2", "bn", (64,)),
    ("Layer3", "pool", (2, 2)),
    ("Layer4", "conv", (64, 128, 3, 1, 2, "valid")),
    ("bn3", "bn", (128,)),
    ("Layer5", "conv", (128, 128, 3, 1, 1, "valid")),
    ("bn4", "bn", (128,)),
    ("Layer6", "pool", (2, 2)),
    ("Layer7", "conv", (128, 256, 3, 1, 1, "valid")),
    ("bn5", "bn", (256,)),
    ("Layer8", "pool", (2, 2)),
    ("fc1", "fc", (43264, 1024)),
    ("fc2", "fc", (1024, 1024)),
    ("dropout", "dropout", ()),
    ("fc3", "fc", (1024, 10)),
]

channels, size = 3, 256          # the input: 3 × 256 × 256
rf, jump = 1, 1                  # receptive field side and the distance of neighbouring units, in input pixels
features = None                  # after the first linear layer: its output features
for name, kind, args in NETWORK:
    row = ANSWERS["q3"][name]
    if kind == "conv":
        c_in, c_out, k, stride, dilation, padding = args
        span = dilation * (k - 1) + 1                      # the dilated kernel's extent
        size = size if padding == "same" else (size - span) // stride + 1   # floored
        channels = c_out
        outputs = channels * size * size
        row["params"] = k * k * c_in * c_out + c_out
        row["macs"] = outputs * (k * k * c_in) + outputs    # the weights, then one for each bias addition
        rf += (span - 1) * jump
        jump *= stride
    elif kind == "bn":
        row["params"] = 2 * args[0]                         # γ and β (mean and variance are buffers)
        row["macs"] = channels * size * size                # one scale-and-shift per element
    elif kind == "pool":
        k, stride = args
        size = (size - k) // stride + 1
        row["params"] = 0
        row["macs"] = channels * size * size * k * k         # k·k inputs averaged per output
        rf += (k - 1) * jump
        jump *= stride
    elif kind == "fc":
        n_in, n_out = args
        assert features is not None or n_in == channels * size * size, "fc1's input is the flattened Layer8"
        features = n_out
        row["params"] = n_in * n_out + n_out
        row["macs"] = n_in * n_out + n_out
        rf = 256                                            # every input pixel reaches every output
    else:                                                   # dropout: identity at inference
        row["params"] = 0
        row["macs"] = 0
    row["output_shape"] = [features] if features is not None else [channels, size, size]
    row["receptive_field"] = min(rf, 256)

for name in LAYERS:
    print(f"{name:8s}", ANSWERS["q3"][name])
print("total parameters:", sum(ANSWERS["q3"][name]["params"] for name in LAYERS))
# END SOLUTION
