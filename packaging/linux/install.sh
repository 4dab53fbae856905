#!/bin/sh
# Install Purpose Desktop for the current user, from the folder this script is in:
#
#   ./install.sh              copy the app to ~/.local/lib/purpose-desktop, put the
#                             purpose-desktop command in ~/.local/bin, and add it to the
#                             desktop's menu, with its icon and .gguf files opening with it
#   ./install.sh --uninstall  remove all of that again; the teams, memory, runs and models in
#                             ~/.local/share/purpose-desktop stay
#
# No root needed. PREFIX (default ~/.local) and XDG_DATA_HOME (default ~/.local/share) move
# where it goes.
set -eu

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}
data=${XDG_DATA_HOME:-$HOME/.local/share}
app_dir=$prefix/lib/purpose-desktop
command=$prefix/bin/purpose-desktop
desktop_file=$data/applications/purpose-desktop.desktop
mime_file=$data/mime/packages/purpose-desktop-gguf.xml
icon_sizes="16 24 32 48 64 128 256 512"

refresh_desktop() {
    # Each tool is optional: without it the desktop picks the change up at next login.
    if command -v update-mime-database >/dev/null 2>&1; then
        update-mime-database "$data/mime" >/dev/null 2>&1 || true
    fi
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database "$data/applications" >/dev/null 2>&1 || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t "$data/icons/hicolor" >/dev/null 2>&1 || true
    fi
}

uninstall() {
    rm -rf "$app_dir"
    rm -f "$command" "$desktop_file" "$mime_file"
    for size in $icon_sizes; do
        rm -f "$data/icons/hicolor/${size}x${size}/apps/purpose-desktop.png"
    done
    refresh_desktop
    echo "Purpose Desktop was removed. Your teams, memory and models are still in" \
         "$data/purpose-desktop; delete that folder to remove them too."
}

install() {
    if [ ! -x "$here/purpose-desktop" ]; then
        echo "install.sh: run it from the unpacked Purpose Desktop folder" \
             "($here has no purpose-desktop program)." >&2
        exit 2
    fi
    # Copy into a new folder first, then swap it in: an install that fails halfway leaves the
    # previous version working.
    mkdir -p "$prefix/lib" "$prefix/bin"
    rm -rf "$app_dir.new"
    cp -R "$here" "$app_dir.new"
    rm -rf "$app_dir"
    mv "$app_dir.new" "$app_dir"
    ln -sf "$app_dir/purpose-desktop" "$command"

    mkdir -p "$data/applications" "$data/mime/packages"
    # The menu entry starts the installed program by its full path: ~/.local/bin is not on
    # every desktop session's PATH.
    sed "s|^Exec=purpose-desktop|Exec=\"$app_dir/purpose-desktop\"|" \
        "$here/share/applications/purpose-desktop.desktop" > "$desktop_file"
    cp "$here/share/mime/packages/purpose-desktop-gguf.xml" "$mime_file"
    for size in $icon_sizes; do
        icon_dir=$data/icons/hicolor/${size}x${size}/apps
        mkdir -p "$icon_dir"
        cp "$here/share/icons/hicolor/${size}x${size}/apps/purpose-desktop.png" "$icon_dir/"
    done
    refresh_desktop
    if command -v xdg-mime >/dev/null 2>&1; then
        xdg-mime default purpose-desktop.desktop application/x-gguf >/dev/null 2>&1 || true
    fi
    echo "Purpose Desktop is installed: start it from the applications menu, or run $command"
}

case "${1:-}" in
    --uninstall) uninstall ;;
    "") install ;;
    *) echo "usage: install.sh [--uninstall]" >&2; exit 2 ;;
esac
