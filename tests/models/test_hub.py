"""Getting GGUF models from the Hugging Face Hub: search, a repository's files, the default
choice against the memory budget, and downloads that resume, stop and check what they got.

No network reaches the Hub here, so ``huggingface_hub`` (the app's real client) is pointed at
a local server that answers the Hub's HTTP API for repositories holding the bundled SmolLM2
file (``tests/support/fake_hub.py``).
"""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path

import pytest
from purpose_desktop.errors import ModelError
from purpose_desktop.models import hub
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.catalog import list_local_models
from purpose_desktop.models.gguf_metadata import read_gguf_metadata
from purpose_desktop.models.hub import (
    ChecksumMismatch,
    DownloadCancelled,
    HubClient,
    HubFile,
    HubUnreachable,
    already_there,
    hub_endpoint,
    install,
    quantisation_of,
    usable_alone,
)
from purpose_desktop.models.memory import estimate_memory
from tests.support.fake_hub import FakeHub

from .hub_repos import (
    LARGE_FILE,
    PADDING,
    SHARD_FILE,
    SIZES_REPO,
    SMALL_FILE,
    SMOL_FILE,
    SMOL_REPO,
    clean_hub,
    fake_hub,
    unreachable_endpoint,
)

__all__ = ["clean_hub", "fake_hub"]  # fixtures, used by name

CONTEXT = 2048
MIB = 2**20


def sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def smol_file(hub: FakeHub) -> tuple[HubClient, HubFile]:
    client = HubClient(hub.url)
    _revision, files, _skipped = client.files(SMOL_REPO)
    return client, files[0]


class Recorder:
    """A download's progress callback that keeps what it was told and, past ``stop_at``
    bytes, asks the download to stop."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.seen: list[tuple[int, int]] = []
        self._stop_at = stop_at

    def __call__(self, done: int, total: int) -> bool:
        self.seen.append((done, total))
        return self._stop_at is None or done < self._stop_at


def test_quantisation_comes_from_the_file_name() -> None:
    assert quantisation_of("SmolLM2-135M-Instruct-Q4_K_M.gguf") == "Q4_K_M"
    assert quantisation_of("gemma-3-270m-it-q8_0.gguf") == "Q8_0"
    assert quantisation_of("Qwen3-0.6B-UD-IQ4_XS.gguf") == "IQ4_XS"
    assert quantisation_of("sub/dir/model.f16.gguf") == "F16"
    assert quantisation_of("phi-4-mini-BF16.gguf") == "BF16"
    assert quantisation_of("model.gguf") == ""
    assert usable_alone(SHARD_FILE) is not None
    assert usable_alone("mmproj-model-f16.gguf") is not None
    assert usable_alone(SMOL_FILE, 10) is None
    # Saved on Windows, this name would leave the models folder.
    assert usable_alone("..\\..\\startup\\model.gguf", 10) is not None


def test_the_endpoint_comes_from_the_argument_or_hf_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://mirror.example:8080/")
    assert hub_endpoint() == "http://mirror.example:8080"
    assert hub_endpoint("https://hub.example") == "https://hub.example"
    monkeypatch.delenv("HF_ENDPOINT")
    assert hub_endpoint() == "https://huggingface.co"
    with pytest.raises(ModelError, match="not an address of a Hugging Face Hub"):
        hub_endpoint("huggingface.co")


def test_search_lists_repositories_of_gguf_models_most_downloaded_first(
    clean_hub: FakeHub,
) -> None:
    repos = HubClient(clean_hub.url).search("smollm2")

    assert [repo.repo_id for repo in repos] == [SMOL_REPO, SIZES_REPO]
    assert (repos[0].downloads, repos[0].likes) == (5000, 40)
    # The search, and nothing else: huggingface_hub's telemetry lookups are turned off.
    assert [path for _method, path, _range in clean_hub.requests] == ["/api/models"]
    assert HubClient(clean_hub.url).search("no such model") == []
    with pytest.raises(ModelError, match="Type part of a model's name"):
        HubClient(clean_hub.url).search("   ")


def test_a_repository_lists_its_gguf_files_with_sizes_hashes_and_quantisations(
    clean_hub: FakeHub,
) -> None:
    revision, files, skipped = HubClient(clean_hub.url).files(SIZES_REPO)

    assert len(revision) == 40
    by_name = {file.filename: file for file in files}
    assert set(by_name) == {SMALL_FILE, LARGE_FILE}
    small, large = by_name[SMALL_FILE], by_name[LARGE_FILE]
    assert small.size_bytes == smollm2_path().stat().st_size
    assert large.size_bytes == small.size_bytes + PADDING
    assert small.sha256 == sha256(smollm2_path())
    assert (small.quantisation, large.quantisation) == ("Q4_1", "Q8_0")
    assert large.name == "smollm2-135m-Q8_0.gguf"
    assert skipped == (f"{SHARD_FILE} is one part of a model split into several files",)


def test_the_default_is_the_largest_file_that_fits_the_memory_budget(
    clean_hub: FakeHub,
) -> None:
    client = HubClient(clean_hub.url)
    # What the model needs besides its weights, from its header as the catalog reads it.
    local = estimate_memory(read_gguf_metadata(smollm2_path()), CONTEXT)
    size = smollm2_path().stat().st_size
    small_need = size + local.total - local.weights
    large_need = small_need + PADDING

    roomy = client.listing(SIZES_REPO, CONTEXT, large_need)
    assert [option.file.filename for option in roomy.options] == [SMALL_FILE, LARGE_FILE]
    assert [option.memory_bytes for option in roomy.options] == [small_need, large_need]
    assert roomy.default == 1
    assert all(option.fits for option in roomy.options)

    tight = client.listing(SIZES_REPO, CONTEXT, large_need - 1)
    assert tight.default == 0
    assert [option.fits for option in tight.options] == [True, False]

    too_small = client.listing(SIZES_REPO, CONTEXT, small_need - 1)
    assert too_small.default == 0  # the smallest, said not to fit
    assert not any(option.fits for option in too_small.options)

    # Only the start of the smallest file was fetched for its header, not the whole file.
    header_reads = [rng for method, path, rng in clean_hub.requests if path.startswith("/cdn/")]
    assert header_reads and all(rng.startswith("bytes=0-") for rng in header_reads)


def test_a_download_reports_progress_checks_the_file_and_adds_it(
    clean_hub: FakeHub, tmp_path: Path
) -> None:
    client, file = smol_file(clean_hub)
    models = tmp_path / "models"
    progress = Recorder()

    part = client.download(file, models, progress)
    seen = progress.seen
    assert part.name == SMOL_FILE + ".part"
    assert SMOL_FILE not in [e.reference for e in list_local_models(models)]  # nor its part
    metadata = install(part, models, file.name)

    total = smollm2_path().stat().st_size
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    added = models / SMOL_FILE
    assert sha256(added) == sha256(smollm2_path())
    assert metadata.path == added and metadata.architecture == "llama"
    assert not part.exists()
    entry = next(e for e in list_local_models(models) if e.reference == SMOL_FILE)
    assert entry.error is None and entry.quantisation == "Q4_1"
    assert already_there(file, models) is not None
    # The download asked for the commit the listing was made at.
    resolved = [path for method, path, _ in clean_hub.requests if "/resolve/" in path]
    assert resolved and all(f"/resolve/{file.revision}/" in path for path in resolved)


def test_a_download_goes_on_from_the_part_an_earlier_one_left(
    clean_hub: FakeHub, tmp_path: Path
) -> None:
    client, file = smol_file(clean_hub)
    models = tmp_path / "models"
    models.mkdir()
    kept = 3 * MIB + 123
    (models / (SMOL_FILE + ".part")).write_bytes(smollm2_path().read_bytes()[:kept])
    progress = Recorder()

    part = client.download(file, models, progress)

    assert progress.seen[0] == (kept, smollm2_path().stat().st_size)
    assert clean_hub.ranges(SMOL_FILE) == [f"bytes={kept}-"]
    assert sha256(part) == sha256(smollm2_path())


def test_a_cancelled_download_keeps_its_part_and_the_next_one_finishes_it(
    clean_hub: FakeHub, tmp_path: Path
) -> None:
    client, file = smol_file(clean_hub)
    models = tmp_path / "models"
    clean_hub.chunk_delay = 0.001

    with pytest.raises(DownloadCancelled, match="cancelled"):
        client.download(file, models, Recorder(stop_at=2 * MIB))

    part = models / (SMOL_FILE + ".part")
    fetched = part.stat().st_size
    assert 2 * MIB <= fetched < smollm2_path().stat().st_size
    assert not (models / SMOL_FILE).exists()
    assert list(models.glob("*.gguf")) == []

    clean_hub.chunk_delay = 0.0
    finished = client.download(file, models, Recorder())
    assert sha256(finished) == sha256(smollm2_path())
    assert clean_hub.ranges(SMOL_FILE)[-1] == f"bytes={fetched}-"


def test_a_file_that_does_not_match_the_hubs_sha256_is_deleted_and_not_added(
    clean_hub: FakeHub, tmp_path: Path
) -> None:
    clean_hub.wrong_sha256.add(SMOL_FILE)
    client, file = smol_file(clean_hub)
    models = tmp_path / "models"

    with pytest.raises(ChecksumMismatch, match=r"not the file the Hub describes: its SHA-256"):
        client.download(file, models, Recorder())

    assert list(models.iterdir()) == []
    assert [e.reference for e in list_local_models(models) if e.reference == SMOL_FILE] == []


def test_offline_says_the_hub_cannot_be_reached_at_once(tmp_path: Path) -> None:
    endpoint = unreachable_endpoint()
    client = HubClient(endpoint)
    started = time.monotonic()

    with pytest.raises(HubUnreachable) as failure:
        client.search("smollm2")

    assert str(failure.value).startswith(
        f"Cannot reach the Hugging Face Hub at {endpoint}: offline?"
    )
    assert time.monotonic() - started < 10  # no half minute of retries
    with pytest.raises(HubUnreachable, match="offline"):
        client.files(SMOL_REPO)
    with pytest.raises(HubUnreachable, match="offline"):
        HubClient("http://no-such-host.invalid").search("smollm2")


def test_a_download_when_the_hub_has_gone_keeps_its_part(
    clean_hub: FakeHub, tmp_path: Path
) -> None:
    _client, file = smol_file(clean_hub)
    models = tmp_path / "models"
    models.mkdir()
    part = models / (SMOL_FILE + ".part")
    part.write_bytes(b"GGUF" + b"\0" * 1000)

    with pytest.raises(HubUnreachable, match="offline"):
        HubClient(unreachable_endpoint()).download(file, models)

    assert part.stat().st_size == 1004


def test_a_repository_the_hub_does_not_have_is_named(clean_hub: FakeHub) -> None:
    with pytest.raises(ModelError, match="has no model repository called 'stand-in/nothing'"):
        HubClient(clean_hub.url).files("stand-in/nothing")


def test_hf_hub_offline_is_named_when_the_hub_is_not_asked(
    clean_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    # What HF_HUB_OFFLINE=1 in the environment sets when huggingface_hub is imported.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    with pytest.raises(HubUnreachable, match="while HF_HUB_OFFLINE is set"):
        HubClient(clean_hub.url).search("smollm2")
    assert clean_hub.requests == []


def test_a_file_put_in_place_meanwhile_is_neither_replaced_nor_fetched_again(
    clean_hub: FakeHub, tmp_path: Path
) -> None:
    client, file = smol_file(clean_hub)
    models = tmp_path / "models"
    part = client.download(file, models, Recorder())
    (models / SMOL_FILE).write_bytes(b"the person's own file")

    with pytest.raises(ModelError, match=f"already has a {SMOL_FILE}"):
        install(part, models, file.name)

    assert (models / SMOL_FILE).read_bytes() == b"the person's own file"
    assert sha256(part) == sha256(smollm2_path())
    with pytest.raises(ModelError, match=f"already has a different {SMOL_FILE}"):
        already_there(file, models)
    clean_hub.requests.clear()
    # Once the name is free, the kept part is checked and put in place without a new fetch.
    (models / SMOL_FILE).unlink()
    install(client.download(file, models), models, file.name)
    assert sha256(models / SMOL_FILE) == sha256(smollm2_path())
    assert clean_hub.ranges(SMOL_FILE) == []


def test_a_hub_that_never_answers_a_search_is_given_up_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It accepts the connection and says nothing: the search ends with an error instead of
    hanging the window's worker thread or the command for ever."""
    monkeypatch.setattr(hub, "READ_TIMEOUT", 1.0)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        silent.listen(16)
        client = HubClient(f"http://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        with pytest.raises(ModelError, match="searching for models"):
            client.search("smollm2")
    assert time.monotonic() - started < 60
