"""What the store's file formats (run files, memory files) share: the format check, error
messages that name the first bad field, reading and writing files, and the one transaction an
import is written in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from purpose_desktop.errors import UserError
from purpose_desktop.store.database import StoreWriteError, why_not_written, writing


def check_format(record: Any, name: str, version: int, what: str) -> None:
    """``ValueError`` unless ``record`` is an object of format ``name``, version ``version``:
    said before any field, which a file of another kind or version would fail by the dozen."""
    if not isinstance(record, dict) or record.get("format") != name:
        raise ValueError(f'not a {what}: it must begin with "format": "{name}"')
    found = record.get("version")
    if found != version:
        newer = isinstance(found, int) and found > version
        raise ValueError(
            f"{what} version {found!r} cannot be read, only version {version}"
            + ("; a newer purpose-desktop wrote it" if newer else "")
        )


def first_problem(exc: ValidationError) -> str:
    """The first of ``exc``'s problems as ``field.path[2].name: message``."""
    error = exc.errors()[0]
    where = ""
    for part in error["loc"]:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


@contextmanager
def in_one_transaction(engine: Engine, what: str) -> Iterator[Connection]:
    """One write transaction for an import: all of it is committed, or none of it.
    :class:`StoreWriteError` when the database refuses it (a full disk, a lock held)."""
    try:
        with writing(engine) as connection:
            yield connection
    except SQLAlchemyError as exc:
        raise StoreWriteError(
            f"The {what} could not be stored, so nothing was imported: {why_not_written(exc)}"
        ) from None


@contextmanager
def reading_errors(path: Path, what: str, error: type[UserError]) -> Iterator[None]:
    """The ways reading the ``what`` at ``path`` fails, as ``error`` saying which."""
    try:
        yield
    except FileNotFoundError:
        raise error(f"{what.capitalize()} not found: {path}") from None
    except IsADirectoryError:
        raise error(f"{path} is a folder, not a {what}.") from None
    except UnicodeDecodeError:
        raise error(f"{path} is not a {what}: it is not UTF-8 text.") from None
    except OSError as exc:
        raise error(f"Cannot read the {what} {path}: {exc.strerror or exc}") from None


@contextmanager
def replacing(path: Path) -> Iterator[TextIO]:
    """A text stream whose content replaces ``path`` once the block ends without error; on
    an error the file stays as it was. ``UserError`` if it cannot be written."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="\n") as stream:
            yield stream
        temporary.replace(path)
    except OSError as exc:
        raise UserError(f"Cannot write {path}: {exc.strerror or exc}") from None
    finally:
        temporary.unlink(missing_ok=True)
