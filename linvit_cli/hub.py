"""Pinned weights from the Hugging Face Hub: `hf_hub_download` plus the registry's sha256 check.

huggingface_hub owns the HTTP, the cache layout (HF_HOME, HF_HUB_CACHE: blobs, snapshots, refs), the token
(HF_TOKEN), the endpoint (HF_ENDPOINT), offline mode (HF_HUB_OFFLINE) and the retry of a dropped connection
with an HTTP Range. What this module adds: a hash check before any file is used, and one-line errors that say
what to do. A cached file, or `offline=True`, never calls `hf_hub_download`: `try_to_load_from_cache` answers
from the disk, whereas `hf_hub_download`, even with `local_files_only=True`, first asks the endpoint for its
agent registry (huggingface_hub 2.4's user-agent telemetry, unless HF_HUB_DISABLE_TELEMETRY=1).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from .errors import HubError, UsageError
from .integrity import sha256_of
from .output import console
from .registry.schema import HubWeights


def is_cached(weights: HubWeights, cache_dir: Path | None = None) -> Path | None:
    """The cached file of the pinned revision, or None; looks at the disk only, never the network."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(weights.repo, weights.file, cache_dir=cache_dir, revision=weights.revision)
    return Path(found) if isinstance(found, str) else None  # not a str: absent, or cached as absent


def fetch_weights(
    weights: HubWeights,
    *,
    name: str | None = None,
    offline: bool = False,
    cache_dir: Path | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """The local path of the pinned file, downloaded on first use and hash-checked before every use.

    A cached file is checked too: the cache may hold a file that another tool downloaded, or one damaged on
    disk. `name` (the registry model) makes error messages say which command fixes them.
    """
    if force and offline:
        raise UsageError("--force downloads again and --offline forbids the network: drop one of them")
    path = None if force else is_cached(weights, cache_dir)
    if path is None:
        if offline:
            raise HubError(_not_cached(weights, name, "--offline"))
        path = _download(weights, name, cache_dir=cache_dir, force=force, progress=progress)
    _check(path, weights, name)
    return path


def _download(
    weights: HubWeights, name: str | None, *, cache_dir: Path | None, force: bool, progress: bool
) -> Path:
    import httpx2  # huggingface_hub's HTTP library: its transport errors escape hf_hub_download unwrapped
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import silent_tqdm

    try:
        with _quiet_retries():
            return Path(hf_hub_download(
                weights.repo, weights.file, revision=weights.revision, cache_dir=cache_dir, force_download=force,
                library_name="linvit", library_version=__version__, tqdm_class=None if progress else silent_tqdm,
            ))
    except (OSError, httpx2.HTTPError) as err:  # every huggingface_hub error is one of these
        raise HubError(_explain(err, weights, name)) from err


@contextmanager
def _quiet_retries() -> Iterator[None]:
    """huggingface_hub logs each retry of an unreachable Hub as warnings; the failure is ours to say, once."""
    hub_logger = logging.getLogger("huggingface_hub")
    level = hub_logger.level
    hub_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hub_logger.setLevel(level)


def _check(path: Path, weights: HubWeights, name: str | None) -> None:
    """Compare the file with the pinned hash; a bad file leaves the cache so the next run fetches it anew."""
    actual = sha256_of(path)
    if weights.sha256 is None:
        console.warning(f"no pinned sha256 for {_what(weights, name)}; got {actual}: "
                        "record it in weights.toml")
        return
    if actual == weights.sha256:
        return
    blob = path.resolve()  # the snapshot entry links to a blob: removing only the link would keep the bytes
    path.unlink(missing_ok=True)
    blob.unlink(missing_ok=True)
    raise HubError(f"{_what(weights, name)} failed verification: sha256 {actual}, pinned {weights.sha256}; "
                   "removed it from the cache; run again to download it anew (if it fails again, the Hub "
                   "file or the pinned hash is wrong)")


def _what(weights: HubWeights, name: str | None) -> str:
    return f"'{name}' ({weights.file})" if name else f"{weights.file} of {weights.repo}"


def _not_cached(weights: HubWeights, name: str | None, switch: str) -> str:
    return (f"weights for {_what(weights, name)} are not cached and {switch} is set; run "
            f"`linvit download-weights {name or 'MODEL'}` with network access")


def _explain(err: Exception, weights: HubWeights, name: str | None) -> str:
    """One line for a huggingface_hub error: what failed, for which model, and what to do."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    repo, what = weights.repo, f"weights for {_what(weights, name)}"
    if isinstance(err, GatedRepoError):
        page = f"{constants.ENDPOINT}/{repo}"
        if err.response.status_code == 401:
            return f"{what} are in the gated {repo}: accept its terms at {page} and set HF_TOKEN"
        return f"{what} are in the gated {repo}, closed to HF_TOKEN's account: accept its terms at {page}"
    if isinstance(err, RepositoryNotFoundError):
        return (f"{what}: repository {repo} not found at {constants.ENDPOINT}; check weights.repo in the "
                "registry, or set HF_TOKEN if the repository is private")
    if isinstance(err, RevisionNotFoundError):
        return (f"{what}: revision {weights.revision} not found in {repo}; the pinned commit is gone: update "
                "weights.revision in the registry")
    if isinstance(err, RemoteEntryNotFoundError):
        return f"{what}: not found in {repo} at {weights.revision[:12]}; check weights.file in the registry"
    if isinstance(err, LocalEntryNotFoundError):
        if _caused_by(err, OfflineModeIsEnabled):
            return _not_cached(weights, name, "HF_HUB_OFFLINE")
        if isinstance(err.__cause__, HfHubHTTPError):  # the Hub answered, with an error: say which
            return _explain(err.__cause__, weights, name)
        return (f"{what} are not cached and {constants.ENDPOINT} could not be asked for them "
                f"({_first_line(err.__cause__ or err)}); check the network (or HF_ENDPOINT) and run again")
    if isinstance(err, HfHubHTTPError):
        status = err.response.status_code
        return f"{what}: the Hub answered HTTP {status}; try again later ({_first_line(err)})"
    return f"download of {what} failed: {_first_line(err)}; run again to retry"


def _caused_by(err: BaseException | None, kind: type[BaseException]) -> bool:
    while err is not None:
        if isinstance(err, kind):
            return True
        err = err.__cause__ or err.__context__
    return False


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
