"""A Hub repository as a model: `hf://owner/repo[@revision]`, read as untrusted input.

A linvit model repository holds `linvit.toml` (exactly one entry in weights.toml's format, with
`weights = { path = "model.safetensors", format = "safetensors", sha256 = "..." }`), the label file that entry
names and `model.safetensors`. `resolve_hub_model` resolves the revision to a commit once (`HfApi.model_info`;
offline, or with the Hub out of reach, the refs of huggingface_hub's cache), reads every file at that commit and
returns the entry with its weights as a Hub file pinned to that commit and to the Hub's LFS sha256. From there
linvit loads it like any registry Hub model: `fetch_weights` checks the download against that hash and removes a
bad file from the cache.

Trust rules: the entry goes through the registry's strict parser; its label file must lie inside the repository;
the weights are `model.safetensors` in safetensors format, never a pickle, and the sha256 the entry pins must be
the Hub's LFS hash of that file; the arch must be a registered builder; a config whose model has more than
`MAX_PARAMETERS` parameters (counted on PyTorch's meta device, which allocates nothing), or whose
model.safetensors is larger than 8 bytes per parameter plus 1 MiB, is refused before the weights are downloaded.
A repository that is not such a model is a usage error (exit 2, `RegistryError`); a Hub that cannot give the
files (unknown repository or revision, private or gated without a token, not cached offline) is a `HubError`
(exit 1).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import HubError, LinvitError, RegistryError, UsageError, at_least, first_line
from .hub import HUB_MODEL_HINTS, download, explain, not_cached, unreachable
from .hub_http import hub_session
from .names import HUB_PREFIX, HubRef, parse_hub_name
from .registry.load import read_registry_file, tomllib
from .registry.schema import HubWeights, ModelEntry, PackagedWeights
from .registry.write import WEIGHTS_FILE

if TYPE_CHECKING:
    from huggingface_hub.hf_api import RepoSibling

CONFIG_FILE = "linvit.toml"
MAX_PARAMETERS = 1_000_000_000
MAX_BYTES_PER_PARAMETER = 8  # float64, the widest dtype a checkpoint of the model can hold
HEADER_BYTES = 1 << 20  # the safetensors header and padding
MAX_TEXT_BYTES = 1 << 20  # linvit.toml and the label file (the Kinetics-400 labels are 8 kB)


@dataclass(frozen=True)
class _Snapshot:
    """The files of one commit: from the Hub, which lists them (`siblings`), or from the cache alone."""

    ref: HubRef
    commit: str
    siblings: dict[str, RepoSibling] | None  # None: the Hub is not asked
    cache_dir: Path | None
    uncached: Callable[[str], str] | None = None  # offline: the message for a file the cache lacks

    @property
    def where(self) -> str:
        return f"{self.ref.name} (commit {self.commit[:12]})"

    def file(self, filename: str, *, by_name: bool = False) -> Path:
        """A small file of the commit (linvit.toml, the labels) on disk; the weights go through fetch_weights.

        `by_name` downloads it at the revision's name rather than the commit, which records in the cache's refs
        which commit the name stands for (what an offline run resolves it by); the commit must be the one the Hub
        named a moment before.
        """
        from huggingface_hub import try_to_load_from_cache

        if self.siblings is None:
            found = try_to_load_from_cache(self.ref.repo, filename, cache_dir=self.cache_dir, revision=self.commit)
            if not isinstance(found, str):
                raise HubError(self.uncached(f"{filename} of {self.ref.name}"))
            return Path(found)
        sibling = self.siblings.get(filename)
        if sibling is None:
            raise RegistryError(f"{self.where} has no {filename}; {HUB_MODEL_HINTS.file}")
        if sibling.size is not None and sibling.size > MAX_TEXT_BYTES:
            raise RegistryError(f"{self.where}: {filename} is {sibling.size} bytes; linvit reads at most "
                                f"{MAX_TEXT_BYTES} bytes of it")
        revision = (self.ref.revision or "main") if by_name else self.commit
        path = download(self.ref.repo, filename, revision, what=f"the files of {self.ref.name}",
                        hints=HUB_MODEL_HINTS, name=self.ref.name, cache_dir=self.cache_dir, progress=False)
        commit = path.parents[len(PurePosixPath(filename).parts) - 1].name  # snapshots/<commit>/<filename>
        if commit != self.commit:
            raise HubError(f"{self.ref.name} moved from commit {self.commit[:12]} to {commit[:12]} while linvit "
                           "read it; run again")
        return path


def resolve_hub_model(name: str, *, offline: bool = False, cache_dir: Path | None = None) -> ModelEntry:
    """The registry entry of an `hf://` model, pinned to the commit its revision names now (see module doc)."""
    from huggingface_hub import constants

    ref = parse_hub_name(name)
    switch = "--offline" if offline else "HF_HUB_OFFLINE" if constants.is_offline_mode() else None
    if switch is None:
        snapshot = _from_hub(ref, cache_dir)
    else:
        snapshot = _from_cache(ref, cache_dir, lambda what: not_cached(what, ref.name, switch))
    return _entry(snapshot)


def _from_hub(ref: HubRef, cache_dir: Path | None) -> _Snapshot:
    """Ask the Hub once which commit the revision is and which files it holds; unreachable, ask the cache."""
    import httpx2
    from huggingface_hub import HfApi

    what = f"the files of {ref.name}"
    try:
        with hub_session():
            info = HfApi(library_name="linvit", library_version=__version__).model_info(
                ref.repo, revision=ref.revision, files_metadata=True)
    except httpx2.TransportError as err:  # as hf_hub_download does: the cached copy, if there is one
        cause = err  # `err` is unbound after this block, and the message may be needed later
        return _from_cache(ref, cache_dir, lambda what: unreachable(what, cause))
    except (OSError, httpx2.HTTPError) as err:
        raise HubError(explain(err, what, ref.repo, ref.revision or "main", HUB_MODEL_HINTS, ref.name)) from err
    if not info.sha:
        raise HubError(f"{what}: the Hub gave no commit for {ref.revision or 'main'}; does HF_ENDPOINT name a Hub?")
    snapshot = _Snapshot(ref, info.sha, {s.rfilename: s for s in info.siblings or []}, cache_dir)
    snapshot.file(CONFIG_FILE, by_name=True)
    return snapshot


def _from_cache(ref: HubRef, cache_dir: Path | None, uncached: Callable[[str], str]) -> _Snapshot:
    """The commit the cache's refs give for the revision (a commit stays itself), found through linvit.toml."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(ref.repo, CONFIG_FILE, cache_dir=cache_dir, revision=ref.revision)
    if not isinstance(found, str):
        raise HubError(uncached(f"the files of {ref.name}"))
    return _Snapshot(ref, Path(found).parent.name, None, cache_dir, uncached)


def _entry(snapshot: _Snapshot) -> ModelEntry:
    config = snapshot.file(CONFIG_FILE)
    where = f"{snapshot.where} {CONFIG_FILE}"
    label_file = _label_file(config, where)
    if label_file is not None:
        snapshot.file(label_file)
    try:
        entries, _ = read_registry_file(config)
    except RegistryError as err:  # name the repository and commit once, not the cache folder
        folder = f"{config.parent}{os.sep}"
        raise RegistryError(str(err).replace(folder, f"{snapshot.where} ", 1).replace(folder, "")) from None
    entry = next(iter(entries.values()))
    weights = entry.weights
    if not (isinstance(weights, PackagedWeights) and weights.path == config.parent / WEIGHTS_FILE
            and weights.format == "safetensors" and weights.sha256):
        raise RegistryError(f'{where}: weights must be {{ path = "{WEIGHTS_FILE}", format = "safetensors", '
                            'sha256 = "<its sha256>" }: an hf:// model is loaded from safetensors only, never '
                            "from a pickle")
    limit = MAX_BYTES_PER_PARAMETER * _parameters(entry, where) + HEADER_BYTES
    if snapshot.siblings is not None:
        _check_weights(snapshot, weights.sha256, limit)
    pinned = HubWeights(repo=snapshot.ref.repo, file=WEIGHTS_FILE, revision=snapshot.commit, format="safetensors",
                        sha256=weights.sha256)
    return replace(entry, name=snapshot.ref.name, weights=pinned)


def _label_file(config: Path, where: str) -> str | None:
    """The label file the entry names, read ahead of the strict parser (which needs it on disk).

    Also the checks that must come first: one entry and no `default`, and a label file inside the repository
    (the parser would read any path it is given). Anything else is left to the parser to report.
    """
    try:
        doc = tomllib.loads(config.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    models = doc.get("models")
    if "default" in doc or not isinstance(models, dict) or len(models) != 1:
        count = len(models) if isinstance(models, dict) else 0
        raise RegistryError(f"{where}: a Hub model's {CONFIG_FILE} holds exactly one [models.NAME] entry and no "
                            f"default (found {count} entries{' and a default' if 'default' in doc else ''})")
    entry = next(iter(models.values()))
    labels = entry.get("labels") if isinstance(entry, dict) else None
    file = labels.get("file") if isinstance(labels, dict) else None
    if not isinstance(file, str):
        return None
    if not file or file.startswith("/") or "\\" in file or ":" in file or ".." in PurePosixPath(file).parts:
        raise RegistryError(f"{where}: labels.file '{file}' must be a file inside the repository")
    return file


def _parameters(entry: ModelEntry, where: str) -> int:
    """The model's parameter count, from its config on the meta device; refused above `MAX_PARAMETERS`."""
    from .models.params import count_parameters

    try:
        parameters = count_parameters(entry)
    except LinvitError as err:  # an unknown arch, a keyword the builder rejects
        raise RegistryError(f"{where}: {err}") from None
    except Exception as err:  # any other way a config from the Hub can fail to build
        raise RegistryError(f"{where}: config does not build a model ({type(err).__name__}: "
                            f"{first_line(err)})") from None
    if parameters > MAX_PARAMETERS:
        raise RegistryError(f"{where}: its config makes a model of {parameters / 1e6:,.0f} M parameters; an hf:// "
                            f"model may have at most {MAX_PARAMETERS / 1e6:,.0f} M (counted on PyTorch's meta "
                            "device, before anything is allocated or downloaded)")
    return parameters


def _check_weights(snapshot: _Snapshot, sha256: str, limit: int) -> None:
    """model.safetensors must be an LFS file of the commit, with the entry's sha256 and a size the config allows."""
    sibling = snapshot.siblings.get(WEIGHTS_FILE)
    where = f"{snapshot.where}: {WEIGHTS_FILE}"
    if sibling is None:
        raise RegistryError(f"{snapshot.where} has no {WEIGHTS_FILE}; {HUB_MODEL_HINTS.file}")
    if sibling.lfs is None:
        raise RegistryError(f"{where} is not stored with Git LFS, so the Hub gives no sha256 to check it against")
    if sibling.lfs.sha256 != sha256:
        raise RegistryError(f"{where} has the LFS sha256 {sibling.lfs.sha256}, but {CONFIG_FILE} pins {sha256}")
    if sibling.lfs.size > limit:
        raise RegistryError(f"{where} is {sibling.lfs.size} bytes, more than the config's parameters can fill "
                            f"({MAX_BYTES_PER_PARAMETER} bytes each, plus {HEADER_BYTES} for the header: {limit})")


def list_hub_models(limit: int) -> list[dict[str, Any]]:
    """At most `limit` models on the Hub tagged `linvit` (the library of their card), most downloaded first."""
    at_least("limit", limit, 1)
    import httpx2
    from huggingface_hub import HfApi, constants

    if constants.is_offline_mode():
        raise UsageError("listing the Hub's linvit models needs the network, and HF_HUB_OFFLINE is set",
                         cli="--hub asks the Hub for its models, and HF_HUB_OFFLINE is set")
    try:
        with hub_session():
            models = list(HfApi(library_name="linvit", library_version=__version__).list_models(
                filter="linvit", sort="downloads", limit=limit,
                expand=["downloads", "likes", "lastModified", "library_name", "private"]))
    except (OSError, httpx2.HTTPError) as err:
        raise HubError(f"listing linvit models at {constants.ENDPOINT} failed ({first_line(err)}); check the "
                       "network (or HF_ENDPOINT) and run again") from err
    return [{"name": f"{HUB_PREFIX}{model.id}", "downloads": model.downloads, "likes": model.likes,
             "updated": model.last_modified.date().isoformat() if model.last_modified else None,
             "private": model.private}
            for model in models if model.library_name in (None, "linvit")]
