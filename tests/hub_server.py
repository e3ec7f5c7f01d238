"""A loopback stand-in for the Hub's file endpoints, so tests drive the real `huggingface_hub` client.

It answers the way the Hub answers `hf_hub_download` (checked against huggingface_hub 2.4's
`file_download.py` and `utils/_http.py`):

- `HEAD`/`GET /{org}/{name}/resolve/{revision}/{file}` -> 302 whose headers carry what the client reads:
  `X-Repo-Commit` (commit id), `X-Linked-Etag` (the LFS sha256, quoted), `X-Linked-Size`, `ETag` (the git
  oid of the LFS pointer) and `Location`. The client follows a redirect only to the same or a Hub origin;
  any other origin is a CDN and the 302 itself is the metadata. So the CDN listens on a second port, a
  different origin, as on the Hub.
- `HEAD`/`GET /cdn/{sha256}` on the CDN port -> 200 with `Content-Length`, or 206 with `Content-Range` for a
  `Range: bytes=N-` request (the client's resume after a dropped connection).
- Errors carry `X-Error-Code`, which the client turns into typed errors: `RepoNotFound` (404),
  `GatedRepo` (401 without a token, 403 with a token that was not granted), `RevisionNotFound` (404),
  `EntryNotFound` (404, with `X-Repo-Commit`).

Faults for tests: `cut_after` closes the next CDN GET after that many bytes; `stall_after` sends that many
bytes, sets `stalled` and waits for `release` (a download a test can kill mid-way).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<file>.+)$")
_CDN = re.compile(r"^/cdn/(?P<sha>[0-9a-f]{64})$")
_RANGE = re.compile(r"^bytes=(?P<start>\d+)-$")


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class FakeHub:
    """Repositories served on 127.0.0.1: `files[(repo, revision, filename)] = bytes`."""

    files: dict[tuple[str, str, str], bytes] = field(default_factory=dict)
    gated: dict[str, str] = field(default_factory=dict)  # repo -> the one token granted access
    cut_after: int | None = None
    stall_after: int | None = None
    requests: list[Seen] = field(default_factory=list)
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _servers: list[ThreadingHTTPServer] = field(default_factory=list, init=False, repr=False)

    def add(self, repo: str, revision: str, filename: str, content: bytes) -> str:
        """Publish a file; returns its sha256 (what the Hub shows as the LFS oid)."""
        self.files[(repo, revision, filename)] = content
        return hashlib.sha256(content).hexdigest()

    def start(self) -> FakeHub:
        self._servers = [ThreadingHTTPServer(("127.0.0.1", 0), _handler(self)) for _ in range(2)]
        for server in self._servers:
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def cdn(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}"

    def gets(self, prefix: str = "/cdn/") -> list[Seen]:
        return [r for r in self.requests if r.method == "GET" and r.path.startswith(prefix)]

    def blob(self, sha: str) -> bytes | None:
        return next((c for c in self.files.values() if hashlib.sha256(c).hexdigest() == sha), None)


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            pass

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            headers = {key.lower(): value for key, value in self.headers.items()}
            hub.requests.append(Seen(self.command, self.path, headers))
            path = unquote(self.path.split("?", 1)[0])
            if (match := _RESOLVE.match(path)) and self.server is hub._servers[0]:
                self._resolve(**match.groupdict())
            elif (match := _CDN.match(path)) and self.server is hub._servers[1]:
                self._cdn(match["sha"], body)
            else:
                self._error(404, "NotFound", "Not found")

        def _resolve(self, repo: str, revision: str, file: str) -> None:
            if not any(r == repo for r, _, _ in hub.files):
                return self._error(404, "RepoNotFound", "Repository not found")
            if repo in hub.gated:
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if not token:
                    return self._error(401, "GatedRepo", f"Access to model {repo} is restricted. You must "
                                       "have access to it and be authenticated to access it. Please log in.")
                if token != hub.gated[repo]:
                    return self._error(403, "GatedRepo", f"Access to model {repo} is restricted and you are "
                                       "not in the authorized list.")
            if not any(r == repo and v == revision for r, v, _ in hub.files):
                return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            content = hub.files.get((repo, revision, file))
            if content is None:
                return self._error(404, "EntryNotFound", f"{file} does not exist on \"{revision}\"",
                                   {"X-Repo-Commit": revision})
            sha = hashlib.sha256(content).hexdigest()
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {len(content)}\n"
            self._send(302, {
                "Location": f"{hub.cdn}/cdn/{sha}",
                "X-Repo-Commit": revision,
                "ETag": f'"{hashlib.sha1(pointer.encode()).hexdigest()}"',
                "X-Linked-Etag": f'"{sha}"',
                "X-Linked-Size": str(len(content)),
                "Content-Length": "0",
            })

        def _cdn(self, sha: str, body: bool) -> None:
            content = hub.blob(sha)
            if content is None:
                return self._error(404, "NotFound", "No such blob")
            start, status, headers = 0, 200, {}
            if (wanted := _RANGE.match(self.headers.get("Range", ""))) is not None:
                start, status = int(wanted["start"]), 206
                headers["Content-Range"] = f"bytes {start}-{len(content) - 1}/{len(content)}"
            part = content[start:]
            headers.update({"Content-Length": str(len(part)), "ETag": f'"{sha}"', "Accept-Ranges": "bytes",
                            "Content-Type": "application/octet-stream"})
            self._send(status, headers)
            if not body:
                return
            if hub.stall_after is not None:
                limit, hub.stall_after = hub.stall_after, None
                self._write(part[:limit])
                hub.stalled.set()
                hub.release.wait(timeout=60)
                self.close_connection = True
            elif hub.cut_after is not None:
                limit, hub.cut_after = hub.cut_after, None
                self._write(part[:limit])
                self.close_connection = True
            else:
                self._write(part)

        def _write(self, data: bytes) -> None:
            try:
                self.wfile.write(data)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client was killed: nothing to answer
                self.close_connection = True

        def _error(self, status: int, code: str, message: str, extra: dict[str, str] | None = None) -> None:
            body = f'{{"error": "{message}"}}'.encode()
            headers = {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json"}
            self._send(status, {**headers, "Content-Length": str(len(body)), **(extra or {})})
            if self.command == "GET":
                self._write(body)

        def _send(self, status: int, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()

    return Handler
