"""Build Purpose Desktop for the platform this runs on:  python3 packaging/build.py [options]

1. Sets up the project's virtual environment with PyInstaller (the ``package`` extra).
2. Makes the one-folder build in ``dist/purpose-desktop`` (``dist/Purpose Desktop.app`` on
   macOS) from ``packaging/purpose-desktop.spec``, with the bundled models unless
   ``--without-models``.
3. Runs the build's own ``self-test`` (unless ``--no-self-test``): offscreen, it loads the
   bundled model, generates a few tokens, writes and reads a database, runs code with the
   python tool and opens the window.
4. Packs what a user downloads, in ``dist/``:
   - Linux: ``PurposeDesktop-VERSION-linux-ARCH.tar.gz``, the folder with its desktop entry,
     icons, the ``.gguf`` MIME type and ``install.sh`` (a per-user install, no root needed);
   - Windows: ``dist/installer/PurposeDesktop-VERSION-setup.exe`` from ``installer.iss``, when
     Inno Setup's ``iscc`` is on the PATH (otherwise it says how to get it);
   - macOS: ``PurposeDesktop-VERSION-macos.dmg`` with ``hdiutil``.

Uses only the standard library, like ``scripts/launch.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from bootstrap import ensure_environment  # noqa: E402 (found through the path set above)

DIST = ROOT / "dist"
BUILD = ROOT / "build"
APP_FOLDER = DIST / "purpose-desktop"
MAC_APP = DIST / "Purpose Desktop.app"
LINUX_FILES = ROOT / "packaging" / "linux"


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)


def _version(python: Path) -> str:
    code = "import purpose_desktop; print(purpose_desktop.__version__)"
    return subprocess.run(
        [str(python), "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()


def build_bundle(python: Path, *, with_models: bool) -> None:
    env = dict(os.environ)
    env["PURPOSE_DESKTOP_BUNDLE_MODELS"] = "1" if with_models else "0"
    _say(
        "Building the one-folder bundle with PyInstaller"
        + (" (with the bundled models)" if with_models else "")
    )
    subprocess.run(
        [
            str(python),
            "-m",
            "PyInstaller",
            str(ROOT / "packaging" / "purpose-desktop.spec"),
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            str(DIST),
            "--workpath",
            str(BUILD),
        ],
        check=True,
        cwd=ROOT,
        env=env,
    )


def executable() -> Path:
    """The built app's executable."""
    if sys.platform == "darwin":
        return MAC_APP / "Contents" / "MacOS" / "purpose-desktop"
    return APP_FOLDER / ("purpose-desktop.exe" if os.name == "nt" else "purpose-desktop")


def self_test() -> None:
    _say(f"Running the build's self-test: {executable()} self-test")
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.pop("PURPOSE_DESKTOP_HOME", None)  # the self-test makes its own
    code = subprocess.run([str(executable()), "self-test"], env=env, check=False).returncode
    if code != 0:
        sys.exit(f"The build's self-test failed (exit {code}); see the lines above.")


def add_linux_integration(folder: Path) -> None:
    """Put ``install.sh`` and what it installs (the desktop entry, the ``.gguf`` MIME type,
    the icons in ``share/``) into the app's ``folder``."""
    shutil.copy2(LINUX_FILES / "install.sh", folder / "install.sh")
    share = folder / "share"
    if share.exists():
        shutil.rmtree(share)
    (share / "applications").mkdir(parents=True)
    shutil.copy2(ROOT / "resources" / "purpose-desktop.desktop", share / "applications")
    (share / "mime" / "packages").mkdir(parents=True)
    shutil.copy2(ROOT / "resources" / "purpose-desktop-gguf.xml", share / "mime" / "packages")
    shutil.copytree(ROOT / "resources" / "icons" / "hicolor", share / "icons" / "hicolor")


def pack_linux(version: str) -> Path:
    """The folder plus desktop integration, as a tarball that unpacks to one folder."""
    add_linux_integration(APP_FOLDER)
    archive = DIST / f"PurposeDesktop-{version}-linux-{platform.machine()}.tar.gz"
    _say(f"Packing {archive.name}")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(APP_FOLDER, arcname=f"PurposeDesktop-{version}")
    return archive


def pack_windows(version: str) -> Path | None:
    iscc = shutil.which("iscc") or shutil.which("ISCC")
    if iscc is None:
        _say(
            "Inno Setup's iscc is not on the PATH, so no installer was made. Install Inno "
            "Setup 6 (https://jrsoftware.org/isinfo.php), then run:  iscc installer.iss"
        )
        return None
    _say("Making the installer with Inno Setup")
    subprocess.run(
        [iscc, f"/DAppVersion={version}", str(ROOT / "installer.iss")], check=True, cwd=ROOT
    )
    return next((DIST / "installer").glob("*.exe"))


def pack_macos(version: str) -> Path:
    image = DIST / f"PurposeDesktop-{version}-macos.dmg"
    image.unlink(missing_ok=True)
    _say(f"Making {image.name}")
    subprocess.run(
        [
            "hdiutil",
            "create",
            "-volname",
            "Purpose Desktop",
            "-srcfolder",
            str(MAC_APP),
            "-ov",
            "-format",
            "UDZO",
            str(image),
        ],
        check=True,
    )
    return image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--without-models",
        action="store_true",
        help="leave the bundled models out (about 340 MB smaller; the app then "
        "runs GGUF files from its models folder)",
    )
    parser.add_argument(
        "--no-self-test", action="store_true", help="do not run the build's self-test"
    )
    parser.add_argument(
        "--no-package",
        action="store_true",
        help="stop after the bundle: no tarball, installer or disk image",
    )
    args = parser.parse_args()
    python = ensure_environment("package")
    version = _version(python)
    build_bundle(python, with_models=not args.without_models)
    if not args.no_self_test:
        if args.without_models:
            _say("Skipping the self-test: it needs the bundled models")
        else:
            self_test()
    if args.no_package:
        return 0
    made: Path | None
    if sys.platform.startswith("linux"):
        made = pack_linux(version)
    elif os.name == "nt":
        made = pack_windows(version)
    else:
        made = pack_macos(version)
    if made is not None:
        _say(f"Built {made}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
