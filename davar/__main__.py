"""`davar` and `python -m davar`: the command line (davar/cli.py), imported only when it runs.

A batch's workers start with `spawn`, which runs the driver's main script again in each worker before
its first task; the script pip writes for `davar` imports this module and no more, so a worker does not
import the command line (rich, every command: 0.9 s of CPU measured on these machines) only to
start a kernel and grade.
"""

import sys


def main() -> int:
    from davar.cli import main as command_line

    return command_line()


if __name__ == "__main__":
    sys.exit(main())
