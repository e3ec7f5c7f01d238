"""A loopback stand-in for the Hub, so tests drive the real `huggingface_hub` client (2.4).

It answers the requests that client makes for what linvit does, with the headers and bodies it reads (checked
against huggingface_hub 2.4's `file_download.py`, `hf_api.py`, `_commit_api.py`, `lfs.py` and `utils/_http.py`).

Downloads (`hf_hub_download`):
- `HEAD`/`GET /{org}/{name}/resolve/{revision}/{file}`: an LFS file -> 302 whose headers carry what the client
  reads: `X-Repo-Commit` (commit id), `X-Linked-Etag` (the LFS sha256, quoted), `X-Linked-Size`, `ETag` (the git
  oid of the LFS pointer) and `Location`. The client follows a redirect only to the same or a Hub origin; any
  other origin is a CDN and the 302 itself is the metadata. So the CDN listens on a second port, a different
  origin, as on the Hub. A regular git file -> 200 with `ETag` (its git blob oid), `X-Repo-Commit` and the
  bytes. No Xet headers are ever sent, so the client downloads over plain HTTP.
- `HEAD`/`GET /cdn/{sha256}` on the CDN port -> 200 with `Content-Length`, or 206 with `Content-Range` for a
  `Range: bytes=N-` request (the client's resume after a dropped connection).

Repository API:
- `GET /api/models/{repo}[/revision/{revision}]` (`model_info`; `?blobs=true` adds each sibling's size, blobId
  and lfs {sha256, size, pointerSize}), with `library_name`, `pipeline_tag` and `tags` taken from README.md's
  front matter as the Hub does; a gated repository's info is public, its files are not.
- `GET /api/models?filter=...&sort=downloads&limit=N&expand=...` (`list_models`): one page, no `Link` header.
- `POST /api/repos/create` {name, organization, visibility} -> {url}; 409 when it exists (`exist_ok`). A new
  repository starts with one commit holding the Hub's default .gitattributes.

Upload (`create_commit` over Git LFS; huggingface_hub takes Xet storage instead whenever `hf_xet` is installed,
whatever the server says, so upload tests set `HF_HUB_DISABLE_XET=1`, huggingface_hub's own switch):
- `POST /api/validate-yaml` (README.md's front matter must be YAML).
- `POST /api/models/{repo}/preupload/{revision}`: `uploadMode` lfs for the suffixes the default .gitattributes
  tracks and for binary or large files, else regular; the `oid` of a file already there (unchanged files are
  left out of the commit by the client).
- `POST /{repo}.git/info/lfs/objects/batch`: the basic transfer, an upload href on the storage origin (the CDN
  port, like S3) and a verify href; no actions for an object already stored. `PUT /lfs/{sha256}` on the storage
  port; `POST /{repo}.git/info/lfs/objects/verify` checks the object's sha256 and size.
- `POST /api/models/{repo}/commit/{revision}`: NDJSON lines `header`, `file` (base64), `lfsFile`, `deletedFile`
  -> {commitOid, commitUrl}; the branch moves to the new commit.

Errors carry `X-Error-Code`, which the client turns into typed errors: `RepoNotFound` (404; 401 for a private
repository without a token, as on the Hub), `GatedRepo` (401 without a token, 403 with a token that was not
granted), `RevisionNotFound` (404), `EntryNotFound` (404, with `X-Repo-Commit`). Writes need a token of `tokens`
whose user owns the namespace; private repositories are read with that token only.

Faults for tests: `cut_after` closes the next CDN GET after that many bytes; `stall_after` sends that many
bytes, sets `stalled` and waits for `release` (a download a test can kill mid-way); `substitute[sha256]` is
served instead of the blob with that sha256 (a corrupt CDN: metadata and bytes disagree); `busy` is the number of
requests to the Hub port still to be answered 503 with `Retry-After: 0` (a busy Hub, which the client retries).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

_NAME = r"[^/]+/[^/]+"
_RESOLVE = re.compile(rf"^/(?P<repo>{_NAME})/resolve/(?P<revision>[^/]+)/(?P<file>.+)$")
_INFO = re.compile(rf"^/api/models/(?P<repo>{_NAME})(/revision/(?P<revision>[^/]+))?$")
_PREUPLOAD = re.compile(rf"^/api/models/(?P<repo>{_NAME})/preupload/(?P<revision>[^/]+)$")
_COMMIT = re.compile(rf"^/api/models/(?P<repo>{_NAME})/commit/(?P<revision>[^/]+)$")
_LFS = re.compile(rf"^/(?P<repo>{_NAME})\.git/info/lfs/objects/(?P<op>batch|verify)$")
_CDN = re.compile(r"^/cdn/(?P<sha>[0-9a-f]{64})$")
_STORE = re.compile(r"^/lfs/(?P<sha>[0-9a-f]{64})$")
_RANGE = re.compile(r"^bytes=(?P<start>\d+)-$")
# what the Hub's default .gitattributes sends to LFS (an excerpt), and its size rule for other files
LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".pyth", ".ckpt", ".h5", ".onnx", ".npy", ".npz", ".pkl",
                ".zip", ".gz", ".tar")
LFS_MIN_SIZE = 10 * 2**20
GITATTRIBUTES = "".join(f"*{suffix} filter=lfs diff=lfs merge=lfs -text\n" for suffix in LFS_SUFFIXES).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_oid(data: bytes) -> str:
    """The git blob id of `data` (what `git hash-object` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(path: str, data: bytes) -> bool:
    return path.endswith(LFS_SUFFIXES) or b"\0" in data[:512] or len(data) >= LFS_MIN_SIZE


def _pointer(data: bytes) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256(data)}\nsize {len(data)}\n".encode()


def front_matter(files: dict[str, bytes]) -> dict:
    """README.md's YAML metadata, as the Hub reads it into a model's card data and tags."""
    text = files.get("README.md", b"").decode("utf-8", "replace")
    if not text.startswith("---\n") or "\n---" not in text[4:]:
        return {}
    meta = yaml.safe_load(text[4:text.index("\n---", 4)])
    return meta if isinstance(meta, dict) else {}


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Repo:
    """A model repository: its commits (commit id -> path -> bytes) and branches (name -> commit id)."""

    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    private: bool = False
    downloads: int = 0
    likes: int = 0
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"))

    def commit_of(self, revision: str) -> str | None:
        oid = self.refs.get(revision, revision)
        return oid if oid in self.commits else None


@dataclass
class FakeHub:
    """Repositories served on 127.0.0.1 (`repos`), gated ones (`gated`: repo -> the one token granted access)
    and users (`tokens`: token -> user name)."""

    repos: dict[str, Repo] = field(default_factory=dict)
    gated: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    lfs_objects: dict[str, bytes] = field(default_factory=dict)  # uploaded through the storage port, by sha256
    substitute: dict[str, bytes] = field(default_factory=dict)
    cut_after: int | None = None
    busy: int = 0
    stall_after: int | None = None
    requests: list[Seen] = field(default_factory=list)
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _servers: list[ThreadingHTTPServer] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def add(self, repo: str, revision: str, filename: str, content: bytes) -> str:
        """Publish a file at a given commit id; returns its sha256 (what the Hub shows as the LFS oid)."""
        self.repos.setdefault(repo, Repo()).commits.setdefault(revision, {})[filename] = content
        return sha256(content)

    def commit(self, repo: str, files: dict[str, bytes], *, branch: str = "main", deleted: tuple[str, ...] = (),
               private: bool = False) -> str:
        """A new commit on `branch`: its parent's files, plus `files`, less `deleted`; the repository is created
        (with the default .gitattributes) when it does not exist. Returns the commit id."""
        with self._lock:
            if repo not in self.repos:
                self.repos[repo] = Repo(private=private)
                self.commit_locked(repo, {".gitattributes": GITATTRIBUTES}, branch, ())
            return self.commit_locked(repo, files, branch, deleted)

    def commit_locked(self, repo: str, files: dict[str, bytes], branch: str, deleted: tuple[str, ...]) -> str:
        state = self.repos[repo]
        parent = state.refs.get(branch)
        tree = {**state.commits.get(parent, {}), **files}
        for path in deleted:
            tree.pop(path, None)
        listing = json.dumps([parent, sorted((p, git_oid(c)) for p, c in tree.items()), len(state.commits)])
        oid = hashlib.sha1(listing.encode()).hexdigest()
        state.commits[oid] = tree
        state.refs[branch] = oid
        return oid

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
        if sha in self.substitute:
            return self.substitute[sha]
        files = (c for repo in self.repos.values() for tree in repo.commits.values() for c in tree.values())
        return next((c for c in files if sha256(c) == sha), self.lfs_objects.get(sha))

    def files(self, repo: str, revision: str = "main") -> dict[str, bytes]:
        state = self.repos[repo]
        return state.commits[state.commit_of(revision)]


class _Refused(Exception):
    """An error answer: HTTP status, X-Error-Code, message, extra headers."""

    def __init__(self, status: int, code: str | None, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            pass

        def do_HEAD(self) -> None:
            self._route()

        def do_GET(self) -> None:
            self._route()

        def do_POST(self) -> None:
            self._route()

        def do_PUT(self) -> None:
            self._route()

        # --- routing --------------------------------------------------------------------------------------

        def _route(self) -> None:
            headers = {key.lower(): value for key, value in self.headers.items()}
            hub.requests.append(Seen(self.command, self.path, headers))
            url = urlsplit(self.path)
            self.query = parse_qs(url.query)
            self.body = self._read_body() if self.command in ("POST", "PUT") else b""
            hub_port = self.server is hub._servers[0]
            with hub._lock:
                busy = hub_port and hub.busy > 0
                hub.busy -= busy
            routes = [("HEAD GET", _RESOLVE, True, self._resolve), ("GET", _INFO, True, self._info),
                      ("POST", _PREUPLOAD, True, self._preupload), ("POST", _COMMIT, True, self._commit),
                      ("POST", _LFS, True, self._lfs), ("HEAD GET", _CDN, False, self._cdn),
                      ("PUT", _STORE, False, self._store)]
            try:
                if busy:
                    raise _Refused(503, None, "Service Unavailable", {"Retry-After": "0"})
                if hub_port and self.command == "POST" and url.path == "/api/repos/create":
                    return self._create()
                if hub_port and self.command == "POST" and url.path == "/api/validate-yaml":
                    return self._validate_yaml()
                if hub_port and self.command == "GET" and url.path == "/api/models":
                    return self._list()
                for methods, pattern, on_hub, answer in routes:
                    match = pattern.match(url.path)
                    if match and self.command in methods.split() and on_hub == hub_port:
                        return answer(**{k: unquote(v) for k, v in match.groupdict().items() if v is not None})
                raise _Refused(404, "NotFound", "Not found")
            except _Refused as refused:
                self._error(refused)

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                parts = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(parts)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        # --- who asks, and what they may see ---------------------------------------------------------------

        def _token(self) -> str:
            return self.headers.get("Authorization", "").removeprefix("Bearer ")

        def _user(self) -> str | None:
            return hub.tokens.get(self._token())

        def _readable(self, repo: str) -> Repo:
            state = hub.repos.get(repo)
            if state is None:
                raise _Refused(404, "RepoNotFound", "Repository not found")
            if state.private and self._user() != repo.split("/")[0]:
                if not self._token():
                    raise _Refused(401, "RepoNotFound", "Invalid username or password.")
                raise _Refused(404, "RepoNotFound", "Repository not found")
            return state

        def _writable(self, repo: str) -> Repo:
            user = self._user()
            if user is None:
                raise _Refused(401, None, "Invalid credentials in Authorization header")
            if user != repo.split("/")[0]:
                raise _Refused(403, None, f"You don't have the rights to write to {repo}")
            state = hub.repos.get(repo)
            if state is None:
                raise _Refused(404, "RepoNotFound", "Repository not found")
            return state

        def _commit_of(self, state: Repo, revision: str) -> str:
            oid = state.commit_of(revision)
            if oid is None:
                raise _Refused(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return oid

        # --- downloads -------------------------------------------------------------------------------------

        def _resolve(self, repo: str, revision: str, file: str) -> None:
            state = self._readable(repo)
            if repo in hub.gated:
                if not self._token():
                    raise _Refused(401, "GatedRepo", f"Access to model {repo} is restricted. You must have access "
                                   "to it and be authenticated to access it. Please log in.")
                if self._token() != hub.gated[repo]:
                    raise _Refused(403, "GatedRepo", f"Access to model {repo} is restricted and you are not in "
                                   "the authorized list.")
            oid = self._commit_of(state, revision)
            content = state.commits[oid].get(file)
            if content is None:
                raise _Refused(404, "EntryNotFound", f"{file} does not exist on \"{revision}\"",
                               {"X-Repo-Commit": oid})
            if not is_lfs(file, content):
                self._send(200, {"X-Repo-Commit": oid, "ETag": f'"{git_oid(content)}"',
                                 "Content-Length": str(len(content)), "Content-Type": "text/plain; charset=utf-8"})
                return self._write(content) if self.command == "GET" else None
            sha = sha256(content)
            self._send(302, {
                "Location": f"{hub.cdn}/cdn/{sha}",
                "X-Repo-Commit": oid,
                "ETag": f'"{git_oid(_pointer(content))}"',
                "X-Linked-Etag": f'"{sha}"',
                "X-Linked-Size": str(len(content)),
                "Content-Length": "0",
            })

        def _cdn(self, sha: str) -> None:
            content = hub.blob(sha)
            if content is None:
                raise _Refused(404, "NotFound", "No such blob")
            start, status, headers = 0, 200, {}
            if (wanted := _RANGE.match(self.headers.get("Range", ""))) is not None:
                start, status = int(wanted["start"]), 206
                headers["Content-Range"] = f"bytes {start}-{len(content) - 1}/{len(content)}"
            part = content[start:]
            headers.update({"Content-Length": str(len(part)), "ETag": f'"{sha}"', "Accept-Ranges": "bytes",
                            "Content-Type": "application/octet-stream"})
            self._send(status, headers)
            if self.command == "HEAD":
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

        # --- repository API --------------------------------------------------------------------------------

        def _info(self, repo: str, revision: str = "main") -> None:
            state = self._readable(repo)
            self._json(200, self._describe(repo, state, self._commit_of(state, revision),
                                           blobs=self.query.get("blobs", [""])[0].lower() in ("1", "true")))

        def _describe(self, repo: str, state: Repo, oid: str, *, blobs: bool) -> dict:
            files = state.commits[oid]
            card = front_matter(files)
            tags = [*card.get("tags", []), card.get("library_name"), card.get("pipeline_tag"),
                    *(f"dataset:{d}" for d in card.get("datasets", [])), f"license:{card.get('license')}"
                    if card.get("license") else None]
            siblings = []
            for path, content in sorted(files.items()):
                sibling = {"rfilename": path}
                if blobs:
                    lfs = is_lfs(path, content)
                    sibling.update({"size": len(content), "blobId": git_oid(_pointer(content) if lfs else content)})
                    if lfs:
                        sibling["lfs"] = {"sha256": sha256(content), "size": len(content),
                                          "pointerSize": len(_pointer(content))}
                siblings.append(sibling)
            return {"_id": hashlib.md5(repo.encode()).hexdigest()[:24], "id": repo, "modelId": repo,
                    "author": repo.split("/")[0], "sha": oid, "lastModified": state.created, "createdAt": state.created,
                    "private": state.private, "gated": "auto" if repo in hub.gated else False, "disabled": False,
                    "downloads": state.downloads, "likes": state.likes, "library_name": card.get("library_name"),
                    "pipeline_tag": card.get("pipeline_tag"), "tags": list(dict.fromkeys(t for t in tags if t)),
                    "cardData": card or None, "siblings": siblings}

        def _list(self) -> None:
            wanted = self.query.get("filter", [])
            expand = self.query.get("expand")
            found = []
            for repo, state in hub.repos.items():
                if "main" not in state.refs or (state.private and self._user() != repo.split("/")[0]):
                    continue
                info = self._describe(repo, state, state.refs["main"], blobs=False)
                if all(tag in info["tags"] for tag in wanted):
                    found.append(info)
            if self.query.get("sort") == ["downloads"]:
                found.sort(key=lambda info: -info["downloads"])
            found = found[: int(self.query.get("limit", [len(found)])[0])]
            default = ("_id", "id", "modelId", "likes", "downloads", "private", "pipeline_tag", "library_name", "tags",
                       "createdAt")
            keep = ("_id", "id", *expand) if expand else default
            self._json(200, [{key: info[key] for key in keep if key in info} for info in found])

        def _create(self) -> None:
            request = json.loads(self.body)
            repo = f"{request.get('organization')}/{request['name']}"
            user = self._user()
            if user is None:
                raise _Refused(401, None, "Invalid credentials in Authorization header")
            if request.get("organization") != user:
                raise _Refused(403, None, f"You don't have the rights to create a model under the namespace "
                               f"\"{request.get('organization')}\"")
            if repo in hub.repos:
                raise _Refused(409, None, "You already created this model repo")
            hub.commit(repo, {}, private=request.get("visibility") == "private")
            self._json(200, {"url": f"{hub.endpoint}/{repo}", "name": repo, "id": repo})

        def _validate_yaml(self) -> None:
            text = json.loads(self.body)["content"]
            try:
                front_matter({"README.md": text.encode()})
            except yaml.YAMLError as err:
                return self._json(400, {"errors": [{"message": str(err)}], "warnings": []})
            self._json(200, {"errors": [], "warnings": []})

        # --- upload ----------------------------------------------------------------------------------------

        def _preupload(self, repo: str, revision: str) -> None:
            state = self._writable(repo)
            head = state.commits[self._commit_of(state, revision)]
            answers = []
            for item in json.loads(self.body)["files"]:
                sample = base64.b64decode(item["sample"])
                lfs = item["path"].endswith(LFS_SUFFIXES) or b"\0" in sample or item["size"] >= LFS_MIN_SIZE
                answer = {"path": item["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False}
                if item["path"] in head:
                    there = head[item["path"]]
                    answer["oid"] = sha256(there) if lfs else git_oid(there)
                answers.append(answer)
            self._json(200, {"files": answers, "commitOid": state.refs.get(revision)})

        def _lfs(self, repo: str, op: str) -> None:
            self._writable(repo)
            request = json.loads(self.body)
            if op == "verify":
                stored = hub.lfs_objects.get(request["oid"])
                if stored is None or sha256(stored) != request["oid"] or len(stored) != request["size"]:
                    raise _Refused(422, None, f"LFS object {request['oid']} not stored, or stored with other bytes")
                return self._json(200, {"message": "verified"})
            if "basic" not in request.get("transfers", ["basic"]):
                raise _Refused(422, None, "only the basic transfer is offered")
            objects = []
            for item in request["objects"]:
                answer = {"oid": item["oid"], "size": item["size"], "authenticated": True}
                if item["oid"] not in hub.lfs_objects:
                    answer["actions"] = {
                        "upload": {"href": f"{hub.cdn}/lfs/{item['oid']}", "header": {}},
                        "verify": {"href": f"{hub.endpoint}/{repo}.git/info/lfs/objects/verify", "header": {}},
                    }
                objects.append(answer)
            self._json(200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
                       content_type="application/vnd.git-lfs+json")

        def _store(self, sha: str) -> None:
            hub.lfs_objects[sha] = self.body  # storage keeps what it is sent; verify and commit check the hash
            self._send(200, {"Content-Length": "0", "ETag": f'"{hashlib.md5(self.body).hexdigest()}"'})

        def _commit(self, repo: str, revision: str) -> None:
            state = self._writable(repo)
            if revision not in state.refs:
                raise _Refused(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            files: dict[str, bytes] = {}
            deleted: list[str] = []
            for line in self.body.splitlines():
                item = json.loads(line)
                key, value = item["key"], item["value"]
                if key == "header" and value.get("parentCommit") not in (None, state.refs[revision]):
                    raise _Refused(412, None, "A commit has happened since. Please refresh and try again.")
                if key == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif key == "lfsFile":
                    stored = hub.lfs_objects.get(value["oid"])
                    if stored is None or sha256(stored) != value["oid"]:
                        raise _Refused(422, None, f"LFS pointer {value['path']} names an object not uploaded")
                    files[value["path"]] = stored
                elif key in ("deletedFile", "deletedFolder"):
                    deleted.append(value["path"])
            if any(PurePosixPath(path).is_absolute() or ".." in PurePosixPath(path).parts for path in files):
                raise _Refused(400, None, "Invalid path")
            with hub._lock:
                oid = hub.commit_locked(repo, files, revision, tuple(deleted))
            self._json(200, {"success": True, "commitOid": oid, "commitUrl": f"{hub.endpoint}/{repo}/commit/{oid}",
                             "hookOutput": "", "pullRequestUrl": None})

        # --- answers ---------------------------------------------------------------------------------------

        def _json(self, status: int, document: object, content_type: str = "application/json") -> None:
            body = json.dumps(document).encode()
            self._send(status, {"Content-Type": content_type, "Content-Length": str(len(body))})
            if self.command != "HEAD":
                self._write(body)

        def _write(self, data: bytes) -> None:
            try:
                self.wfile.write(data)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client was killed: nothing to answer
                self.close_connection = True

        def _error(self, refused: _Refused) -> None:
            body = json.dumps({"error": refused.message}).encode()
            headers = {"X-Error-Message": refused.message, "Content-Type": "application/json"}
            if refused.code:
                headers["X-Error-Code"] = refused.code
            self._send(refused.status, {**headers, "Content-Length": str(len(body)), **refused.headers})
            if self.command != "HEAD":
                self._write(body)

        def _send(self, status: int, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()

    return Handler
