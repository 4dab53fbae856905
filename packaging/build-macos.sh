#!/bin/sh
# macOS: dist/PurposeDesktop-VERSION-macos.dmg with "Purpose Desktop.app".
exec python3 "$(dirname "$0")/build.py" "$@"
