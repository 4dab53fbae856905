#!/bin/sh
# Linux: dist/PurposeDesktop-VERSION-linux-ARCH.tar.gz (unpack it, then run its install.sh).
exec python3 "$(dirname "$0")/build.py" "$@"
