"""Names of models and Hub repositories, and how `hf://owner/repo[@revision]` is parsed.

A leaf module: the registry, the Hub code and the commands all read names through it and it imports
nothing of theirs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UsageError

HUB_PREFIX = "hf://"  # `hf://owner/repo[@revision]` names a Hub repository as a model (linvit_cli.hub_repo)
MODEL_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")  # registry names: lowercase kebab-case
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")  # a Hub repository id, owner/name
_REVISION = re.compile(r"^[\w.-]+(/[\w.-]+)*$")  # a branch, tag or commit


def is_hub_name(name: str) -> bool:
    """Whether a model name names a Hub repository (`hf://...`) rather than a registry entry."""
    return name.startswith(HUB_PREFIX)


def is_repo_id(text: str) -> bool:
    """`owner/name` as the Hub spells repository ids, and no path tricks."""
    return bool(_REPO_ID.match(text)) and ".." not in text


@dataclass(frozen=True)
class HubRef:
    """A parsed `hf://owner/repo[@revision]`; no revision means the default branch."""

    repo: str
    revision: str | None = None

    @property
    def name(self) -> str:
        return f"{HUB_PREFIX}{self.repo}" + (f"@{self.revision}" if self.revision else "")


def parse_hub_name(name: str) -> HubRef:
    repo, at, revision = name.removeprefix(HUB_PREFIX).partition("@")
    if not is_repo_id(repo) or (at and (not _REVISION.match(revision) or ".." in revision)):
        raise UsageError(f"'{name}' is not a Hub model name: use {HUB_PREFIX}owner/repo or "
                         f"{HUB_PREFIX}owner/repo@revision (a branch, tag or commit)")
    return HubRef(repo, revision or None)
