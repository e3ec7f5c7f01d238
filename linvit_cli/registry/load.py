"""Read weights.toml files into `ModelEntry` objects, strictly.

The packaged registry is always read; a user adds entries with `--registry FILE` or `LINVIT_REGISTRY`
(several files separated by the OS path separator). Unknown keys, missing keys, wrong types, label files
of the wrong length and clashing names are errors that name the file, the table and the key.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import RegistryError, UnknownModelError
from ..names import HUB_PREFIX, MODEL_NAME, is_repo_id
from .schema import (
    COMBINES,
    SAMPLINGS,
    UNPUBLISHED,
    WEIGHTS_FORMATS,
    HubWeights,
    ModelEntry,
    PackagedWeights,
    Protocol,
    Weights,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PACKAGED_REGISTRY = Path(__file__).with_name("weights.toml")
ENV_VAR = "LINVIT_REGISTRY"

_REVISION = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

_ENTRY_KEYS = {"arch", "dataset", "config", "labels", "protocol", "weights", "meta"}
_PROTOCOL_KEYS = {"frames", "sampling", "views", "short_side", "crop", "mean", "std", "combine", "stride", "fps"}
_HUB_KEYS = {"repo", "file", "revision", "sha256", "format"}
_PACKAGED_KEYS = {"path", "sha256", "format"}


@dataclass(frozen=True)
class Registry:
    """All entries of the registry files read, and the model used when none is named: data only.

    `hf://` names are not entries: `linvit_cli.resolve.resolve_model` sends them to the Hub.
    """

    entries: MappingProxyType[str, ModelEntry]
    default: str

    def get(self, name: str) -> ModelEntry:
        """The entry of a registry name."""
        try:
            return self.entries[name]
        except KeyError:
            known = ", ".join(sorted(self.entries))
            raise UnknownModelError(f"unknown model '{name}'; known models: {known}; or a Hub repository "
                                    f"as {HUB_PREFIX}owner/repo") from None

    def __iter__(self):
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)


class _Where:
    """Builds error messages that point at one table of one file."""

    def __init__(self, file: Path, table: str) -> None:
        self.file, self.table = file, table

    def fail(self, what: str) -> RegistryError:
        return RegistryError(f"{self.file}: [{self.table}] {what}")

    def keys(self, table: dict[str, Any], allowed: set[str], required: set[str], sub: str = "") -> None:
        prefix = f"{sub}." if sub else ""
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise self.fail(f"unknown key {prefix}{unknown[0]} (allowed: {', '.join(sorted(allowed))})")
        missing = sorted(required - set(table))
        if missing:
            raise self.fail(f"missing key {prefix}{missing[0]}")

    def typed(self, value: Any, kind: type | tuple[type, ...], key: str) -> Any:
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            raise self.fail(f"{key} must be {_type_name(kind)}, not {type(value).__name__}")
        return value


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({int: "an integer", float: "a number", str: "a string", list: "a list",
                        dict: "a table", bool: "true or false"}.get(k, k.__name__) for k in kinds)


def _protocol(raw: Any, where: _Where) -> Protocol:
    raw = where.typed(raw, dict, "protocol")
    where.keys(raw, _PROTOCOL_KEYS, _PROTOCOL_KEYS - {"stride", "fps"}, "protocol")
    sampling = where.typed(raw["sampling"], str, "protocol.sampling")
    if sampling not in SAMPLINGS:
        raise where.fail(f"protocol.sampling '{sampling}' is not one of {', '.join(SAMPLINGS)}")
    combine = where.typed(raw["combine"], str, "protocol.combine")
    if combine not in COMBINES:
        raise where.fail(f"protocol.combine '{combine}' is not one of {', '.join(COMBINES)}")
    views = where.typed(raw["views"], list, "protocol.views")
    if len(views) != 2 or not all(isinstance(v, int) and v > 0 for v in views):
        raise where.fail("protocol.views must be [temporal clips, spatial crops], two positive integers")
    triples = {}
    for key in ("mean", "std"):
        value = where.typed(raw[key], list, f"protocol.{key}")
        if len(value) != 3 or not all(isinstance(v, (int, float)) for v in value):
            raise where.fail(f"protocol.{key} must be three numbers (R, G, B)")
        triples[key] = tuple(float(v) for v in value)
    ints = {k: where.typed(raw[k], int, f"protocol.{k}") for k in ("frames", "short_side", "crop")}
    if min(ints.values()) <= 0:
        raise where.fail("protocol.frames, short_side and crop must be positive")
    stride = raw.get("stride")
    fps = raw.get("fps")
    if sampling == "dense" and (stride is None or fps is None):
        raise where.fail("dense sampling needs protocol.stride and protocol.fps")
    if sampling != "dense" and stride is not None:
        raise where.fail(f"protocol.stride applies to dense sampling only, not {sampling}")
    if stride is not None and (where.typed(stride, int, "protocol.stride") <= 0):
        raise where.fail("protocol.stride must be positive")
    if fps is not None and where.typed(fps, (int, float), "protocol.fps") <= 0:
        raise where.fail("protocol.fps must be positive")
    return Protocol(sampling=sampling, combine=combine, views=(views[0], views[1]),
                    stride=stride, fps=None if fps is None else float(fps), **ints, **triples)


def _weights(raw: Any, where: _Where, base: Path) -> Weights:
    if raw == "unpublished":
        return UNPUBLISHED
    if isinstance(raw, str):
        raise where.fail(f"weights must be a table or \"unpublished\", not \"{raw}\"")
    raw = where.typed(raw, dict, "weights")
    fmt = where.typed(raw.get("format"), str, "weights.format")
    if fmt not in WEIGHTS_FORMATS:
        raise where.fail(f"weights.format '{fmt}' is not one of {', '.join(WEIGHTS_FORMATS)}")
    sha = raw.get("sha256")
    if sha is not None and not _SHA256.match(where.typed(sha, str, "weights.sha256")):
        raise where.fail("weights.sha256 must be 64 lowercase hex digits")
    if "path" in raw:
        where.keys(raw, _PACKAGED_KEYS, {"path", "format"}, "weights")
        return PackagedWeights(path=base / where.typed(raw["path"], str, "weights.path"), format=fmt, sha256=sha)
    where.keys(raw, _HUB_KEYS, _HUB_KEYS - {"sha256"}, "weights")
    revision = where.typed(raw["revision"], str, "weights.revision")
    if not _REVISION.match(revision):
        raise where.fail("weights.revision must be a full 40-hex commit id (a branch name can move)")
    repo = where.typed(raw["repo"], str, "weights.repo")
    if not is_repo_id(repo):
        raise where.fail(f"weights.repo '{repo}' is not a Hub repository id (owner/name)")
    file = where.typed(raw["file"], str, "weights.file")
    if not file or file.startswith("/") or ".." in file.split("/"):
        raise where.fail(f"weights.file '{file}' must be a path inside the repository")
    return HubWeights(repo=repo, file=file,
                      revision=revision, format=fmt, sha256=sha)


def _labels(raw: Any, where: _Where, base: Path) -> tuple[str, ...]:
    """Ordered label names; a table with only `num_classes` stands for classes with no shipped names."""
    raw = where.typed(raw, dict, "labels")
    where.keys(raw, {"file", "num_classes"}, set(), "labels")
    expected = raw.get("num_classes")
    if expected is not None and (not isinstance(expected, int) or isinstance(expected, bool) or expected < 1):
        raise where.fail("labels.num_classes must be a positive integer")
    if "file" not in raw:
        if expected is None:
            raise where.fail("labels needs a file (one label per line) or num_classes")
        return tuple(f"class {i}" for i in range(expected))
    path = base / where.typed(raw["file"], str, "labels.file")
    try:
        labels = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    except OSError as err:
        raise where.fail(f"labels.file {path} cannot be read ({err.strerror})") from None
    if expected is not None and expected != len(labels):
        raise where.fail(f"labels.file {path} has {len(labels)} labels, labels.num_classes says {expected}")
    if len(set(labels)) != len(labels):
        raise where.fail(f"labels.file {path} repeats a label")
    return labels


def _entry(name: str, raw: Any, file: Path) -> ModelEntry:
    where = _Where(file, f"models.{name}")
    if not MODEL_NAME.match(name):
        raise where.fail("model names are lowercase kebab-case (family-size-dataset-fN[-tag])")
    raw = where.typed(raw, dict, "entry")
    where.keys(raw, _ENTRY_KEYS, _ENTRY_KEYS - {"config", "meta"})
    config = where.typed(raw.get("config", {}), dict, "config")
    if "num_classes" in config:
        raise where.fail("config.num_classes is derived from the label file; remove it")
    meta = where.typed(raw.get("meta", {}), dict, "meta")
    if "caution" in meta:
        where.typed(meta["caution"], str, "meta.caution")
    protocol = _protocol(raw["protocol"], where)
    frames = config.get("num_frames")
    if frames is not None and frames != protocol.frames:
        raise where.fail(f"config.num_frames {frames} differs from protocol.frames {protocol.frames}")
    return ModelEntry(
        name=name,
        arch=where.typed(raw["arch"], str, "arch"),
        dataset=where.typed(raw["dataset"], str, "dataset"),
        labels=_labels(raw["labels"], where, file.parent),
        protocol=protocol,
        weights=_weights(raw["weights"], where, file.parent),
        config=MappingProxyType(dict(config)),
        meta=MappingProxyType(dict(meta)),
        source=file,
    )


def read_registry_file(file: Path) -> tuple[dict[str, ModelEntry], str | None]:
    """Parse one weights.toml: its entries and its `default`, if it sets one."""
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"{file}: registry file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RegistryError(f"{file}: cannot read registry file ({err})") from None
    except tomllib.TOMLDecodeError as err:
        raise RegistryError(f"{file}: not valid TOML ({err})") from None
    unknown = sorted(set(doc) - {"default", "models"})
    if unknown:
        raise RegistryError(f"{file}: unknown top-level key {unknown[0]} (allowed: default, models)")
    models = doc.get("models", {})
    if not isinstance(models, dict):
        raise RegistryError(f"{file}: models must be a table of tables")
    entries = {name: _entry(name, raw, file) for name, raw in models.items()}
    default = doc.get("default")
    if default is not None and not isinstance(default, str):
        raise RegistryError(f"{file}: default must be a model name")
    return entries, default


def user_registry_files(extra: list[Path] | None = None) -> list[Path]:
    """User registry files: those of `LINVIT_REGISTRY`, then those given on the command line."""
    env = os.environ.get(ENV_VAR, "")
    return [Path(p) for p in env.split(os.pathsep) if p] + list(extra or [])


def load_registry(extra: list[Path] | None = None) -> Registry:
    """The packaged registry plus the user's files; a name defined twice is an error naming both files."""
    entries, default = read_registry_file(PACKAGED_REGISTRY)
    for file in user_registry_files(extra):
        more, more_default = read_registry_file(file)
        for name, entry in more.items():
            if name in entries:
                raise RegistryError(f"model '{name}' is defined in both {entries[name].source} and {file}")
            entries[name] = entry
        default = more_default or default
    if default is None or default not in entries:
        raise RegistryError(f"the registry's default model '{default}' is not defined")
    return Registry(entries=MappingProxyType(entries), default=default)
