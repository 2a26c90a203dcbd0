"""`davar/__main__.py`: the `davar` command's entry, light enough for a batch's spawned workers to run again."""

import subprocess
import sys
from importlib.metadata import entry_points


def test_the_davar_command_is_davar_main_which_leaves_the_command_line_unimported_until_it_runs():
    """A batch's spawned workers run the driver's main script again: `davar` must not import the command
    line there (davar/__main__.py)."""
    entry = {e.name: e.value for e in entry_points(group="console_scripts")}["davar"]
    assert entry == "davar.__main__:main"
    loaded = subprocess.run([sys.executable, "-c", "import sys, davar.__main__; print('davar.cli' in sys.modules)"],
                            capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"
    shown = subprocess.run([sys.executable, "-m", "davar", "--help"], capture_output=True, text=True)
    assert shown.returncode == 0 and "davar grade" in shown.stdout
