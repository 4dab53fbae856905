"""``python -m purpose_desktop`` behaves like the ``purpose-desktop`` command."""

import sys

from purpose_desktop.cli import main

sys.exit(main())
