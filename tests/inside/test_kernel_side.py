"""kernel_side.py loads its folder under private names: `ops` answers exactly the protocol's requests, and a
student's module named like one of them neither shadows it nor is shadowed by it."""

import json
import subprocess
import sys
from pathlib import Path

from davar.inside import protocol

KERNEL_SIDE = Path(protocol.__file__).with_name("kernel_side.py")

LOAD = f"""
import importlib.util, json
spec = importlib.util.spec_from_file_location("kernel_side", {str(KERNEL_SIDE)!r})
kernel_side = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kernel_side)
import models, ops  # the student's own
ops_names = sorted(n for n in dir(kernel_side.ops) if not n.startswith("_") and callable(getattr(kernel_side.ops, n)))
print(json.dumps({{"ops": ops_names, "student": [models.WHO, ops.WHO]}}))
"""


def test_ops_answers_the_protocol_and_student_modules_keep_their_names(tmp_path):
    for name in ("models", "ops", "protocol"):
        (tmp_path / f"{name}.py").write_text(f"WHO = 'student {name}'\n")
    done = subprocess.run([sys.executable, "-c", LOAD], cwd=tmp_path, capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    assert set(found["ops"]) == protocol.OPS | {"install_shim"}
    assert found["student"] == ["student models", "student ops"]
