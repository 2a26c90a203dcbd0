"""What runs inside the sandbox, next to the student's code.

This folder is bound read-only into the sandbox as one directory (`/opt/davar`), one module a concept:

- `kernel_side.py` starts the student's kernel: it loads the others under private names (the folder is
  not on the student's sys.path), binds the bridge's requests before any student code, registers their
  handler for the kernel's ``davar_request`` messages and leaves nothing of this folder importable;
- `ops.py`: the bridge's requests, answered as plain data (JSON and `.npy` files, never pickles) written
  atomically; everything they use is captured when they are bound, so a notebook that later patches a
  module attribute or replaces a `sys.modules` entry changes no answer;
- `audit.py`: the audit hook that reports attempts to leave the sandbox to the harness;
- `models.py`: what a Keras or PyTorch model looks like (layers, graph) and a forward pass;
- `snapshots.py`: the namespace saved for a regrade and restored;
- `colab_shim.py` makes Colab/Kaggle notebooks run (framework dataset loaders included, served offline);
- `cuda_shim.py` runs a notebook written for a GPU on a slot without one (CUDA devices become the CPU);
- `post_import.py` lets the shims adapt a library right after the student's code imports it.

They use the standard library, numpy and cloudpickle (imported when the kernel starts, before the student's
code) and, lazily, the frameworks; they import nothing of the harness (an import-linter contract).
`protocol.py` is the one module both sides import: the names the two sides must agree on.
"""
