"""Set up (first time only) and start Purpose Desktop:  python3 scripts/launch.py [ARGS...]

Any arguments are passed to the ``purpose-desktop`` command.
"""

from __future__ import annotations

import os
import subprocess
import sys

from bootstrap import ensure_environment


def main() -> int:
    python = ensure_environment()
    command = [str(python), "-m", "purpose_desktop", *sys.argv[1:]]
    if os.name == "posix":
        # Become the app, so Ctrl+C and signals reach it directly and it can shut down cleanly.
        os.execv(command[0], command)
    try:
        return subprocess.run(command, check=False).returncode
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
