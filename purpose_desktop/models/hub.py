"""GGUF models from the Hugging Face Hub: search, a repository's files, and downloads.

Everything goes through ``huggingface_hub`` (its ``HfApi``, its URLs and its HTTP session),
pointed at ``HF_ENDPOINT`` or an endpoint given, so a mirror or a local stand-in serves the
same way as huggingface.co. A download is the app's own loop over the client's session,
because it must report progress, stop when asked and resume: it writes to ``NAME.part`` in
the models folder, asks only for the bytes missing from a part left by an earlier try, and
checks the whole file against the SHA-256 the Hub keeps for it (its LFS object id) before the
usual GGUF checks. Only a file that passes all of them is renamed to ``NAME.gguf``, where the
catalog finds it; a part that does not match is deleted, one that was cut short is kept.

All of it blocks on the network: call it off the UI loop.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from purpose_desktop import __version__
from purpose_desktop.errors import ModelError
from purpose_desktop.models.gguf_metadata import (
    GGUFHeaderIncomplete,
    GGUFMetadata,
    read_gguf_header,
    read_gguf_metadata,
)
from purpose_desktop.models.library import CopyCancelled, Progress
from purpose_desktop.models.memory import estimate_memory

if TYPE_CHECKING:
    from huggingface_hub import HfApi

# huggingface_hub otherwise fetches a registry of coding tools from the Hub (and caches it in
# the user's home) to name one in its User-Agent: the app sends the Hub only what a search or a
# download needs. Read when huggingface_hub is imported, which this module does lazily.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

ENDPOINT_ENV = "HF_ENDPOINT"
DEFAULT_ENDPOINT = "https://huggingface.co"
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a connection: a Hub that is reachable accepts one at once."""
READ_TIMEOUT = 30.0
"""Seconds the Hub may stay silent, mid-listing or mid-file, before the request fails."""
CHUNK_BYTES = 1024 * 1024
SEARCH_LIMIT = 30
PART_SUFFIX = ".part"
_HEADER_READS = (4 * 1024 * 1024, 32 * 1024 * 1024, 128 * 1024 * 1024)
"""How much of a file's start to fetch to read its header, tried in turn: most headers fit
in the first few MiB (the vocabulary is most of it)."""
_LIBRARY = "purpose-desktop"
_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy")

# Quantisation names as llama.cpp's tools write them into file names (Q4_K_M, IQ4_XS, Q8_0,
# F16, BF16, TQ1_0, MXFP4, and derivatives such as Q4_K_XL), standing between separators.
_QUANTISATION = re.compile(
    r"(?<![A-Za-z0-9])(I?Q\d(?:_[0-9A-Za-z]+)*|B?F16|F32|TQ\d_\d|MXFP4)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
# Shards of a split model (NAME-00001-of-00003.gguf): one is not a model by itself.
_SHARD = re.compile(r"-\d{5}-of-\d{5}\.gguf$", re.IGNORECASE)
_SHA256 = re.compile(r"[0-9a-f]{64}")


class HubUnreachable(ModelError):
    """The Hub could not be reached at all: no network, a wrong address, a server down."""


class DownloadCancelled(CopyCancelled):
    """The person stopped the download; what was fetched stays as a part to resume from."""


class ChecksumMismatch(ModelError):
    """The file fetched is not the one the Hub describes; it was deleted, nothing added."""


@dataclass(frozen=True)
class HubRepo:
    """A model repository the search found."""

    repo_id: str
    downloads: int
    likes: int


@dataclass(frozen=True)
class HubFile:
    """One GGUF file of a repository, at the commit the listing was made from."""

    repo_id: str
    filename: str
    """Its path in the repository."""
    revision: str
    """The commit it was listed at; a download asks for this commit, so a file cannot change
    between a part and its rest."""
    size_bytes: int
    sha256: str | None
    """The SHA-256 of its content (the LFS object id), if the Hub gives one."""

    @property
    def name(self) -> str:
        """The file's name, as it is saved in the models folder and named in team files."""
        return PurePosixPath(self.filename).name

    @property
    def quantisation(self) -> str:
        return quantisation_of(self.filename)


@dataclass(frozen=True)
class FileOption:
    """A file to choose from, with the memory it needs once loaded and whether that fits."""

    file: HubFile
    memory_bytes: int
    fits: bool


@dataclass(frozen=True)
class RepoListing:
    """A repository's GGUF files, smallest first, and the one to offer by default: the
    largest that fits the memory budget (the smallest when none does; ``None`` with no
    files). ``skipped`` names the GGUF files that cannot be used alone, and why."""

    repo_id: str
    revision: str
    options: tuple[FileOption, ...]
    default: int | None
    context_size: int
    budget_bytes: int
    skipped: tuple[str, ...] = ()


def hub_endpoint(endpoint: str | None = None) -> str:
    """The Hub's base URL: ``endpoint``, else ``$HF_ENDPOINT``, else huggingface.co.

    Raises :class:`ModelError` for something that is not an http(s) address.
    """
    raw = (endpoint or os.environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT).strip().rstrip("/")
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - reading it checks the port
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ModelError(
            f"'{raw}' is not an address of a Hugging Face Hub; use a form such as "
            f"{DEFAULT_ENDPOINT}."
        )
    return raw


def quantisation_of(filename: str) -> str:
    """The quantisation a GGUF file's name gives (``Q4_K_M``, ``Q8_0``, ``F16``…), or ""."""
    found = _QUANTISATION.findall(PurePosixPath(filename).name.removesuffix(".gguf"))
    return found[-1].upper() if found else ""


def usable_alone(filename: str, size_bytes: int | None = None) -> str | None:
    """Why a GGUF file of a repository cannot be added by itself, or ``None`` if it can."""
    name = PurePosixPath(filename).name
    if "\\" in filename:
        # Windows would read it as folders, and the file would land outside the models folder.
        return f"{filename} has a backslash in its name"
    if _SHARD.search(name):
        return f"{name} is one part of a model split into several files"
    if "mmproj" in name.lower():
        return f"{name} is a vision projector, not a language model"
    if size_bytes == 0:
        return f"{name} is empty"
    return None


def plan_choices(
    files: Sequence[HubFile], header: GGUFMetadata, context_size: int, budget_bytes: int
) -> tuple[tuple[FileOption, ...], int | None]:
    """Each file with the memory it needs at ``context_size`` tokens, smallest first, and
    the index of the default choice (see :class:`RepoListing`).

    The files of a repository are one model at several quantisations: all but the weights
    (the context cache, buffers, the prompt cache) come from one file's ``header`` and are
    the same for each, and the weights count at each file's size.
    """
    estimate = estimate_memory(header, context_size)
    besides_weights = estimate.total - estimate.weights
    options = tuple(
        FileOption(
            file,
            file.size_bytes + besides_weights,
            file.size_bytes + besides_weights <= budget_bytes,
        )
        for file in sorted(files, key=lambda file: (file.size_bytes, file.filename))
    )
    if not options:
        return options, None
    fitting = [index for index, option in enumerate(options) if option.fits]
    return options, fitting[-1] if fitting else 0


class HubClient:
    """The Hugging Face Hub at ``endpoint`` (see :func:`hub_endpoint`), through
    ``huggingface_hub``. Every method blocks on the network."""

    def __init__(self, endpoint: str | None = None) -> None:
        self.endpoint = hub_endpoint(endpoint)
        self._api: HfApi | None = None

    @property
    def api(self) -> HfApi:
        if self._api is None:
            from huggingface_hub import HfApi

            self._api = HfApi(
                endpoint=self.endpoint, library_name=_LIBRARY, library_version=__version__
            )
        return self._api

    # --- listing ----------------------------------------------------------------------

    def search(self, query: str, limit: int = SEARCH_LIMIT) -> list[HubRepo]:
        """Model repositories with GGUF files whose names contain ``query``, most downloaded
        first."""
        query = query.strip()
        if not query:
            raise ModelError("Type part of a model's name to search for, such as 'smollm2'.")
        self._check_reachable()
        from huggingface_hub import get_session

        # Asked directly rather than through HfApi.list_models, which sends its requests with
        # no timeout: a Hub that took the connection and never answered would hang the search.
        with self._failures("searching for models"):
            response = get_session().get(
                f"{self.endpoint}/api/models",
                params={"search": query, "filter": "gguf", "sort": "downloads", "limit": limit},
                headers=self._headers(),
                timeout=_timeout(),
            )
            _raise_for_status(response)
            return [
                HubRepo(
                    str(model["id"]), int(model.get("downloads") or 0), int(model.get("likes") or 0)
                )
                for model in response.json()
            ]

    def files(self, repo_id: str) -> tuple[str, tuple[HubFile, ...], tuple[str, ...]]:
        """The commit ``repo_id`` is at, its GGUF files that can be used alone, and why the
        others cannot."""
        self._check_reachable()
        with self._failures(f"listing the files of {repo_id}", repo_id):
            info = self.api.model_info(repo_id, files_metadata=True, timeout=READ_TIMEOUT)
        revision = info.sha or "main"
        files: list[HubFile] = []
        skipped: list[str] = []
        for sibling in info.siblings or ():
            if not sibling.rfilename.lower().endswith(".gguf"):
                continue
            lfs = sibling.lfs
            size = int(lfs.size if lfs is not None else sibling.size or 0)
            if (problem := usable_alone(sibling.rfilename, size)) is not None:
                skipped.append(problem)
                continue
            files.append(
                HubFile(
                    repo_id=repo_id,
                    filename=sibling.rfilename,
                    revision=revision,
                    size_bytes=size,
                    sha256=lfs.sha256 if lfs is not None else None,
                )
            )
        return revision, tuple(files), tuple(skipped)

    def listing(self, repo_id: str, context_size: int, budget_bytes: int) -> RepoListing:
        """``repo_id``'s GGUF files with the memory each needs and the default choice; the
        header of its smallest file is read from the Hub for the estimate."""
        revision, files, skipped = self.files(repo_id)
        if not files:
            return RepoListing(repo_id, revision, (), None, context_size, budget_bytes, skipped)
        smallest = min(files, key=lambda file: file.size_bytes)
        options, default = plan_choices(files, self.header(smallest), context_size, budget_bytes)
        return RepoListing(repo_id, revision, options, default, context_size, budget_bytes, skipped)

    def header(self, file: HubFile) -> GGUFMetadata:
        """The GGUF header of ``file``, from the first bytes of it alone; :class:`ModelError`
        when it is not a GGUF model this app can read."""
        path = Path(file.name)
        start = b""
        for length in _HEADER_READS:
            start = self._read_start(file, min(length, file.size_bytes))
            try:
                return read_gguf_header(path, file.size_bytes, io.BytesIO(start))
            except GGUFHeaderIncomplete:
                if len(start) >= file.size_bytes:
                    break
        where = (
            "the whole file"
            if len(start) >= file.size_bytes
            else f"its first {len(start) // 2**20} MiB"
        )
        raise ModelError(
            f"{file.name} in {file.repo_id} is not a GGUF model this app can read: its "
            f"header does not end within {where}."
        )

    def _read_start(self, file: HubFile, length: int) -> bytes:
        from huggingface_hub import get_session

        start = bytearray()
        with (
            self._failures(f"reading the start of {file.name}", file.repo_id),
            get_session().stream(
                "GET",
                self._url(file),
                headers=self._headers(Range=f"bytes=0-{length - 1}"),
                timeout=_timeout(),
                follow_redirects=True,
            ) as response,
        ):
            _raise_for_status(response)
            # A server that ignores the range sends the whole file: stop reading in time.
            for chunk in response.iter_bytes(CHUNK_BYTES):
                start += chunk
                if len(start) >= length:
                    break
        return bytes(start[:length])

    # --- downloading ------------------------------------------------------------------

    def download(self, file: HubFile, folder: Path, progress: Progress | None = None) -> Path:
        """Fetch ``file`` into ``folder`` as ``NAME.part``, going on from a part an earlier
        try left, and check it: its size, its SHA-256 against the Hub's, then its GGUF
        header and data. Returns the checked part, for :func:`install` to put in place.

        ``progress`` is called with (bytes fetched, bytes in all) as pieces arrive; when it
        returns False the download stops with :class:`DownloadCancelled` and keeps its part.
        A file that is not the one the Hub describes raises :class:`ChecksumMismatch` and
        its part is deleted, as is a file that is not a usable GGUF model (a
        :class:`ModelError` saying why); one the Hub cannot give raises :class:`ModelError`.
        """
        self._check_reachable()
        expected = self._expected_sha256(file)
        part = folder / (file.name + PART_SUFFIX)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            done = part.stat().st_size if part.exists() else 0
            if done > file.size_bytes:  # not a part of this file
                part.unlink()
                done = 0
            digest = hashlib.sha256()
            if done:
                with part.open("rb") as reader:
                    digest = hashlib.file_digest(reader, "sha256")
            if done < file.size_bytes:
                done, digest = self._fetch(file, part, done, digest, progress)
        except OSError as exc:
            raise ModelError(f"Could not write {part}: {exc}") from exc
        if done != file.size_bytes:
            raise ModelError(
                f"The Hub sent {done} of the {file.size_bytes} bytes of {file.name}. Try "
                "again: the download goes on from where it stopped."
            )
        if digest.hexdigest() != expected:
            part.unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"{file.name} from {file.repo_id} is not the file the Hub describes: its "
                f"SHA-256 is {digest.hexdigest()}, the Hub's is {expected}. It was deleted "
                "and nothing was added; try again."
            )
        try:
            read_gguf_metadata(part)
        except ModelError as exc:
            # The Hub's own file, so fetching it again would give the same: not kept.
            part.unlink(missing_ok=True)
            raise ModelError(f"{file.name} from {file.repo_id} was not added. {exc}") from None
        return part

    def _fetch(
        self,
        file: HubFile,
        part: Path,
        done: int,
        digest: Any,
        progress: Progress | None,
    ) -> tuple[int, Any]:
        """Stream the rest of ``file`` onto ``part`` (``done`` bytes there, hashed in
        ``digest``); returns how many bytes the part then holds, and their hash."""
        from huggingface_hub import get_session

        headers = self._headers(Range=f"bytes={done}-") if done else self._headers()
        doing = f"downloading {file.name}"
        with (
            self._failures(doing, file.repo_id, fetched=lambda: done),
            get_session().stream(
                "GET", self._url(file), headers=headers, timeout=_timeout(), follow_redirects=True
            ) as response,
        ):
            _raise_for_status(response)
            if done and response.status_code != 206:  # the server sends the whole file
                done, digest = 0, hashlib.sha256()
            with part.open("ab" if done else "wb") as writer:
                if progress is not None and not progress(done, file.size_bytes):
                    raise DownloadCancelled(f"Downloading {file.name} was cancelled.")
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    writer.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None and not progress(done, file.size_bytes):
                        raise DownloadCancelled(
                            f"Downloading {file.name} was cancelled; the {done // 2**20} MiB "
                            "fetched are kept, and a new download goes on from there."
                        )
                writer.flush()
                os.fsync(writer.fileno())
        return done, digest

    def _expected_sha256(self, file: HubFile) -> str:
        """The SHA-256 the Hub gives for ``file``: the listing's, which the file's own
        headers (X-Linked-Etag) must agree with."""
        from huggingface_hub import get_hf_file_metadata

        with self._failures(f"reading what the Hub says of {file.name}", file.repo_id):
            metadata = get_hf_file_metadata(
                self._url(file), timeout=CONNECT_TIMEOUT + READ_TIMEOUT, endpoint=self.endpoint
            )
        etag = (metadata.etag or "").lower()
        from_headers = etag if _SHA256.fullmatch(etag) else None
        expected = file.sha256 or from_headers
        if expected is None:
            raise ModelError(
                f"The Hub gives no SHA-256 for {file.name} in {file.repo_id}, so a download "
                "could not be checked; it was not fetched."
            )
        if from_headers is not None and from_headers != expected:
            raise ModelError(
                f"The Hub describes {file.name} in {file.repo_id} in two ways (SHA-256 "
                f"{expected} and {from_headers}); it was not fetched. Try again later."
            )
        if metadata.size is not None and metadata.size != file.size_bytes:
            raise ModelError(
                f"The Hub gives two sizes for {file.name} in {file.repo_id} ({file.size_bytes} "
                f"and {metadata.size} bytes); it was not fetched. Try again later."
            )
        return expected

    # --- plumbing ---------------------------------------------------------------------

    def _url(self, file: HubFile) -> str:
        from huggingface_hub import hf_hub_url

        return hf_hub_url(
            file.repo_id, file.filename, revision=file.revision, endpoint=self.endpoint
        )

    def _headers(self, **extra: str) -> dict[str, str]:
        # Public (documented as huggingface_hub.utils.build_hf_headers), re-exported there
        # without the explicit form strict mypy asks for.
        from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

        headers: dict[str, str] = {
            **build_hf_headers(library_name=_LIBRARY, library_version=__version__),
            "Accept-Encoding": "identity",  # sizes and ranges count the file's own bytes
            **extra,
        }
        return headers

    def _check_reachable(self) -> None:
        """Fail at once when nothing answers at the Hub's address: ``huggingface_hub``
        would retry a refused connection for half a minute before giving up."""
        if any(os.environ.get(name) for name in _PROXY_VARIABLES):
            return  # the proxy is what must be reached; the request will say
        parts = urlsplit(self.endpoint)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT).close()
        except OSError as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: BaseException) -> HubUnreachable:
        # An OSError's own words ("Connection refused"), without its number.
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return HubUnreachable(
            f"Cannot reach the Hugging Face Hub at {self.endpoint}: offline? ({reason}). "
            "Models already in the models folder still work."
        )

    @contextmanager
    def _failures(
        self, doing: str, repo_id: str | None = None, *, fetched: Callable[[], int] | None = None
    ) -> Iterator[None]:
        """Turn what ``huggingface_hub`` and its HTTP client raise into :class:`ModelError`
        messages that say what failed while ``doing`` what."""
        import httpx2
        from huggingface_hub.errors import (
            GatedRepoError,
            HfHubHTTPError,
            HFValidationError,
            OfflineModeIsEnabled,
            RemoteEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        try:
            yield
        except OfflineModeIsEnabled:
            # huggingface_hub refuses every request while HF_HUB_OFFLINE is set.
            raise HubUnreachable(
                "The Hugging Face Hub is not asked for anything while HF_HUB_OFFLINE is set "
                "in the environment. Unset it to search or download; models already in the "
                "models folder still work."
            ) from None
        except GatedRepoError:
            raise ModelError(
                f"{repo_id} on the Hub is gated: accept its terms on its page and log in "
                "with `hf auth login`, then try again."
            ) from None
        except RepositoryNotFoundError:
            raise ModelError(
                f"The Hub at {self.endpoint} has no model repository called '{repo_id}'."
            ) from None
        except (RevisionNotFoundError, RemoteEntryNotFoundError):
            raise ModelError(
                f"{repo_id} on the Hub has changed since it was listed: list its files again."
            ) from None
        except HFValidationError as exc:
            raise ModelError(f"'{repo_id}' is not a repository name: {exc}") from None
        except HfHubHTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            raise ModelError(
                f"The Hub at {self.endpoint} refused {doing} (HTTP {status}): {_short(str(exc))}"
            ) from None
        except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
            raise self._unreachable(exc) from None
        except httpx2.HTTPError as exc:
            kept = (
                f" The {fetched() // 2**20} MiB fetched are kept; a new download goes on from "
                "there."
                if fetched is not None
                else ""
            )
            raise ModelError(
                f"The connection to the Hub at {self.endpoint} broke while {doing} "
                f"({_short(str(exc)) or type(exc).__name__}).{kept}"
            ) from None


def install(part: Path, models_dir: Path, name: str) -> GGUFMetadata:
    """Put a checked download ``part`` in place as ``models_dir/name``, where the catalog
    finds it. A file of that name already there is left alone and the download is refused
    (:class:`ModelError`): :func:`already_there` is the check to make before downloading."""
    target = models_dir / name
    try:
        if target.exists():  # put there while the download went on
            raise ModelError(
                f"The models folder already has a {name}. Rename or remove it and download "
                f"again: the download is kept as {part.name} and is not fetched again."
            )
        part.replace(target)
    except OSError as exc:
        raise ModelError(f"Could not put {name} into {models_dir}: {exc}") from exc
    return read_gguf_metadata(target)


def already_there(file: HubFile, models_dir: Path) -> GGUFMetadata | None:
    """The metadata of ``file``'s copy in ``models_dir`` when the file there is that very
    file (same SHA-256), ``None`` when there is none; :class:`ModelError` when a different
    file has its name."""
    target = models_dir / file.name
    if not target.exists():
        return None
    try:
        if file.sha256 is not None and target.stat().st_size == file.size_bytes:
            with target.open("rb") as reader:
                if hashlib.file_digest(reader, "sha256").hexdigest() == file.sha256:
                    return read_gguf_metadata(target)
    except OSError as exc:
        raise ModelError(f"Could not read {target}: {exc}") from exc
    # Without the Hub's SHA-256 the file there cannot be told to be the same one.
    different = "a different" if file.sha256 is not None else "a"
    raise ModelError(
        f"The models folder already has {different} {file.name}. Rename or remove it to "
        "download this one."
    )


def _timeout() -> Any:
    import httpx2

    return httpx2.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)


def _raise_for_status(response: Any) -> None:
    from huggingface_hub import hf_raise_for_status

    hf_raise_for_status(response)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
