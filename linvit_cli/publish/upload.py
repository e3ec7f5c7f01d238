"""`linvit push`'s upload: the repository created if needed, then its files in one commit, by huggingface_hub.

huggingface_hub chooses the transfer (Xet storage when `hf_xet` is installed, else Git LFS), reads the token
(HF_TOKEN or `hf auth login`) and the endpoint (HF_ENDPOINT); this module turns its failures into one line.
"""

from __future__ import annotations

from .. import __version__
from ..errors import HubError, UsageError, first_line
from ..hub_http import hub_session
from ..registry.write import WEIGHTS_FILE
from .folder import RepoFolder


def upload(folder: RepoFolder, repo_id: str, *, private: bool, message: str | None) -> str:
    """Create `repo_id` (private if asked; an existing one is kept as it is) and commit the folder; the commit URL."""
    import httpx2
    from huggingface_hub import CommitOperationAdd, HfApi, constants, get_token

    if constants.is_offline_mode():
        raise UsageError("linvit push uploads to the Hub, and HF_HUB_OFFLINE is set")
    if get_token() is None:
        raise UsageError("linvit push needs a Hub token with write access: set HF_TOKEN (or run `hf auth login`)")
    operations = [CommitOperationAdd(name, text.encode("utf-8")) for name, text in folder.texts.items()]
    operations.append(CommitOperationAdd(WEIGHTS_FILE, str(folder.weights)))
    api = HfApi(library_name="linvit", library_version=__version__)
    try:
        with hub_session():
            api.create_repo(repo_id, private=private, exist_ok=True)
            commit = api.create_commit(repo_id, operations,
                                       commit_message=message or f"Upload {folder.entry.name} with linvit push")
    except (OSError, httpx2.HTTPError, RuntimeError, ValueError) as err:  # huggingface_hub's upload errors
        raise HubError(_explain(err, repo_id)) from err
    return commit.commit_url


def _explain(err: BaseException, repo_id: str) -> str:
    import httpx2
    from huggingface_hub import constants
    from huggingface_hub.errors import HfHubHTTPError

    while isinstance(err, RuntimeError) and err.__cause__ is not None:  # "Error while uploading ..." wraps it
        err = err.__cause__
    if isinstance(err, HfHubHTTPError):
        status = err.response.status_code
        if status == 401:
            return (f"the Hub at {constants.ENDPOINT} refused the token (HTTP 401) pushing to {repo_id}: set "
                    "HF_TOKEN to a valid token with write access")
        if status == 403:
            return (f"the token's account may not write to {repo_id} (HTTP 403): use a token with write access to "
                    f"{repo_id.split('/')[0]}")
        return f"pushing to {repo_id}: the Hub answered HTTP {status} ({first_line(err)}); try again later"
    if isinstance(err, httpx2.TransportError):
        return (f"pushing to {repo_id}: {constants.ENDPOINT} could not be reached ({first_line(err)}); check the "
                "network (or HF_ENDPOINT) and run again")
    return f"pushing to {repo_id} failed: {first_line(err)}"
