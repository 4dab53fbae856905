"""The Linux bundle's ``install.sh``: a per-user install with the desktop entry, icons and the
``.gguf`` MIME type, and an uninstall that keeps the user's data.

The bundle here is the real layout that ``packaging/build.py`` makes, around a small stand-in
program instead of the PyInstaller build (which CI builds and checks on its own).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux install"),
]


def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build", ROOT / "packaging" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    folder = tmp_path / "PurposeDesktop-0.1.0"
    folder.mkdir()
    program = folder / "purpose-desktop"
    program.write_text('#!/bin/sh\necho "stand-in started with: $*"\n', encoding="utf-8")
    program.chmod(0o755)
    build_script().add_linux_integration(folder)
    return folder


def install(bundle: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    return subprocess.run(
        [str(bundle / "install.sh"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_install_puts_the_app_in_the_menu_and_uninstall_keeps_the_data(
    bundle: Path, tmp_path: Path
) -> None:
    home = tmp_path / "user"
    home.mkdir()
    result = install(bundle, home)
    assert result.returncode == 0, result.stderr
    local = home / ".local"
    app = local / "lib" / "purpose-desktop" / "purpose-desktop"
    command = local / "bin" / "purpose-desktop"
    ran = subprocess.run([str(command), "model.gguf"], capture_output=True, text=True, check=True)
    assert ran.stdout == "stand-in started with: model.gguf\n"
    entry = (local / "share" / "applications" / "purpose-desktop.desktop").read_text()
    assert f'Exec="{app}" %F' in entry.splitlines()
    assert "MimeType=application/x-gguf;" in entry.splitlines()
    for size in (16, 48, 256, 512):
        assert (
            local
            / "share"
            / "icons"
            / "hicolor"
            / f"{size}x{size}"
            / "apps"
            / "purpose-desktop.png"
        ).is_file()
    mime = local / "share" / "mime"
    assert (mime / "packages" / "purpose-desktop-gguf.xml").is_file()
    if shutil.which("desktop-file-validate"):
        checked = subprocess.run(
            [
                "desktop-file-validate",
                str(bundle / "share" / "applications" / "purpose-desktop.desktop"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    if shutil.which("update-mime-database"):
        # The desktop's MIME database now knows .gguf files.
        assert "application/x-gguf:*.gguf" in (mime / "globs2").read_text()

    data = local / "share" / "purpose-desktop"
    data.mkdir()
    (data / "purpose-desktop.sqlite3").write_text("the user's runs", encoding="utf-8")
    removed = install(bundle, home, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not app.exists() and not command.exists()
    assert not (local / "share" / "applications" / "purpose-desktop.desktop").exists()
    assert (data / "purpose-desktop.sqlite3").read_text() == "the user's runs"
    assert str(data) in removed.stdout


def test_installing_again_replaces_the_previous_version(bundle: Path, tmp_path: Path) -> None:
    home = tmp_path / "user"
    home.mkdir()
    assert install(bundle, home).returncode == 0
    (bundle / "purpose-desktop").write_text("#!/bin/sh\necho second version\n", encoding="utf-8")
    assert install(bundle, home).returncode == 0
    ran = subprocess.run(
        [str(home / ".local" / "bin" / "purpose-desktop")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout == "second version\n"


def test_install_outside_a_bundle_says_where_to_run_it(tmp_path: Path) -> None:
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy2(ROOT / "packaging" / "linux" / "install.sh", lone / "install.sh")
    result = install(lone, tmp_path)
    assert result.returncode == 2
    assert "run it from the unpacked Purpose Desktop folder" in result.stderr
