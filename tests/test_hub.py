"""The Hub layer and `linvit download-weights`, with the real huggingface_hub client and a loopback Hub.

huggingface_hub reads HF_ENDPOINT and HF_HOME when it is imported, so every command that must reach the server
runs in a subprocess with its own environment (`hub_env`); commands that never touch the network run
in-process through `run_cli`. `tests/hub_server.py` says which parts of the Hub's protocol the client needs.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hub_server import FakeHub

from linvit_cli import __version__
from linvit_cli.errors import HubError
from linvit_cli.hub import fetch_weights, is_cached
from linvit_cli.registry.load import load_registry
from linvit_cli.registry.schema import HubWeights

REPO = "linvit-test/tiny"
GATED = "linvit-test/gated"
REV = "0123456789abcdef0123456789abcdef01234567"
TINY, BIG = "tiny.safetensors", "big.bin"
CHUNK = 10 * 2**20  # huggingface_hub 2.4 writes downloads in 10 MiB chunks (constants.DOWNLOAD_CHUNK_SIZE)


@pytest.fixture(scope="module")
def tiny() -> bytes:
    import numpy as np
    from safetensors.numpy import save

    return save({"weight": np.arange(1024, dtype=np.float32).reshape(32, 32)})


@pytest.fixture(scope="module")
def big() -> bytes:
    """Larger than one download chunk, so a dropped connection leaves whole chunks to resume after."""
    return b"".join(hashlib.sha256(i.to_bytes(4, "little")).digest() for i in range((CHUNK + 2**20) // 32))


@pytest.fixture
def hub(tiny: bytes, big: bytes):
    server = FakeHub()
    server.add(REPO, REV, TINY, tiny)
    server.add(REPO, REV, BIG, big)
    server.add(GATED, REV, TINY, tiny)
    server.gated[GATED] = "granted-token"
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hf_home(tmp_path: Path) -> Path:
    return tmp_path / "hf"


@pytest.fixture
def hub_env(hub: FakeHub, hf_home: Path) -> dict[str, str]:
    """The environment of a `linvit` subprocess: our Hub, a fresh HF_HOME, no token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE_"))}
    return {**env, "HF_ENDPOINT": hub.endpoint, "HF_HOME": str(hf_home)}


def registry(tmp_path: Path, *models: tuple[str, str, str, str | None], revision: str = REV) -> Path:
    """A user weights.toml with one model per (name, repo, file, sha256 or None)."""
    (tmp_path / "labels.txt").write_text("a\nb\nc\n")
    text = ""
    for name, repo, file, sha in models:
        pin = f'sha256 = "{sha}", ' if sha else ""
        text += (
            f'[models.{name}]\narch = "videomamba_tiny"\ndataset = "test"\n'
            'config = { num_frames = 4, img_size = 64 }\nlabels = { file = "labels.txt" }\n'
            f'weights = {{ repo = "{repo}", file = "{file}", revision = "{revision}", {pin}'
            'format = "safetensors" }\n'
            'protocol = { frames = 4, sampling = "uniform", views = [1, 1], short_side = 64, crop = 64, '
            'mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5], combine = "softmax_mean" }\n\n'
        )
    path = tmp_path / "test-weights.toml"
    path.write_text(text)
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def linvit(env: dict[str, str], *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linvit_cli", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=120)


def snapshot(hf_home: Path, repo: str, file: str) -> Path:
    return hf_home / "hub" / f"models--{repo.replace('/', '--')}" / "snapshots" / REV / file


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def test_fresh_download_is_verified_and_lands_in_the_hub_cache(tmp_path, hub, hub_env, hf_home, tiny):
    reg = registry(tmp_path, ("test-tiny-f4", REPO, TINY, sha(tiny)))
    done = linvit(hub_env, "download-weights", "test-tiny-f4", "--registry", reg)
    assert done.returncode == 0, done.stderr
    path = snapshot(hf_home, REPO, TINY)
    assert path.is_symlink() and path.resolve() == path.parents[2] / "blobs" / sha(tiny)
    assert path.read_bytes() == tiny
    size = f"{len(tiny) / 1000:.1f} kB"
    assert done.stdout.strip() == f"test-tiny-f4: ok, {TINY}, {size}, sha256 verified, {path}"
    assert errors(done.stderr) == []
    head = next(r for r in hub.requests if r.method == "HEAD")
    assert head.headers["user-agent"].startswith(f"linvit/{__version__};")


def test_cached_weights_need_no_network(tmp_path, hub, hub_env, hf_home, tiny):
    reg = registry(tmp_path, ("test-tiny-f4", REPO, TINY, sha(tiny)))
    assert linvit(hub_env, "download-weights", "test-tiny-f4", "--registry", reg).returncode == 0
    hub.stop()
    seen = len(hub.requests)
    for extra in ((), ("--offline",)):
        again = linvit(hub_env, "download-weights", "test-tiny-f4", "--registry", reg, *extra)
        assert again.returncode == 0, again.stderr
        assert "sha256 verified" in again.stdout
    assert len(hub.requests) == seen
    weights = load_registry([reg]).get("test-tiny-f4").weights
    assert is_cached(weights, hf_home / "hub") == snapshot(hf_home, REPO, TINY)


def test_dropped_connection_is_resumed_with_a_range_request(tmp_path, hub, hub_env, hf_home, big):
    reg = registry(tmp_path, ("test-big-f4", REPO, BIG, sha(big)))
    hub.cut_after = CHUNK + 4096
    done = linvit(hub_env, "download-weights", "test-big-f4", "--registry", reg)
    assert done.returncode == 0, done.stderr
    first, second = hub.gets()
    assert "range" not in first.headers
    assert second.headers["range"] == f"bytes={CHUNK}-"  # whole chunks kept; the rest asked for again
    assert snapshot(hf_home, REPO, BIG).read_bytes() == big


def test_killed_download_starts_over_in_the_next_process(tmp_path, hub, hub_env, hf_home, big):
    """huggingface_hub 2.4 gives every download a process-unique `<etag>.<random>.incomplete` file (its PR
    #4228): a killed process's partial file is never resumed by the next one, nor removed."""
    reg = registry(tmp_path, ("test-big-f4", REPO, BIG, sha(big)))
    hub.stall_after = CHUNK + 4096
    args = [sys.executable, "-m", "linvit_cli", "download-weights", "test-big-f4", "--registry", str(reg)]
    proc = subprocess.Popen(args, env=hub_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    blobs = snapshot(hf_home, REPO, BIG).parents[2] / "blobs"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and CHUNK not in [p.stat().st_size for p in blobs.glob("*.incomplete")]:
        time.sleep(0.05)  # until the first chunk is on disk
    proc.kill()
    proc.wait()
    hub.release.set()
    partial = list(blobs.glob("*.incomplete"))
    assert [p.stat().st_size for p in partial] == [CHUNK]

    done = linvit(hub_env, "download-weights", "test-big-f4", "--registry", reg)
    assert done.returncode == 0, done.stderr
    assert "range" not in hub.gets()[-1].headers
    assert snapshot(hf_home, REPO, BIG).read_bytes() == big
    assert all(p.exists() for p in partial)


def test_sha256_mismatch_is_refused_and_removed(tmp_path, hub, hub_env, hf_home, tiny):
    reg = registry(tmp_path, ("test-tiny-f4", REPO, TINY, sha(b"the bytes we pinned")))
    done = linvit(hub_env, "download-weights", "test-tiny-f4", "--registry", reg)
    assert done.returncode == 1
    [line] = errors(done.stderr)
    assert f"'test-tiny-f4' ({TINY}) failed verification: sha256 {sha(tiny)}" in line
    assert "removed it from the cache" in line
    assert not os.path.lexists(snapshot(hf_home, REPO, TINY))
    assert not (snapshot(hf_home, REPO, TINY).parents[2] / "blobs" / sha(tiny)).exists()
    assert done.stdout.strip() == f"test-tiny-f4: failed, {TINY}"


def test_damaged_cached_file_is_refused_before_use(tmp_path, hub, hub_env, hf_home, tiny):
    reg = registry(tmp_path, ("test-tiny-f4", REPO, TINY, sha(tiny)))
    assert linvit(hub_env, "download-weights", "test-tiny-f4", "--registry", reg).returncode == 0
    path = snapshot(hf_home, REPO, TINY)
    blob = path.resolve()
    blob.write_bytes(tiny[:-1] + b"!")
    weights = load_registry([reg]).get("test-tiny-f4").weights
    with pytest.raises(HubError, match="failed verification"):
        fetch_weights(weights, name="test-tiny-f4", cache_dir=hf_home / "hub")
    assert not os.path.lexists(path) and not blob.exists()
    assert is_cached(weights, hf_home / "hub") is None


def test_unpinned_weights_print_their_hash(tmp_path, hub, hub_env, tiny):
    reg = registry(tmp_path, ("test-tiny-f4", REPO, TINY, None))
    done = linvit(hub_env, "download-weights", "test-tiny-f4", "--registry", reg)
    assert done.returncode == 0, done.stderr
    assert "sha256 not pinned" in done.stdout
    warning = " ".join(done.stderr.split())
    assert f"no pinned sha256 for 'test-tiny-f4' ({TINY}); got {sha(tiny)}: record it in weights.toml" \
        in warning


def test_offline_without_cache_is_one_line_exit_1(tmp_path, run_cli):
    reg = registry(tmp_path, ("test-tiny-f4", REPO, TINY, None))
    done = run_cli(
        "download-weights", "test-tiny-f4", "--offline", "--registry", reg, "--cache-dir", tmp_path
    )
    assert done.code == 1
    assert errors(done.err) == [
        f"Error: weights for 'test-tiny-f4' ({TINY}) are not cached and --offline is set; "
        "run `linvit download-weights test-tiny-f4` with network access"
    ]


def test_classify_without_the_default_weights_points_to_the_demo_model(tmp_path, run_cli):
    clip = Path(__file__).parents[1] / "examples" / "up.webm"
    done = run_cli("classify", clip, "--offline", "--cache-dir", tmp_path)
    assert done.code == 1
    [line] = errors(done.err)
    assert line.startswith("Error: weights for 'videomamba-s16-k400-f16' (")
    assert line.endswith("or classify offline now with the demo model in the package: --model lvit-demo")


def test_hf_hub_offline_without_cache_names_the_variable(tmp_path, hub, hub_env):
    reg = registry(tmp_path, ("test-tiny-f4", REPO, TINY, None))
    done = linvit({**hub_env, "HF_HUB_OFFLINE": "1"}, "download-weights", "test-tiny-f4", "--registry", reg)
    assert done.returncode == 1
    [line] = errors(done.stderr)
    assert "are not cached and HF_HUB_OFFLINE is set" in line
    assert hub.requests == []


@pytest.mark.parametrize(("token", "code", "message"), [
    (None, 1, f"weights for 'test-gated-f4' ({TINY}) are in the gated {GATED}: accept its terms at "),
    ("someone-else", 1, f"are in the gated {GATED}, closed to HF_TOKEN's account: accept its terms at "),
    ("granted-token", 0, None),
], ids=["no-token", "other-token", "granted-token"])
def test_gated_repository(tmp_path, hub, hub_env, tiny, token, code, message):
    reg = registry(tmp_path, ("test-gated-f4", GATED, TINY, sha(tiny)))
    env = {**hub_env, "HF_TOKEN": token} if token else hub_env
    done = linvit(env, "download-weights", "test-gated-f4", "--registry", reg)
    assert done.returncode == code, done.stderr
    if message:
        [line] = errors(done.stderr)
        assert message in line
    else:
        head, get = hub.requests[-2:]
        assert head.headers["authorization"] == "Bearer granted-token"
        assert "authorization" not in get.headers  # never sent to another origin (the CDN)


def test_hub_errors_are_one_line_each_and_the_batch_goes_on(tmp_path, hub, hub_env, tiny):
    reg = registry(
        tmp_path,
        ("test-norepo-f4", "linvit-test/absent", TINY, None),
        ("test-nofile-f4", REPO, "absent.safetensors", None),
        ("test-tiny-f4", REPO, TINY, sha(tiny)),
    )
    done = linvit(hub_env, "download-weights", "test-norepo-f4", "test-nofile-f4", "test-tiny-f4",
                  "--registry", reg)
    assert done.returncode == 1
    norepo, nofile = errors(done.stderr)
    assert "'test-norepo-f4' (tiny.safetensors): repository linvit-test/absent not found at http" in norepo
    assert f"'test-nofile-f4' (absent.safetensors): not found in {REPO} at {REV[:12]}" in nofile
    assert done.stdout.splitlines()[2].startswith("test-tiny-f4: ok,")

    other = registry(tmp_path, ("test-norev-f4", REPO, TINY, None), revision="f" * 40)
    done = linvit(hub_env, "download-weights", "test-norev-f4", "--registry", other)
    assert done.returncode == 1
    assert f"revision {'f' * 40} not found in {REPO}" in errors(done.stderr)[0]


def _hub_failure(cause: Exception) -> Exception:
    """What hf_hub_download raises when the Hub cannot be asked and nothing is cached: the cause chained."""
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        try:
            raise cause
        except Exception as err:
            raise LocalEntryNotFoundError("cannot find the requested files") from err
    except LocalEntryNotFoundError as err:
        return err


def test_unreachable_hub_and_server_errors_are_explained():
    """The messages for causes a loopback Hub cannot provoke in a test's time (a Hub that stays busy is retried
    for about 23 s), built as huggingface_hub raises them."""
    import httpx2
    from huggingface_hub import constants
    from huggingface_hub.errors import HfHubHTTPError

    from linvit_cli.hub import REGISTRY_HINTS, explain

    def _explain(err: Exception) -> str:
        return explain(err, f"weights for 'm' ({TINY})", REPO, REV, REGISTRY_HINTS, "m")

    refused = _explain(_hub_failure(httpx2.ConnectError("[Errno 111] Connection refused")))
    assert refused == (
        f"weights for 'm' ({TINY}) are not cached and {constants.ENDPOINT} could not be asked for them "
        "([Errno 111] Connection refused); check the network (or HF_ENDPOINT) and run again"
    )
    answer = httpx2.Response(503, request=httpx2.Request("HEAD", f"{constants.ENDPOINT}/{REPO}"))
    busy = HfHubHTTPError("503 Server Error\nmore", response=answer)
    assert _explain(_hub_failure(busy)) == (
        f"weights for 'm' ({TINY}): the Hub answered HTTP 503; try again later (503 Server Error)"
    )


def _closed_port() -> str:
    """An endpoint on a loopback port nothing listens on: connections to it are refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


UNREACHABLE = {"refused": (_closed_port, "could not be connected to"),
               "no-such-name": (lambda: "http://linvit-no-such-host.invalid", "could not be looked up")}


def _timed(env: dict[str, str], *args: object) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    done = linvit(env, *args)
    return done, time.monotonic() - start


@pytest.mark.parametrize("kind", UNREACHABLE)
@pytest.mark.parametrize("args", [("download-weights", "videomamba-s16-k400-f16"), ("download-weights", "hf://a/b"),
                                  ("models", "--hub")], ids=["registry-weights", "hub-model", "models-hub"])
def test_an_unreachable_hub_fails_at_once_with_one_line(tmp_path, kind, args):
    """A name that does not resolve or a refused connection is not retried (huggingface_hub would for ~23 s)."""
    endpoint, what = UNREACHABLE[kind][0](), UNREACHABLE[kind][1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    done, seconds = _timed({**env, "HF_ENDPOINT": endpoint, "HF_HOME": str(tmp_path / "hf")}, *args)
    assert done.returncode == 1, done.stderr
    [line] = errors(done.stderr)
    assert endpoint in line and what in line
    assert "retr" not in done.stderr.lower()
    assert seconds < 5, f"{seconds:.1f} s"


def test_classify_with_an_unreachable_hub_fails_as_fast_as_offline(tmp_path):
    """classify imports torch before it asks for the weights: beyond that, the Hub costs no time."""
    clip = Path(__file__).parents[1] / "examples" / "up.webm"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env = {**env, "HF_HOME": str(tmp_path / "hf")}
    offline, local = _timed(env, "classify", clip, "--offline")
    refused, seconds = _timed({**env, "HF_ENDPOINT": _closed_port()}, "classify", clip)
    assert (offline.returncode, refused.returncode) == (1, 1)
    [line] = errors(refused.stderr)
    assert "could not be connected to" in line and line.endswith("--model lvit-demo")
    assert seconds < local + 5, f"{seconds:.1f} s against {local:.1f} s offline"


def test_a_busy_hub_is_retried_with_a_line_per_retry(tmp_path, hub, hub_env, hf_home, tiny):
    reg = registry(tmp_path, ("test-tiny-f4", REPO, TINY, sha(tiny)))
    hub_env = {**hub_env, "HF_HUB_DISABLE_TELEMETRY": "1"}  # no agent-registry request before the ones counted
    hub.busy = 2  # hf_hub_download's first HEAD is never retried; its second is, once
    done = linvit(hub_env, "download-weights", "test-tiny-f4", "--registry", reg)
    assert done.returncode == 0, done.stderr
    assert snapshot(hf_home, REPO, TINY).read_bytes() == tiny
    assert " ".join(done.stderr.split()) == "Warning: 127.0.0.1: HTTP 503; retrying in 1 s (retry 1 of 5)"

    hub.busy = 1
    listed = linvit(hub_env, "models", "--hub", "--json")
    assert listed.returncode == 0, listed.stderr
    assert " ".join(listed.stderr.split()) == "Warning: 127.0.0.1: HTTP 503; retrying in 1 s (retry 1 of 5)"


def test_all_skips_unpublished_and_tries_every_model(tmp_path, hub, hub_env, tiny):
    """The packaged VideoMamba entries point at a repository this Hub lacks: they fail, the rest go on."""
    reg = registry(tmp_path, ("test-tiny-f4", REPO, TINY, sha(tiny)))
    done = linvit(hub_env, "download-weights", "--all", "--registry", reg)
    lines = done.stdout.splitlines()
    assert done.returncode == 1
    assert "lvit-k400: skipped, weights unpublished" in lines
    assert "lvit-ssv2: skipped, weights unpublished" in lines
    assert any(line.startswith("test-tiny-f4: ok,") for line in lines)
    hub_models = [e for e in load_registry() if isinstance(e.weights, HubWeights)]
    assert len(errors(done.stderr)) == len(hub_models)
    assert all("repository OpenGVLab/VideoMamba not found" in line for line in errors(done.stderr))


@pytest.mark.parametrize(("args", "message"), [
    ((), "name the models to download, or pass --all (not both)"),
    (("videomamba-s16-k400-f16", "--all"), "name the models to download, or pass --all (not both)"),
    (("no-such-model",), "unknown model 'no-such-model'; known models: lvit-demo, lvit-k400, lvit-k600,"),
    (("lvit-k400",), "no published weights for lvit-k400"),
    (("videomamba-s16-k400-f16", "--force", "--offline"), "--force downloads again and --offline forbids"),
])
def test_usage_errors_exit_2(run_cli, args, message):
    done = run_cli("download-weights", *args)
    assert done.code == 2
    [line] = errors(done.err)
    assert message in line


def test_unknown_model_lists_the_known_ones(run_cli):
    done = run_cli("download-weights", "videomamba-x16-k400-f16")
    assert done.code == 2
    assert "videomamba-s16-k400-f16" in done.err and "videomamba-m16-ssv2-mask-f16" in done.err


def test_help_imports_neither_torch_nor_huggingface_hub():
    code = ("import sys; from linvit_cli.cli.app import main\ntry: main(['download-weights', '--help'])\n"
            "except SystemExit: pass\n"
            "print(sorted(m for m in ('torch', 'huggingface_hub') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def _families_registered() -> bool:
    from linvit_cli.models.architectures import list_architectures

    return set(_ARCH.values()) | {"lvit_b16"} <= set(list_architectures())


@pytest.mark.skipif("not _families_registered()", reason="needs the LViT and VideoMamba builders")
def test_models_shows_which_weights_are_cached(tmp_path, hub, hub_env, hf_home, tiny, run_cli):
    import json

    reg = registry(tmp_path, ("test-tiny-f4", REPO, TINY, sha(tiny)))
    assert linvit(hub_env, "download-weights", "test-tiny-f4", "--registry", reg).returncode == 0
    done = run_cli("models", "--json", "--registry", reg, "--cache-dir", hf_home / "hub")
    assert done.code == 0, done.err
    rows = {row["name"]: (row["weights"], row["cached"]) for row in json.loads(done.out)["models"]}
    assert rows["test-tiny-f4"] == ("hub (cached)", True)
    assert rows["videomamba-s16-k400-f16"] == ("hub", False)
    assert rows["lvit-k400"] == ("unpublished", None)


# --- the packaged registry's VideoMamba entries (docs/weights.md#videomamba) -------------------------------

_NAME = re.compile(r"videomamba-(?P<size>[tsm])16-(?P<data>k400|ssv2)-(?P<mask>mask-)?f(?P<frames>\d+)")
_ARCH = {"t": "videomamba_tiny", "s": "videomamba_small", "m": "videomamba_middle"}


def test_packaged_videomamba_entries():
    reg = load_registry()
    entries = [entry for entry in reg if entry.name.startswith("videomamba")]
    assert reg.default == "videomamba-s16-k400-f16"
    names = {entry.name for entry in entries}
    wanted = {f"videomamba-{s}16-{d}-f{f}" for s in "tsm" for d in ("k400", "ssv2") for f in (8, 16)}
    assert wanted | {"videomamba-m16-k400-mask-f8", "videomamba-m16-k400-mask-f16",
                     "videomamba-m16-ssv2-mask-f8", "videomamba-m16-ssv2-mask-f16"} <= names
    for entry in entries:
        parts = _NAME.fullmatch(entry.name)
        assert parts, entry.name
        size, data, frames = parts["size"], parts["data"], int(parts["frames"])
        weights = entry.weights
        assert isinstance(weights, HubWeights)
        assert (weights.repo, weights.format) == ("OpenGVLab/VideoMamba", "videomamba-pth")
        assert weights.revision == "69502a732f8f69709cec9ed6c54d5345259fd825"
        mask = "_mask_ft" if parts["mask"] else ""
        assert weights.file == f"videomamba_{size}16_{data}{mask}_f{frames}_res224.pth"
        assert weights.sha256 is not None or "no sha256" in entry.meta["notes"], entry.name
        assert entry.arch == _ARCH[size]
        assert dict(entry.config) == {"num_frames": frames, "img_size": 224}
        protocol = entry.protocol
        assert (protocol.frames, protocol.short_side, protocol.crop) == (frames, 224, 224)
        assert protocol.mean == (0.485, 0.456, 0.406) and protocol.std == (0.229, 0.224, 0.225)
        assert protocol.combine == "softmax_mean"
        if data == "k400":
            assert (entry.dataset, entry.num_classes) == ("kinetics400", 400)
            assert entry.labels[0] == "riding a bike"  # VideoMamba's order, not alphabetical
            assert (protocol.sampling, protocol.views) == ("uniform", (4, 3))
        else:
            assert (entry.dataset, entry.num_classes) == ("ssv2", 174)
            assert (protocol.sampling, protocol.views) == ("tsn", (2, 3))
        assert entry.meta["license"] == "apache-2.0" and entry.meta["paper"] == "arXiv:2403.06977"
        assert isinstance(entry.meta["top1"], float)
    assert reg.get("videomamba-s16-k400-f16").weights.sha256 == (
        "311633e1a590744b1e5ac6bb50fe5eab1919b201e47bb6ed2d9e1e06813d64ac")
