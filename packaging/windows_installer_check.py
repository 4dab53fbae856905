"""Check the Windows installer on Linux:  python3 packaging/windows_installer_check.py

Compiles ``installer.iss`` with Inno Setup's compiler under Wine, runs the setup it makes
silently, as a user would get it, and checks what it promises:

1. A stand-in for the PyInstaller one-folder build, shaped as ``installer.iss`` expects it:
   ``purpose-desktop.exe`` with an ``_internal`` folder beside it. The executable is a real,
   tiny Windows program built with mingw-w64 (it only writes its command line to the file
   named by ``PURPOSE_DESKTOP_STANDIN_LOG``), so the Start-menu entry and the ``.gguf``
   association can be started; the files in ``_internal`` are stand-ins (small text files
   named like the build's), since the real build needs Windows.
2. ``ISCC.exe`` from the npm package ``innosetup`` (a 32-bit program, so Wine needs its 32-bit
   part) compiles ``installer.iss`` with the app's version, the stand-in folder and a
   throwaway output folder given as ``/D`` defines.
3. The setup runs with ``/VERYSILENT`` in a throwaway Wine prefix, with the defaults a user who
   clicks "Next" gets, and must install for the current user (no administrator rights): the
   files below ``%LOCALAPPDATA%\\Programs``, a Start-menu entry that starts the app, the
   ``.gguf`` association in the user's classes (its open command starts the app with the
   file; Wine's own file opening reads only the machine-wide classes, so the check runs that
   command as Explorer would), and an uninstaller registered in the user's part of the
   registry.
4. With user data in the app's data folder (``%LOCALAPPDATA%\\purpose-desktop``, platformdirs'
   user data directory), the uninstaller runs silently and must remove the program, the
   Start-menu entry, the association and its own registration, and keep the user's data.

Each step is printed as ``==> ...``; a failed check exits with status 1 and says what failed.
Everything runs in a temporary folder (Wine prefix, home folder, npm package, build output),
removed at the end together with the Wine processes started; Wine's menu and file-type
integration is turned off so nothing reaches the real desktop. Setup needs a display even when
silent: the check starts an Xvfb of its own (``-displayfd``), stopped at the end. Needs
``wine`` with its 32-bit part (Debian: ``dpkg --add-architecture i386``, then ``apt-get
install wine wine32 wine64``), ``npm``, ``x86_64-w64-mingw32-gcc`` (Debian's
``gcc-mingw-w64-x86-64``) and ``Xvfb`` (or a display); ``.ci/run`` installs them. Takes about
a minute and a half. ``--keep-temp`` keeps the temporary folder (Wine prefix, Setup's log) to
look into. Uses only the standard library, like ``packaging/build.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "installer.iss"
# The compiler's npm package, pinned so that CI compiles with the Inno Setup it was checked with.
INNOSETUP_PACKAGE = "innosetup@6.4.1"
APP_NAME = "Purpose Desktop"
APP_EXE = "purpose-desktop.exe"
PROG_ID = "PurposeDesktop.gguf"
STANDIN_LOG_ENV = "PURPOSE_DESKTOP_STANDIN_LOG"
# A program that writes its command line (UTF-8, one line per start) to the file named by
# $PURPOSE_DESKTOP_STANDIN_LOG: enough to tell that a shortcut or an association started it.
STANDIN_SOURCE = r"""
#include <windows.h>

int WINAPI wWinMain(HINSTANCE instance, HINSTANCE previous, PWSTR arguments, int show)
{
    WCHAR path[MAX_PATH];
    DWORD length = GetEnvironmentVariableW(L"PURPOSE_DESKTOP_STANDIN_LOG", path, MAX_PATH);
    if (length == 0 || length >= MAX_PATH)
        return 0;
    HANDLE file = CreateFileW(path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                              OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (file == INVALID_HANDLE_VALUE)
        return 1;
    LPCWSTR line = GetCommandLineW();
    int size = WideCharToMultiByte(CP_UTF8, 0, line, -1, NULL, 0, NULL, NULL);
    char *text = HeapAlloc(GetProcessHeap(), 0, size);
    WideCharToMultiByte(CP_UTF8, 0, line, -1, text, size, NULL, NULL);
    text[size - 1] = '\n';
    DWORD written;
    WriteFile(file, text, size, &written, NULL);
    CloseHandle(file);
    return 0;
}
"""
# Stand-ins for what PyInstaller puts in _internal (the real files need a Windows build).
STANDIN_INTERNAL = [
    "python311.dll",
    "base_library.zip",
    "resources/icons/purpose-desktop.ico",
    "resources/teams/example.yaml",
    "llama_cpp/lib/llama.dll",
]


class CheckFailed(Exception):
    """A check did not hold; the message says which."""


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def app_version() -> str:
    text = (ROOT / "purpose_desktop" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if match is None:
        raise CheckFailed("purpose_desktop/__init__.py has no __version__")
    return match.group(1)


def windows_path(path: Path) -> str:
    """``path`` as Wine's programs see it (drive Z: is the Linux root)."""
    return "Z:" + str(path.resolve()).replace("/", "\\")


def require_tools() -> None:
    missing = [
        tool
        for tool in ("wine", "wineserver", "npm", "x86_64-w64-mingw32-gcc")
        if shutil.which(tool) is None
    ]
    if missing:
        raise CheckFailed(
            f"missing {', '.join(missing)}; on Debian: dpkg --add-architecture i386 && "
            "apt-get update && apt-get install wine wine32 wine64 npm gcc-mingw-w64-x86-64"
        )


def run(
    command: Sequence[str | Path],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    what: str,
) -> subprocess.CompletedProcess[str]:
    """Run ``command``; a non-zero exit fails the check named ``what``, with its output."""
    try:
        done = subprocess.run(
            [str(part) for part in command],
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as error:
        raise CheckFailed(f"{what}: no answer after {timeout:.0f} s") from error
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise CheckFailed(f"{what} (exit {done.returncode})" + (f":\n{output}" if output else ""))
    return done


def build_standin(folder: Path, work: Path) -> Path:
    """The stand-in one-folder build in ``folder / "purpose-desktop"``."""
    app = folder / "purpose-desktop"
    (app / "_internal").mkdir(parents=True)
    source = work / "standin.c"
    source.write_text(STANDIN_SOURCE, encoding="utf-8")
    run(
        [
            "x86_64-w64-mingw32-gcc",
            "-municode",
            "-mwindows",
            "-Os",
            "-s",
            "-o",
            app / APP_EXE,
            source,
        ],
        what="building the stand-in purpose-desktop.exe with mingw-w64",
    )
    for name in STANDIN_INTERNAL:
        path = app / "_internal" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"Stand-in for {name} of a PyInstaller build.\n", encoding="utf-8")
    return app


def install_compiler(work: Path) -> Path:
    prefix = work / "npm"
    run(
        ["npm", "install", "--prefix", prefix, "--no-audit", "--no-fund", INNOSETUP_PACKAGE],
        env={**os.environ, "npm_config_cache": str(work / "npm-cache")},
        what=f"npm install {INNOSETUP_PACKAGE}",
    )
    iscc = prefix / "node_modules" / "innosetup" / "bin" / "ISCC.exe"
    if not iscc.is_file():
        raise CheckFailed(f"the npm package {INNOSETUP_PACKAGE} has no {iscc.name} at {iscc}")
    return iscc


@contextmanager
def virtual_display() -> Iterator[str | None]:
    """A display for Wine's windows (Setup fails without one, silent or not): an Xvfb of our
    own, or else the one there is."""
    if shutil.which("Xvfb") is None:
        if os.environ.get("DISPLAY"):
            yield os.environ["DISPLAY"]
            return
        raise CheckFailed("no display and no Xvfb (Debian: apt-get install xvfb)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as answer:
            number = answer.readline().strip()
        if not number:
            raise CheckFailed("Xvfb did not start")
        yield f":{number}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


class Wine:
    """Runs Windows programs in a throwaway prefix below ``work``."""

    def __init__(self, work: Path, display: str | None) -> None:
        self.prefix = work / "wineprefix"
        home = work / "home"
        home.mkdir()
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("WINE", "XDG_")) and key != "DISPLAY"
        }
        self.env.update(
            {
                "WINEPREFIX": str(self.prefix),
                "WINEARCH": "win64",
                "WINEDEBUG": "-all",
                # No menu entries or file types on the real desktop, no Mono or Gecko prompts.
                "WINEDLLOVERRIDES": "winemenubuilder.exe=d;mscoree=d;mshtml=d",
                "HOME": str(home),
                "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_DATA_HOME": str(home / ".local" / "share"),
                "XDG_CACHE_HOME": str(home / ".cache"),
            }
        )
        if display:
            self.env["DISPLAY"] = display

    def __call__(self, *arguments: str | Path, what: str, timeout: float = 300) -> str:
        done = run(["wine", *arguments], env=self.env, timeout=timeout, what=what)
        self.wait()
        return done.stdout

    def wait(self) -> None:
        """Until every program started in the prefix has ended (an uninstaller, for one,
        goes on in a copy of itself after the program started has returned)."""
        run(["wineserver", "-w"], env=self.env, timeout=120, what="waiting for Wine's programs")

    def stop(self) -> None:
        """End every program of the prefix, and its wineserver."""
        try:
            subprocess.run(
                ["wineserver", "-k"], env=self.env, check=False, timeout=60, capture_output=True
            )
        except subprocess.TimeoutExpired:
            print("wineserver -k did not end in 60 s", file=sys.stderr)

    def drive_c(self, windows: str) -> Path:
        """The Linux path of a ``C:\\...`` path in the prefix."""
        if not windows.upper().startswith("C:\\"):
            raise CheckFailed(f"expected a path on drive C:, got {windows}")
        return self.prefix / "drive_c" / Path(*windows[3:].split("\\"))

    def user_folder(self) -> Path:
        users = [
            path
            for path in (self.prefix / "drive_c" / "users").iterdir()
            if path.name != "Public" and path.is_dir()
        ]
        if len(users) != 1:
            raise CheckFailed(f"cannot tell the Wine user's folder among {users}")
        return users[0]

    def registry(self, key: str, value: str | None = None) -> str | None:
        """``reg query`` output for ``key`` (its default value, or ``value``), or None when the
        key or value is not there."""
        command = ["wine", "reg", "query", key]
        command += ["/ve"] if value is None else ["/v", value]
        done = subprocess.run(
            command,
            env=self.env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        return done.stdout if done.returncode == 0 else None

    def registry_key_exists(self, key: str) -> bool:
        done = subprocess.run(
            ["wine", "reg", "query", key],
            env=self.env,
            capture_output=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        return done.returncode == 0


def registry_data(output: str | None) -> str | None:
    """The data of the one value in a ``reg query`` answer."""
    if output is None:
        return None
    for line in output.splitlines():
        parts = re.split(r"\s{2,}|\t", line.strip(), maxsplit=2)
        if len(parts) == 3 and parts[1].startswith("REG_"):
            return "" if parts[2] == "(value not set)" else parts[2]
        if len(parts) == 2 and parts[1].startswith("REG_"):
            return ""
    return None


def expect(condition: bool, failure: str) -> None:
    if not condition:
        raise CheckFailed(failure)


def standin_starts(log: Path, before: int) -> list[str]:
    """The command lines the stand-in app wrote since the log had ``before`` lines."""
    if not log.exists():
        return []
    return log.read_text(encoding="utf-8").splitlines()[before:]


def check(work: Path, display: str | None, *, keep_output: Path | None) -> None:
    version = app_version()
    say(f"Making a stand-in one-folder build ({APP_EXE} built with mingw-w64, _internal/)")
    app = build_standin(work / "dist", work)

    say(f"Installing Inno Setup's compiler: npm install {INNOSETUP_PACKAGE}")
    iscc = install_compiler(work)

    wine = Wine(work, display)
    try:
        say("Making a throwaway Wine prefix")
        wine("wineboot", "--init", what="wineboot --init", timeout=300)

        output = work / "installer"
        say(f"Compiling installer.iss with ISCC.exe under Wine (version {version})")
        wine(
            iscc,
            "/Q",
            f"/DAppVersion={version}",
            f"/DAppFolder={windows_path(app)}",
            f"/DOutputFolder={windows_path(output)}",
            windows_path(SCRIPT),
            what="compiling installer.iss with ISCC.exe",
            timeout=180,
        )
        setup = output / f"PurposeDesktop-{version}-setup.exe"
        expect(setup.is_file(), f"ISCC.exe made no {setup.name} in {output}")
        if keep_output is not None:
            keep_output.mkdir(parents=True, exist_ok=True)
            shutil.copy2(setup, keep_output / setup.name)
            say(f"Kept {keep_output / setup.name}")

        say(f"Running {setup.name} /VERYSILENT under Wine, with the default choices")
        setup_log = work / "setup.log"
        try:
            wine(
                setup,
                "/VERYSILENT",
                "/SUPPRESSMSGBOXES",
                "/NORESTART",
                f"/LOG={windows_path(setup_log)}",
                what=f"running {setup.name}",
                timeout=120,
            )
        except CheckFailed as error:
            if setup_log.exists():
                raise CheckFailed(
                    f"{error}\nSetup's log:\n{setup_log.read_text(errors='replace')}"
                ) from error
            raise
        check_installed(wine, app, work)
        check_uninstall(wine, work)
    finally:
        wine.stop()


def check_installed(wine: Wine, standin: Path, work: Path) -> None:
    user = wine.user_folder()
    program = user / "AppData" / "Local" / "Programs" / APP_NAME
    say(f"Checking the files in the per-user folder {program.relative_to(wine.prefix)}")
    for source in sorted(standin.rglob("*")):
        if source.is_file():
            target = program / source.relative_to(standin)
            expect(target.is_file(), f"the setup did not install {target}")
            expect(
                target.read_bytes() == source.read_bytes(),
                f"{target} differs from the build's {source.relative_to(standin)}",
            )
    expect(
        not (wine.prefix / "drive_c" / "Program Files" / APP_NAME).exists(),
        "the setup installed into C:\\Program Files, which needs administrator rights",
    )

    start_menu = user / "AppData" / "Roaming" / "Microsoft" / "Windows" / "Start Menu"
    shortcut = start_menu / "Programs" / APP_NAME / f"{APP_NAME}.lnk"
    say(f"Checking the Start-menu entry {shortcut.relative_to(user)}")
    expect(shortcut.is_file(), f"no Start-menu entry at {shortcut}")
    uninstall_entry = shortcut.with_name(f"Uninstall {APP_NAME}.lnk")
    expect(uninstall_entry.is_file(), f"no Start-menu entry at {uninstall_entry}")
    desktop = user / "Desktop" / f"{APP_NAME}.lnk"
    expect(not desktop.exists(), "a desktop shortcut was made though that task is unticked")

    log = work / "standin-starts.log"
    wine.env[STANDIN_LOG_ENV] = windows_path(log)
    say("Starting the app through its Start-menu entry")
    # start /unix: given a Windows path with a space, start.exe takes it for a window title.
    wine("start", "/wait", "/unix", shortcut, what="starting the Start-menu entry", timeout=60)
    starts = standin_starts(log, 0)
    expect(
        len(starts) == 1 and APP_EXE in starts[0].lower(),
        f"the Start-menu entry did not start {APP_EXE} (it wrote: {starts})",
    )

    say(r"Checking the .gguf association in HKEY_CURRENT_USER\Software\Classes")
    classes = r"HKCU\Software\Classes"
    expect(
        wine.registry(rf"{classes}\.gguf\OpenWithProgids", PROG_ID) is not None,
        rf"no {PROG_ID} in {classes}\.gguf\OpenWithProgids",
    )
    owner = registry_data(wine.registry(rf"{classes}\.gguf"))
    expect(owner == PROG_ID, rf"{classes}\.gguf opens with {owner!r}, not {PROG_ID}")
    command = registry_data(wine.registry(rf"{classes}\{PROG_ID}\shell\open\command"))
    expect(command is not None, rf"no {classes}\{PROG_ID}\shell\open\command")
    expected = f'"C:\\users\\{user.name}\\AppData\\Local\\Programs\\{APP_NAME}\\{APP_EXE}" "%1"'
    expect(
        command is not None and command.lower() == expected.lower(),
        f"the .gguf open command is {command!r}, expected {expected!r}",
    )
    expect(
        not wine.registry_key_exists(rf"HKLM\Software\Classes\{PROG_ID}"),
        "the association was written for all users (HKEY_LOCAL_MACHINE)",
    )
    model = work / "home" / "Tiny model.gguf"
    model.write_bytes(b"GGUF stand-in")
    # Explorer runs the association's command with the file for %1. Wine's own file opening
    # (start, ShellExecute) reads only the machine-wide classes, so the check runs it.
    say(f"Opening {model.name} with the association's command")
    assert command is not None
    executable = command.split('"')[1]
    wine(executable, windows_path(model), what=f"opening {model.name}", timeout=60)
    starts = standin_starts(log, 1)
    expect(
        len(starts) == 1 and windows_path(model).lower() in starts[0].lower(),
        f"opening {model.name} did not start {APP_EXE} with it (it wrote: {starts})",
    )

    say("Checking the uninstaller's registration")
    uninstall_key = uninstall_registry_key()
    uninstaller = registry_data(wine.registry(uninstall_key, "UninstallString"))
    expect(uninstaller is not None, f"no uninstaller registered at {uninstall_key}")
    expect(
        not wine.registry_key_exists(uninstall_key.replace("HKCU", "HKLM", 1)),
        "the uninstaller is registered for all users (HKEY_LOCAL_MACHINE)",
    )
    assert uninstaller is not None
    expect(
        wine.drive_c(uninstaller.strip('"')).is_file(),
        f"the registered uninstaller {uninstaller} is not there",
    )


def uninstall_registry_key() -> str:
    text = SCRIPT.read_text(encoding="utf-8")
    match = re.search(r"^AppId=\{\{([0-9A-Fa-f-]+)\}", text, re.MULTILINE)
    if match is None:
        raise CheckFailed("installer.iss has no AppId={{GUID}")
    return (
        r"HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall"
        + "\\{"
        + match.group(1)
        + "}_is1"
    )


def check_uninstall(wine: Wine, work: Path) -> None:
    user = wine.user_folder()
    data = user / "AppData" / "Local" / "purpose-desktop"
    say(f"Putting user data in {data.relative_to(wine.prefix)}")
    kept = {
        "settings.json": b'{"n_threads": 2}\n',
        "purpose-desktop.sqlite3": b"SQLite format 3\x00 stand-in",
        "models/my-model.gguf": b"GGUF stand-in",
        "logs/purpose-desktop.log": b"a log line\n",
    }
    for name, content in kept.items():
        path = data / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    uninstall_key = uninstall_registry_key()
    uninstaller = registry_data(wine.registry(uninstall_key, "UninstallString"))
    assert uninstaller is not None
    say(f"Running the uninstaller silently: {uninstaller} /VERYSILENT")
    wine(
        uninstaller.strip('"'),
        "/VERYSILENT",
        "/SUPPRESSMSGBOXES",
        "/NORESTART",
        what="running the uninstaller",
        timeout=120,
    )

    say("Checking that the program, Start-menu entry and association are gone")
    program = user / "AppData" / "Local" / "Programs" / APP_NAME
    left = sorted(str(path.relative_to(program)) for path in program.rglob("*"))
    expect(not program.exists(), f"the uninstaller left {program} behind: {left}")
    menu = user / "AppData" / "Roaming" / "Microsoft" / "Windows" / "Start Menu" / "Programs"
    expect(not (menu / APP_NAME).exists(), "the uninstaller left the Start-menu entry")
    classes = r"HKCU\Software\Classes"
    for key in (rf"{classes}\{PROG_ID}", rf"{classes}\Applications\{APP_EXE}", uninstall_key):
        expect(not wine.registry_key_exists(key), f"the uninstaller left {key}")
    expect(
        wine.registry(rf"{classes}\.gguf\OpenWithProgids", PROG_ID) is None,
        rf"the uninstaller left {PROG_ID} in {classes}\.gguf\OpenWithProgids",
    )
    default = registry_data(wine.registry(rf"{classes}\.gguf"))
    expect(not default, rf"the uninstaller left {classes}\.gguf pointing at {default!r}")
    # Nothing else had .gguf files in this prefix, so no empty key may be left either.
    expect(
        not wine.registry_key_exists(rf"{classes}\.gguf"), rf"the uninstaller left {classes}\.gguf"
    )

    say("Checking that the user's data is still there")
    for name, content in kept.items():
        path = data / name
        expect(path.is_file(), f"the uninstaller deleted the user's {name}")
        expect(path.read_bytes() == content, f"the uninstaller changed the user's {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--keep-installer",
        type=Path,
        metavar="FOLDER",
        help="copy the compiled (stand-in) setup into FOLDER",
    )
    parser.add_argument(
        "--keep-temp",
        action="store_true",
        help="keep the temporary folder (Wine prefix, logs) to look into after a failure",
    )
    args = parser.parse_args()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="purpose-desktop-windows-check-"))
    try:
        require_tools()
        with virtual_display() as display:
            check(work, display, keep_output=args.keep_installer)
    except CheckFailed as error:
        print(f"Windows installer check FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        if args.keep_temp:
            say(f"Kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    say(f"The Windows installer works under Wine ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
