"""A notebook written for a GPU, on a grading slot without one (loaded by kernel_side.py in the student's kernel).

Installed when the student's kernel imports `torch` (the kernel imports the assignment's frameworks before
the notebook runs; a notebook that imports torch later gets it then), and only when
`torch.cuda.is_available()` is False there (a slot without a GPU has ``CUDA_VISIBLE_DEVICES=""``): with a GPU
nothing changes.  Then a CUDA device runs on the CPU instead:

- a CUDA device (``"cuda"``, ``"cuda:1"``, ``torch.device("cuda")``) given to `Tensor.to`, `Module.to`,
  `torch.set_default_device`, `torch.load`'s ``map_location`` (also as a dict's values) or the ``device=`` of
  torch's tensor factories (``torch.zeros(3, device=device)``, and ``nn.Linear(..., device=device)`` through
  them) is the CPU, and `torch.load` without a ``map_location`` loads a checkpoint saved on a GPU to the CPU;
- `Tensor.cuda()`, `Module.cuda()` and `Tensor.pin_memory()` leave the tensor or module where it is;
- `torch.cuda.is_available()` stays False, so ``"cuda" if torch.cuda.is_available() else "cpu"`` picks the
  CPU as it always did, and a question to the GPU itself (`torch.cuda.get_device_name()`) fails as it would.

The first time it moves something, the harness is told, once (``report("cuda_on_cpu", what)``), and the result
says so.  These are patched functions rather than a `torch.overrides.TorchFunctionMode` (the way
`torch.set_default_device` works): a mode sees every operation, and made a small MLP's training on a CPU
40–75 % slower (measured); the functions above see only the calls that name a device.
TensorFlow needs nothing: its soft device placement runs ``with tf.device("/GPU:0")`` on the CPU.
This file runs inside the sandbox and imports nothing from davar.
"""

import functools
import re
from collections.abc import Callable

#: torch's functions that make a tensor and take ``device=`` (those of them that this torch has).
FACTORIES = (
    "tensor", "as_tensor", "asarray", "zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm",
    "arange", "range", "linspace", "logspace", "eye", "zeros_like", "ones_like", "empty_like", "full_like",
    "rand_like", "randn_like", "randint_like", "normal", "empty_strided", "scalar_tensor", "tril_indices",
    "triu_indices", "bartlett_window", "blackman_window", "hamming_window", "hann_window", "kaiser_window",
)
_CUDA = re.compile(r"\s*cuda(:\d+)?\s*$")
_said: list[str] = []


def install(report: Callable[[str, str], None], when_imported: Callable) -> None:
    """Patch torch as above once it is imported, if it has no GPU then (`when_imported`: post_import's)."""
    when_imported("torch", lambda torch: _patch(torch, report))


def _patch(torch, report):
    if torch.cuda.is_available():
        return
    cpu = torch.device("cpu")

    def moved(what):
        if not _said:
            _said.append(what)
            report("cuda_on_cpu", what)

    def is_cuda(device):
        return (isinstance(device, str) and _CUDA.match(device) is not None) or (
            isinstance(device, torch.device) and device.type == "cuda")

    def on_cpu(args, kwargs, what):
        if any(is_cuda(a) for a in args):
            args = tuple(cpu if is_cuda(a) else a for a in args)
        elif not is_cuda(kwargs.get("device")):
            return args, kwargs
        if is_cuda(kwargs.get("device")):
            kwargs = {**kwargs, "device": cpu}
        moved(what)
        return args, kwargs

    def device_taking(real, what):
        @functools.wraps(real)
        def call(*args, **kwargs):
            args, kwargs = on_cpu(args, kwargs, what)
            return real(*args, **kwargs)

        return call

    tensor, module = torch.Tensor, torch.nn.Module
    tensor.to = device_taking(tensor.to, "Tensor.to")
    module.to = device_taking(module.to, "Module.to")
    torch.set_default_device = device_taking(torch.set_default_device, "torch.set_default_device")
    for name in FACTORIES:
        if callable(getattr(torch, name, None)):
            setattr(torch, name, device_taking(getattr(torch, name), f"torch.{name}"))

    def cuda(self, *args, **kwargs):
        moved(f"{type(self).__name__}.cuda")
        return self

    def pin_memory(self, *args, **kwargs):
        return self

    tensor.cuda, module.cuda, tensor.pin_memory = cuda, cuda, pin_memory

    real_load = torch.load

    @functools.wraps(real_load)
    def load(f, map_location=None, *args, **kwargs):
        if map_location is None:
            map_location = cpu
        elif is_cuda(map_location):
            map_location = cpu
            moved("torch.load(map_location=...)")
        elif isinstance(map_location, dict) and any(is_cuda(v) for v in map_location.values()):
            map_location = {k: "cpu" if is_cuda(v) else v for k, v in map_location.items()}
            moved("torch.load(map_location=...)")
        return real_load(f, map_location, *args, **kwargs)

    torch.load = load
