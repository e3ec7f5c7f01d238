"""SHA-256 checks of weights files, after download and before first use."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .errors import HubError

_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str | None, *, remove_on_mismatch: bool) -> None:
    """Raise `HubError` when the file's hash differs; optionally delete the bad file first."""
    if expected is None:
        return
    actual = sha256_of(path)
    if actual == expected:
        return
    removed = ""
    if remove_on_mismatch:
        path.unlink(missing_ok=True)
        removed = " The file was removed; run the command again to download it anew."
    raise HubError(f"{path.name}: sha256 mismatch (expected {expected}, got {actual}).{removed}")
