"""Errors a user can cause, each carrying the exit code the CLI ends with.

1 means the work failed (unreadable file, checksum mismatch); 2 means the command was asked for something
it cannot do as asked (unknown model, unpublished weights, bad option), as Click and the `hf` CLI do.
"""

from __future__ import annotations


class LinvitError(Exception):
    """Base of every error linvit reports as one line instead of a traceback."""

    exit_code = 1


class UsageError(LinvitError):
    """The request itself is wrong: fixing the command line fixes it."""

    exit_code = 2


class UnknownModelError(UsageError):
    """A model name that no registry file defines."""


class WeightsUnavailableError(UsageError):
    """A registry model whose weights were never published and no `--weights` was given."""


class RegistryError(UsageError):
    """A weights.toml that does not follow the schema (names the file, table and key)."""


class CheckpointError(LinvitError):
    """A weights file that cannot be loaded into the model: foreign, corrupt, or with wrong keys."""


class VideoDecodeError(LinvitError):
    """A video file that cannot be read (missing, not a video, truncated, no video stream)."""


class HubError(LinvitError):
    """A download from the Hugging Face Hub failed or a downloaded file failed verification."""
