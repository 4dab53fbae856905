"""A stand-in for the Hugging Face Hub: a local HTTP server answering the parts of the Hub's
API that ``huggingface_hub`` uses to search, list and download, serving real files.

No network reaches the Hub where the tests run, so the app's real client is pointed at this
server instead (the endpoint, as ``HF_ENDPOINT`` would). It answers as the Hub does:

- ``GET /api/models?search=&filter=&sort=&limit=``: the repositories whose names contain the
  search and whose tags hold every filter, as JSON, most downloaded first;
- ``GET /api/models/OWNER/NAME`` (and ``/revision/REV``), with ``?blobs=true`` each file's
  size and LFS object (its SHA-256);
- ``HEAD``/``GET /OWNER/NAME/resolve/REV/FILE``: a 302 to the file's content on a "CDN",
  with ``X-Repo-Commit``, ``X-Linked-Etag`` (the SHA-256) and ``X-Linked-Size``, as the Hub
  answers for an LFS file. The CDN is this same server under another host name
  (``localhost`` for ``127.0.0.1``), so the client stops at the redirect for the metadata,
  as it does with the real Hub, and follows it for the bytes;
- ``GET /cdn/SHA256``: the bytes, honouring ``Range`` (206 with ``Content-Range``).

Switches for the tests, set on :class:`FakeHub`: ``wrong_sha256`` (file names whose
SHA-256 the Hub misstates), ``chunk_delay`` (seconds between pieces of 64 KiB), and
``requests``, what was asked (method, path, the Range header).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

PIECE = 64 * 1024
WRONG = "0" * 64


@dataclass
class HubRepo:
    """A repository of the stand-in: its files (path in the repository → a real file)."""

    repo_id: str
    files: dict[str, Path]
    downloads: int = 0
    likes: int = 0
    tags: tuple[str, ...] = ("gguf",)
    commit: str = ""

    def __post_init__(self) -> None:
        if not self.commit:
            self.commit = hashlib.sha1(self.repo_id.encode()).hexdigest()


@dataclass
class FakeHub:
    """The running stand-in: its address and its switches."""

    repos: dict[str, HubRepo]
    url: str = ""
    wrong_sha256: set[str] = field(default_factory=set)
    chunk_delay: float = 0.0
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    _digests: dict[Path, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sha256(self, path: Path) -> str:
        """The true SHA-256 of ``path`` (computed once)."""
        with self._lock:
            if path not in self._digests:
                with path.open("rb") as handle:
                    self._digests[path] = hashlib.file_digest(handle, "sha256").hexdigest()
            return self._digests[path]

    def stated_sha256(self, name: str, path: Path) -> str:
        """The SHA-256 the Hub gives for the file ``name``."""
        return WRONG if Path(name).name in self.wrong_sha256 else self.sha256(path)

    def by_digest(self, digest: str) -> Path | None:
        for repo in self.repos.values():
            for name, path in repo.files.items():
                if self.stated_sha256(name, path) == digest:
                    return path
        return None

    def ranges(self, name: str) -> list[str]:
        """The Range headers of the GETs of the content of a file called ``name``."""
        path = next(p for repo in self.repos.values() for n, p in repo.files.items() if n == name)
        return [
            rng
            for method, where, rng in list(self.requests)
            if method == "GET" and where.startswith("/cdn/") and self.by_digest(where[5:]) == path
        ]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def hub(self) -> FakeHub:
        return self.server.hub

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _not_found(self, code: str, message: str) -> None:
        # The Hub says what was not found in X-Error-Code, which huggingface_hub reads.
        self._json(404, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message})

    def do_HEAD(self) -> None:
        self._route()

    def do_GET(self) -> None:
        self._route()

    def _route(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        self.hub.requests.append((self.command, path, self.headers.get("Range") or ""))
        query = parse_qs(parts.query)
        if path == "/api/models":
            self._search(query)
        elif found := re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path):
            self._info(found.group(1), "blobs" in query)
        elif found := re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path):
            self._resolve(found.group(1), found.group(2), found.group(3))
        elif found := re.fullmatch(r"/cdn/([0-9a-f]{64})", path):
            self._content(found.group(1))
        else:
            self._json(404, {"error": "Not Found"})

    def _search(self, query: dict[str, list[str]]) -> None:
        search = (query.get("search") or [""])[0].lower()
        filters = query.get("filter") or []
        limit = int((query.get("limit") or ["1000"])[0])
        found = [
            repo
            for repo in self.hub.repos.values()
            if search in repo.repo_id.lower() and all(f in repo.tags for f in filters)
        ]
        found.sort(key=lambda repo: repo.downloads, reverse=True)
        self._json(
            200,
            [
                {
                    "_id": repo.commit[:24],
                    "id": repo.repo_id,
                    "modelId": repo.repo_id,
                    "likes": repo.likes,
                    "downloads": repo.downloads,
                    "private": False,
                    "tags": list(repo.tags),
                    "library_name": "gguf",
                    "createdAt": "2025-01-01T00:00:00.000Z",
                }
                for repo in found[:limit]
            ],
        )

    def _info(self, repo_id: str, blobs: bool) -> None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._json(
                401,
                {"error": "Repository not found"},
                {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"},
            )
            return
        siblings: list[dict[str, Any]] = [{"rfilename": ".gitattributes"}]
        for name, path in repo.files.items():
            sibling: dict[str, Any] = {"rfilename": name}
            if blobs:
                size = path.stat().st_size
                sibling.update(
                    size=size,
                    blobId=hashlib.sha1(name.encode()).hexdigest(),
                    lfs={
                        "sha256": self.hub.stated_sha256(name, path),
                        "size": size,
                        "pointerSize": 134,
                    },
                )
            siblings.append(sibling)
        self._json(
            200,
            {
                "_id": repo.commit[:24],
                "id": repo.repo_id,
                "modelId": repo.repo_id,
                "sha": repo.commit,
                "private": False,
                "downloads": repo.downloads,
                "likes": repo.likes,
                "tags": list(repo.tags),
                "siblings": siblings,
            },
        )

    def _resolve(self, repo_id: str, revision: str, name: str) -> None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._not_found("RepoNotFound", "Repository not found")
            return
        if revision not in (repo.commit, "main"):
            self._not_found("RevisionNotFound", "Invalid rev id")
            return
        path = repo.files.get(name)
        if path is None:
            self._not_found("EntryNotFound", "Entry not found")
            return
        digest = self.hub.stated_sha256(name, path)
        host = self.headers.get("Host", "")
        cdn = host.replace("127.0.0.1", "localhost")
        self.send_response(302)
        self.send_header("Location", f"http://{cdn}/cdn/{digest}")
        self.send_header("X-Repo-Commit", repo.commit)
        self.send_header("X-Linked-Etag", f'"{digest}"')
        self.send_header("X-Linked-Size", str(path.stat().st_size))
        self.send_header("ETag", f'W/"{hashlib.sha1(name.encode()).hexdigest()}"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _content(self, digest: str) -> None:
        path = self.hub.by_digest(digest)
        if path is None:
            self._json(404, {"error": "Not Found"})
            return
        size = path.stat().st_size
        start, end = 0, size - 1
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        if wanted:
            start = int(wanted.group(1))
            end = min(int(wanted.group(2)), size - 1) if wanted.group(2) else size - 1
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.send_response(206 if wanted else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{digest}"')
        if wanted:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return
        try:
            with path.open("rb") as handle:
                handle.seek(start)
                left = end - start + 1
                while left > 0:
                    piece = handle.read(min(PIECE, left))
                    self.wfile.write(piece)
                    left -= len(piece)
                    if self.hub.chunk_delay:
                        time.sleep(self.hub.chunk_delay)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped reading: a cancelled download


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, hub: FakeHub) -> None:
        self.hub = hub
        super().__init__(("127.0.0.1", 0), _Handler)


@contextmanager
def running_fake_hub(repos: list[HubRepo]) -> Iterator[FakeHub]:
    """The stand-in on a free port of 127.0.0.1, in a thread of this process."""
    hub = FakeHub({repo.repo_id: repo for repo in repos})
    server = _Server(hub)
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-hub", daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
