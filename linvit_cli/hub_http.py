"""How linvit's calls reach the Hub: an endpoint that cannot be reached fails at once; a slow one is retried, and
each retry is one line that says so.

huggingface_hub retries a request that fails with a network error or HTTP 408, 429 or 5xx five times, sleeping
1, 2, 4, 8 and 8 s (`http_backoff` in `huggingface_hub/utils/_http.py`: `hf_hub_download` asks again with those
retries when its first HEAD fails, `list_models` pages through it, uploads use it), and logs every retry as a
warning. That suits a busy Hub, but a name that does not resolve or a port that refuses connections will not
answer differently 23 s later. No option of huggingface_hub sets the number of retries (HF_HUB_ETAG_TIMEOUT and
HF_HUB_DOWNLOAD_TIMEOUT set timeouts), so `hub_session` gives it an HTTP client through its documented hook,
`set_client_factory`, whose transport turns those two failures into `HubUnreachable`, an error its retry loop
does not catch, and bounds a connection attempt that never completes by HF_HUB_ETAG_TIMEOUT (some calls,
`model_info` among them, pass no timeout). The client is huggingface_hub's otherwise (the same event hooks,
redirects and timeouts), and outside a `hub_session` it behaves exactly as that one, so other code of the same
process keeps huggingface_hub's behaviour. Inside one, the retry warnings become one line each on stderr.
"""

from __future__ import annotations

import errno
import logging
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpx2

from .output import console

_ACTIVE: ContextVar[bool] = ContextVar("linvit_hub_session", default=False)
_PERMANENT_ERRNOS = {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH}
_RETRY_LOGGER = "huggingface_hub.utils._http"  # where `http_backoff` logs its retries
_installed = False
# huggingface_hub's words for a failed attempt and for the retry that follows it (`_http_backoff_base`)
_FAILED = re.compile(r"^(?:'(?P<error>.*)'|HTTP Error (?P<status>\d+)) thrown while requesting \S+ (?P<url>\S+)")
_RETRY = re.compile(r"(?P<seconds>[\d.]+)s .*\[Retry (?P<n>\d+)/(?P<of>\d+)\]")


class HubUnreachable(httpx2.TransportError):
    """The endpoint's name does not resolve, or its host refuses or cannot be routed to: not worth retrying."""


class _FailFast(httpx2.BaseTransport):
    """huggingface_hub's transport; in a `hub_session`, unreachable endpoints are `HubUnreachable` and connection
    attempts have a time limit."""

    def __init__(self, connect_timeout: float) -> None:
        self.inner = httpx2.HTTPTransport()
        self.connect_timeout = connect_timeout

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if not _ACTIVE.get():
            return self.inner.handle_request(request)
        timeout = dict(request.extensions.get("timeout") or {})
        if timeout.get("connect") is None:  # a call without a timeout would wait for a silent host for ever
            request.extensions["timeout"] = {**timeout, "connect": self.connect_timeout}
        try:
            return self.inner.handle_request(request)
        except httpx2.ConnectError as err:
            reason = _unreachable(err, request.url)
            if reason is None:
                raise
            raise HubUnreachable(reason, request=request) from err

    def close(self) -> None:
        self.inner.close()


def _unreachable(err: BaseException, url: httpx2.URL) -> str | None:
    """What failed, when the cause of a connection error is one that a retry within seconds would meet again."""
    cause: BaseException | None = err
    while cause is not None:
        for found in (cause, *cause.args):
            if isinstance(found, socket.gaierror):
                return f"the name {url.host} could not be looked up: {found}"
            if isinstance(found, OSError) and found.errno in _PERMANENT_ERRNOS:
                return f"{url.host}{f':{url.port}' if url.port else ''} could not be connected to: {found}"
        cause = cause.__cause__ or cause.__context__
    return None


def _install() -> None:
    """Give huggingface_hub linvit's client, built as its own default client is, once per process."""
    global _installed
    if _installed:
        return
    from huggingface_hub import constants, get_session, set_client_factory

    model = get_session()  # huggingface_hub's own client: its hooks, redirects and timeouts are kept

    def client() -> httpx2.Client:
        return httpx2.Client(event_hooks=model.event_hooks, follow_redirects=model.follow_redirects,
                             timeout=model.timeout, transport=_FailFast(constants.HF_HUB_ETAG_TIMEOUT))

    set_client_factory(client)
    _installed = True


class _RetryLines(logging.Filter):
    """huggingface_hub's retry warnings as linvit's lines: one per retry, naming the host and the cause."""

    def __init__(self) -> None:
        super().__init__()
        self.cause = "no answer"
        self.host = "the Hub"

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if failed := _FAILED.match(message):
            self.cause = failed["error"] or f"HTTP {failed['status']}"
            self.host = httpx2.URL(failed["url"]).host or self.host
            return False
        if retry := _RETRY.search(message):
            console.warning(f"{self.host}: {self.cause}; retrying in {float(retry['seconds']):g} s "
                            f"(retry {retry['n']} of {retry['of']})")
            return False
        return True  # anything else huggingface_hub says here, as it says it


@contextmanager
def hub_session() -> Iterator[None]:
    """Calls to the Hub inside fail at once on an unreachable endpoint and announce their retries (see above).

    huggingface_hub's other warnings stay quiet meanwhile: what failed is linvit's to say, once.
    """
    _install()
    library, retries = logging.getLogger("huggingface_hub"), logging.getLogger(_RETRY_LOGGER)
    levels = library.level, retries.level
    lines = _RetryLines()
    library.setLevel(logging.ERROR)
    retries.setLevel(logging.WARNING)
    retries.addFilter(lines)
    token = _ACTIVE.set(True)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
        retries.removeFilter(lines)
        library.setLevel(levels[0])
        retries.setLevel(levels[1])
