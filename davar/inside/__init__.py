"""What runs inside the sandbox, next to the student's code.

This folder is bound read-only into the sandbox as one directory (`/opt/davar`): `kernel_side.py`
starts the student's kernel (audit hook, the data-only reply helpers the bridge calls, snapshots) and
`colab_shim.py` makes Colab/Kaggle notebooks run.  They use the standard library and, lazily, what the
kernel has (numpy, the frameworks); they import nothing of the harness (an import-linter contract).
`protocol.py` is the one module both sides import: the names the two sides must agree on.
"""
