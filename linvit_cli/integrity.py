"""The one sha256 check of weights files: after a download, before first use, before a push."""

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


def verify_sha256(path: Path, expected: str | None, what: str, *, cached: bool = False) -> str:
    """The file's sha256, which must be `expected` (None: nothing is pinned, nothing to compare).

    A file that differs is an error naming `what`. A `cached` file (a Hub cache entry: a snapshot link to a
    blob) is removed first, link and blob, so that the next run downloads it anew.
    """
    actual = sha256_of(path)
    if expected is None or actual == expected:
        return actual
    advice = ""
    if cached:
        blob = path.resolve()  # removing only the link would keep the bytes
        path.unlink(missing_ok=True)
        blob.unlink(missing_ok=True)
        advice = ("; removed it from the cache; run again to download it anew (if it fails again, the Hub file or "
                  "the pinned hash is wrong)")
    raise HubError(f"{what} failed verification: sha256 {actual}, pinned {expected}{advice}")
