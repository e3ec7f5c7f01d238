"""Pinned files from the Hugging Face Hub: `hf_hub_download` plus a sha256 check of the weights.

huggingface_hub owns the HTTP, the cache layout (HF_HOME, HF_HUB_CACHE: blobs, snapshots, refs), the token
(HF_TOKEN), the endpoint (HF_ENDPOINT), offline mode (HF_HUB_OFFLINE) and the retry of a dropped connection
with an HTTP Range. What this module adds: the one place a file is downloaded (`download`, inside `hub_session`:
an unreachable Hub fails at once), a hash check before any weights file is used (against the registry's pin, or
for an `hf://` model the Hub's LFS sha256), and one-line errors that say what to do. A cached file, or
`offline=True`, never calls `hf_hub_download`: `try_to_load_from_cache` answers from the disk, whereas
`hf_hub_download`, even with `local_files_only=True`, first asks the endpoint for its agent registry
(huggingface_hub 2.4's user-agent telemetry, unless HF_HUB_DISABLE_TELEMETRY=1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .errors import HubError, UsageError, first_line
from .hub_http import hub_session
from .integrity import verify_sha256
from .names import is_hub_name
from .output import console
from .registry.schema import HubWeights


def is_cached(weights: HubWeights, cache_dir: Path | None = None) -> Path | None:
    """The cached file of the pinned revision, or None; looks at the disk only, never the network.

    The path follows huggingface_hub's cache layout (CACHE/models--OWNER--NAME/snapshots/COMMIT/FILE, the
    revision being a full commit), without importing its download code: `linvit models` asks this of every model
    and takes no longer than `--help`.
    """
    from huggingface_hub import constants

    repo = "models--" + weights.repo.replace("/", "--")
    path = Path(cache_dir or constants.HF_HUB_CACHE) / repo / "snapshots" / weights.revision / weights.file
    return path if path.is_file() else None


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
    what = f"weights for {_what(weights, name)}"
    if path is None:
        if offline:
            raise HubError(not_cached(what, name, "--offline"))
        path = download(weights.repo, weights.file, weights.revision, what=what, hints=_hints(name), name=name,
                        cache_dir=cache_dir, force=force, progress=progress)
    actual = verify_sha256(path, weights.sha256, _what(weights, name), cached=True)
    if weights.sha256 is None:
        console.warning(f"no pinned sha256 for {_what(weights, name)}; got {actual}: record it in weights.toml")
    return path


@dataclass(frozen=True)
class Hints:
    """What the user changes when the Hub lacks the repository, the revision or the file asked for."""

    repo: str
    revision: str
    file: str


REGISTRY_HINTS = Hints(repo="check weights.repo in the registry",
                       revision="the pinned commit is gone: update weights.revision in the registry",
                       file="check weights.file in the registry")
HUB_MODEL_HINTS = Hints(repo="check the name after hf://",
                        revision="check the revision after @ (a branch, tag or commit of the repository)",
                        file="a linvit model repository holds linvit.toml, model.safetensors and its label file")


def _hints(name: str | None) -> Hints:
    return HUB_MODEL_HINTS if name and is_hub_name(name) else REGISTRY_HINTS


def download(repo: str, file: str, revision: str, *, what: str, hints: Hints, name: str | None = None,
             cache_dir: Path | None = None, force: bool = False, progress: bool = True) -> Path:
    """`hf_hub_download` of one file into the cache; any failure is one `HubError` line that says what to do.

    `what` names the files in messages ("weights for 'model' (file)"); `name` is the model for
    `linvit download-weights NAME`.
    """
    import httpx2  # huggingface_hub's HTTP library: its transport errors escape hf_hub_download unwrapped
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import silent_tqdm

    try:
        with hub_session():
            return Path(hf_hub_download(
                repo, file, revision=revision, cache_dir=cache_dir, force_download=force,
                library_name="linvit", library_version=__version__, tqdm_class=None if progress else silent_tqdm,
            ))
    except (OSError, httpx2.HTTPError) as err:  # every huggingface_hub error is one of these
        raise HubError(explain(err, what, repo, revision, hints, name)) from err


def _what(weights: HubWeights, name: str | None) -> str:
    return f"'{name}' ({weights.file})" if name else f"{weights.file} of {weights.repo}"


def not_cached(what: str, name: str | None, switch: str) -> str:
    return (f"{what} are not cached and {switch} is set; run "
            f"`linvit download-weights {name or 'MODEL'}` with network access")


def explain(err: Exception, what: str, repo: str, revision: str, hints: Hints, name: str | None) -> str:
    """One line for a huggingface_hub error: what failed, for which model, and what to do."""
    import httpx2
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

    if isinstance(err, GatedRepoError):
        page = f"{constants.ENDPOINT}/{repo}"
        if err.response.status_code == 401:
            return f"{what} are in the gated {repo}: accept its terms at {page} and set HF_TOKEN"
        return f"{what} are in the gated {repo}, closed to HF_TOKEN's account: accept its terms at {page}"
    if isinstance(err, RepositoryNotFoundError):
        return (f"{what}: repository {repo} not found at {constants.ENDPOINT}; {hints.repo}, or set HF_TOKEN if "
                "the repository is private")
    if isinstance(err, RevisionNotFoundError):
        return f"{what}: revision {revision} not found in {repo}; {hints.revision}"
    if isinstance(err, RemoteEntryNotFoundError):
        return f"{what}: not found in {repo} at {revision[:12]}; {hints.file}"
    if isinstance(err, LocalEntryNotFoundError):
        if _caused_by(err, OfflineModeIsEnabled):
            return not_cached(what, name, "HF_HUB_OFFLINE")
        if isinstance(err.__cause__, HfHubHTTPError):  # the Hub answered, with an error: say which
            return explain(err.__cause__, what, repo, revision, hints, name)
        return unreachable(what, err.__cause__ or err)
    if isinstance(err, httpx2.TransportError):
        return unreachable(what, err)
    if isinstance(err, HfHubHTTPError):
        status = err.response.status_code
        return f"{what}: the Hub answered HTTP {status}; try again later ({first_line(err)})"
    return f"download of {what} failed: {first_line(err)}; run again to retry"


def unreachable(what: str, cause: BaseException) -> str:
    from huggingface_hub import constants

    return (f"{what} are not cached and {constants.ENDPOINT} could not be asked for them ({first_line(cause)}); "
            "check the network (or HF_ENDPOINT) and run again")


def _caused_by(err: BaseException | None, kind: type[BaseException]) -> bool:
    while err is not None:
        if isinstance(err, kind):
            return True
        err = err.__cause__ or err.__context__
    return False
