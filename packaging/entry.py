"""Entry point of the frozen build: the same as the ``purpose-desktop`` command."""

import sys

from purpose_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
