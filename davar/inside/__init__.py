"""What runs inside the sandbox, next to the student's code.

This folder is bound read-only into the sandbox as one directory (`/opt/davar`), one module a concept:

- `kernel_side.py` starts the student's kernel: it loads the others under private names (the folder is
  not on the student's sys.path) and registers `ops` as the module the bridge calls;
- `ops.py`: the bridge's requests, answered as plain data (JSON and `.npy` files, never pickles);
- `audit.py`: the audit hook that reports attempts to leave the sandbox to the harness;
- `models.py`: what a Keras or PyTorch model looks like (layers, graph) and a forward pass;
- `snapshots.py`: the namespace saved for a regrade and restored;
- `colab_shim.py` makes Colab/Kaggle notebooks run.

They use the standard library and, lazily, what the kernel has (numpy, the frameworks); they import
nothing of the harness (an import-linter contract).  `protocol.py` is the one module both sides import:
the names the two sides must agree on.
"""
