"""Errors a user can cause, each carrying the exit code the CLI ends with.

1 means the work failed (unreadable file, checksum mismatch); 2 means the command was asked for something
it cannot do as asked (unknown model, unpublished weights, bad option), as Click and the `hf` CLI do.
"""

from __future__ import annotations


class LinvitError(Exception):
    """Base of every error linvit reports as one line instead of a traceback.

    The message speaks to a Python caller (parameter names); `cli`, where given, says the same with the command
    line's option names, and is what the `linvit` command prints (`cli_message`).
    """

    exit_code = 1

    def __init__(self, message: str, *, cli: str | None = None) -> None:
        super().__init__(message)
        self.cli = cli

    def cli_message(self) -> str:
        return self.cli or str(self)


class UsageError(LinvitError):
    """The request itself is wrong: fixing the command line fixes it."""

    exit_code = 2


def bad_value(name: str, value: object, problem: str, *, shown: str | None = None) -> UsageError:
    """A parameter given a value it cannot take: `name=value: problem` for Python, `--name value: problem` for the
    command line (the option of parameter `top_k` is `--top-k`); `shown` is the value as the option spells it."""
    flag = "--" + name.replace("_", "-")
    return UsageError(f"{name}={value!r}: {problem}", cli=f"{flag} {value if shown is None else shown}: {problem}")


def at_least(name: str, value: int | None, least: int) -> None:
    """A count (views per pass, labels shown, workers ...) below its minimum is a usage error naming it; None passes."""
    if value is not None and value < least:
        raise bad_value(name, value, f"must be at least {least}")


def positive_seconds(name: str, value: float | None) -> None:
    """A duration (a window, a stride) must be more than 0 s; None passes (the default is derived)."""
    if value is not None and not value > 0:
        raise bad_value(name, value, "must be a positive number of seconds", shown=f"{value:g}")


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


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (its type's name when the message is empty), for one-line errors."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class Interrupted(LinvitError):
    """Ctrl-C: the command stopped where it was; what it had written is whole."""

    exit_code = 130
