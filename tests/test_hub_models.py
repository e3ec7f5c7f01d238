"""`hf://` models and `linvit push`, end to end: the real huggingface_hub client against the loopback Hub.

A tiny LViT is trained once (`linvit train`, one epoch) and evaluated (`linvit eval`); the tests push it, run it
as `hf://owner/repo` from an empty cache, and run bad repositories built from its files with one fault each.
huggingface_hub reads HF_ENDPOINT when imported, so Hub commands run in a child process; `run_many` runs a list
of commands through the real entry point in one child, which pays for starting Python and torch once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hub_server import FakeHub, sha256
from test_hub import errors
from test_train import TINY_CLIPS, TINY_MODEL

from linvit_cli.registry.load import read_registry_file

OWNER, TOKEN = "linvit-test", "write-token"
REPO = f"{OWNER}/tiny-synth"
NAME = "tiny-synth"  # the registry name `linvit train` gives the model
_CHILD = """
import contextlib, io, json, sys
from linvit_cli.cli.app import main
results = []
for args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def cli(*args: object) -> None:
    """`linvit ARGS` in this process, for commands that never reach the Hub; must succeed."""
    from linvit_cli.cli.app import main

    try:
        main([str(a) for a in args])
    except SystemExit as done:
        assert done.code in (0, None), args


def run_many(env: dict[str, str], *commands: list[object]) -> list[tuple[int, str, str]]:
    """Each command's exit code, stdout and stderr, all run by `linvit`'s entry point in one child process."""
    listed = json.dumps([[str(a) for a in command] for command in commands])
    done = subprocess.run([sys.executable, "-c", _CHILD, listed], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return [tuple(result) for result in json.loads(done.stdout.splitlines()[-1])]


@pytest.fixture(scope="module")
def trained(synth_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """run/ from `linvit train` and eval/report.json from `linvit eval` of it."""
    out = tmp_path_factory.mktemp("trained")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cli("train", *TINY_MODEL, *TINY_CLIPS, "--root", synth_root, "--out", out / "run", "--workers", "0",
            "--epochs", "1", "--name", NAME)
        cli("eval", "--dataset", "ssv2", "--root", synth_root, "--registry", out / "run" / "weights.toml", "--model",
            NAME, "--out", out / "eval", "--workers", "0")
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture
def hub():
    server = FakeHub(tokens={TOKEN: OWNER}).start()
    yield server
    server.stop()


def hub_env(hub: FakeHub, home: Path, token: str | None = None) -> dict[str, str]:
    """A child's environment: our Hub, its own HF_HOME, and uploads over Git LFS (HF_HUB_DISABLE_XET, because
    huggingface_hub uploads through Xet whenever hf_xet is installed, which no loopback server can answer)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE_"))}
    env.update(HF_ENDPOINT=hub.endpoint, HF_HOME=str(home), HF_HUB_DISABLE_XET="1", OMP_NUM_THREADS="1")
    return {**env, "HF_TOKEN": token} if token else env


def clip(synth_root: Path) -> Path:
    return sorted((synth_root / "videos").iterdir())[0]


def incomplete(home: Path) -> list[Path]:
    return list(home.rglob("*.incomplete"))


def test_dry_run_writes_the_card_the_hub_parses(trained, tmp_path, run_cli):
    from huggingface_hub import ModelCard

    report = json.loads((trained / "eval" / "report.json").read_text())
    done = run_cli("push", trained / "run", REPO, "--report", trained / "eval" / "report.json", "--license",
                   "apache-2.0", "--dataset-id", "synth-motion", "--dry-run", tmp_path / "dry")
    assert done.code == 0, done.err
    assert sorted(p.name for p in (tmp_path / "dry").iterdir()) == [
        "README.md", "labels.txt", "linvit.toml", "model.safetensors"]
    card = ModelCard((tmp_path / "dry" / "README.md").read_text())
    data = card.data
    assert (data.library_name, data.pipeline_tag, data.license) == ("linvit", "video-classification", "apache-2.0")
    assert data.datasets == ["synth-motion"] and {"linvit", "lvit", "lvit_tiny"} <= set(data.tags)
    assert data.model_name == REPO
    top1, top5 = data.eval_results
    for result, key in ((top1, "top1"), (top5, "top5")):
        assert (result.task_type, result.dataset_type, result.dataset_split) == (
            "video-classification", "synth-motion", "validation")
        assert result.metric_value == round(100 * report["metrics"][key], 2)
        assert result.metric_args == {"frames": 8, "sampling": "segment", "views": "2x3", "short_side": 32,
                                      "crop": 32, "combine": "logit_sum"}
    assert (top1.metric_type, top5.metric_type) == ("top-1 accuracy", "top-5 accuracy")
    # the card round-trips through huggingface_hub's parser unchanged
    assert ModelCard(str(card)).data.to_dict() == data.to_dict()
    text = card.text
    assert f"linvit classify clip.mp4 --model hf://{REPO}" in text
    assert "Lu et al., 2022" in text and "eprint        = {2210.08164}" in text and "archivePrefix = {arXiv}" in text
    assert "Lu, Kaiyue and Liu, Zexiang and Wang, Jianyuan and Sun, Weixuan and Qin, Zhen and Li, Dong" in text
    assert f"{report['metrics']['top1']:.2%}" in text
    entries, default = read_registry_file(tmp_path / "dry" / "linvit.toml")
    entry = entries[NAME]
    assert default is None and entry.num_classes == 12
    assert entry.weights.sha256 == sha256((trained / "run" / "model.safetensors").read_bytes())


def test_the_card_says_what_the_model_was_trained_and_tested_on_and_no_local_path(trained, tmp_path, run_cli,
                                                                                    synth_root):
    from huggingface_hub import ModelCard

    done = run_cli("push", trained / "run", REPO, "--report", trained / "eval" / "report.json", "--dry-run",
                   tmp_path / "dry")
    assert done.code == 0, done.err
    card = ModelCard((tmp_path / "dry" / "README.md").read_text())
    assert card.data.datasets is None  # synthetic clips are no Hub dataset, and no ssv2
    top1, _ = card.data.eval_results
    assert (top1.dataset_type, top1.dataset_name) == ("synth-motion", "linvit's synthetic motion benchmark (12 "
                                                      "classes of shapes moving, turning, appearing or flashing; "
                                                      "random backgrounds)")
    assert "the 12 classes of linvit's synthetic motion benchmark" in card.text and "classes of ssv2" not in card.text
    assert "made with `linvit synth DATA --train 48 --validation 24 --seed 0 --size 32 --frames 8" in card.text
    assert f"linvit eval --dataset ssv2 --root DATA --model hf://{REPO}" in card.text
    entry = read_registry_file(tmp_path / "dry" / "linvit.toml")[0][NAME]
    assert entry.dataset == "synth-motion" and "--root ROOT --out OUT" in entry.meta["command"]
    for name in ("README.md", "linvit.toml", "labels.txt"):
        text = (tmp_path / "dry" / name).read_text()
        for local in (synth_root, trained, synth_root.name, trained.name):
            assert str(local) not in text, (name, local)


def test_push_then_run_from_an_empty_cache_as_the_local_model(trained, hub, tmp_path, run_cli, synth_root):
    video = clip(synth_root)
    local = run_cli("classify", video, "--registry", trained / "run" / "weights.toml", "--model", NAME, "--json")
    assert local.code == 0, local.err
    hub.commit(f"{OWNER}/popular", {"README.md": b"---\nlibrary_name: linvit\ntags: [linvit]\n---\n"})
    hub.repos[f"{OWNER}/popular"].downloads, hub.repos[f"{OWNER}/popular"].likes = 5, 2
    hub.commit(f"{OWNER}/other", {"README.md": b"---\nlibrary_name: timm\n---\n"})
    home = tmp_path / "hf"
    model = f"hf://{REPO}"
    pushed, refused, as_json, as_table, evaluated, listed = run_many(
        hub_env(hub, home, TOKEN),
        ["push", trained / "run", REPO, "--report", trained / "eval" / "report.json", "--license", "apache-2.0"],
        ["push", trained / "run", "someone-else/tiny"],
        ["classify", video, "--model", model, "--json"],
        ["classify", video, "--model", model],
        ["eval", "--dataset", "ssv2", "--root", synth_root, "--model", model, "--out", tmp_path / "eval",
         "--workers", "0", "--limit", "2"],
        ["models", "--hub", "--json"])
    commit = hub.repos[REPO].refs["main"]
    assert pushed[0] == 0, pushed[2]
    assert pushed[1].strip() == f"{hub.endpoint}/{REPO}/commit/{commit}"
    assert not hub.repos[REPO].private
    # one commit holding exactly the dry run's files, the weights through the LFS batch API (not Xet)
    dry = tmp_path / "dry"
    assert run_cli("push", trained / "run", REPO, "--report", trained / "eval" / "report.json", "--license",
                   "apache-2.0", "--dry-run", dry).code == 0
    assert hub.files(REPO) == {".gitattributes": hub.files(REPO)[".gitattributes"],
                               **{p.name: p.read_bytes() for p in dry.iterdir()}}
    weights_sha = sha256((dry / "model.safetensors").read_bytes())
    assert [r.path for r in hub.requests if r.method == "PUT"] == [f"/lfs/{weights_sha}"]
    assert sum(r.path.startswith(f"/api/models/{REPO}/commit/") for r in hub.requests) == 1

    assert refused[0] == 1
    [line] = errors(refused[2])
    assert "may not write to someone-else/tiny (HTTP 403)" in line

    # the Hub model classifies as the run's own weights.toml does, and says which commit it was read at
    assert as_json[0] == 0, as_json[2]
    document, expected = json.loads(as_json[1]), json.loads(local.out)
    assert (document["model"], document["commit"]) == (model, commit)
    [record], [reference] = document["results"], expected["results"]
    assert record["commit"] == commit and reference["commit"] is None
    assert [p["label"] for p in record["top_k"]] == [p["label"] for p in reference["top_k"]]
    assert [p["probability"] for p in record["top_k"]] == pytest.approx(
        [p["probability"] for p in reference["top_k"]], abs=1e-6)
    assert f"{model} @ {commit[:12]}" in as_table[1].splitlines()[0]

    # each run asks the Hub once which commit `main` is, then reads every file at that commit
    infos = [r for r in hub.requests if r.method == "GET" and r.path.split("?")[0] == f"/api/models/{REPO}"]
    assert len(infos) == 3  # classify, classify, eval (which names the model in three places)
    first_run = sorted({r.path for r in hub.requests if r.method == "HEAD" and f"/{REPO}/resolve/" in r.path})
    assert first_run == [f"/{REPO}/resolve/{commit}/labels.txt", f"/{REPO}/resolve/{commit}/model.safetensors",
                         f"/{REPO}/resolve/main/linvit.toml"]

    assert evaluated[0] == 0, evaluated[2]
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert report["model"]["name"] == model and report["model"]["commit"] == commit
    assert report["model"]["weights"] == {"hub": REPO, "file": "model.safetensors", "revision": commit,
                                          "sha256": weights_sha}

    assert listed[0] == 0, listed[2]
    rows = json.loads(listed[1])["models"]
    assert [(r["name"], r["downloads"], r["likes"]) for r in rows] == [
        (f"hf://{OWNER}/popular", 5, 2), (model, 0, 0)]

    # the commit and its files are cached: with the Hub gone, --offline resolves `main` from the cache's refs
    hub.stop()
    offline, fetched = run_many(hub_env(hub, home), ["classify", video, "--model", model, "--json", "--offline"],
                                ["download-weights", model, "--offline"])
    assert offline[0] == 0, offline[2]
    assert json.loads(offline[1])["results"][0]["top_k"] == record["top_k"]
    assert fetched[0] == 0 and fetched[1].startswith(f"{model}: ok, model.safetensors,") and "verified" in fetched[1]
    assert incomplete(home) == []


def _good_files(trained: Path) -> dict[str, bytes]:
    from linvit_cli.publish.folder import repo_folder

    folder = repo_folder(trained / "run", REPO, report=None, license="apache-2.0", datasets=[])
    return {**{k: v.encode() for k, v in folder.texts.items()}, "model.safetensors": folder.weights.read_bytes()}


def _edit(files: dict[str, bytes], old: str, new: str) -> dict[str, bytes]:
    toml = files["linvit.toml"].decode()
    assert old in toml
    return {**files, "linvit.toml": toml.replace(old, new, 1).encode()}


def test_bad_repositories_end_in_one_line_and_leave_the_cache_clean(trained, hub, tmp_path, synth_root):
    good = _good_files(trained)
    weights = good["model.safetensors"]
    sha = sha256(weights)
    pickle = _edit(good, 'weights = { path = "model.safetensors", format = "safetensors", sha256 = ',
                   'weights = { path = "model.pth", format = "lvit-pyth", sha256 = ')
    del pickle["model.safetensors"]
    pickle["model.pth"] = b"PK\x03\x04 a zipped pickle"
    config = good["linvit.toml"].decode().split("config = ", 1)[1].split("\n", 1)[0]
    labels = good["labels.txt"].decode().splitlines()
    cases = {  # repository -> (its files, exit code, what the one line says)
        "pickle": (pickle, 2, "an hf:// model is loaded from safetensors only, never from a pickle"),
        "unknown-arch": (_edit(good, 'arch = "lvit_tiny"', 'arch = "resnet_50"'), 2,
                         "linvit.toml: unknown architecture 'resnet_50'"),
        "schema": (_edit(good, "arch = ", 'colour = "blue"\narch = '), 2, f"[models.{NAME}] unknown key colour"),
        "oversize": (_edit(good, config, config.replace("embed_dim = 32", "embed_dim = 16384")), 2,
                     "an hf:// model may have at most 1,000 M (counted on PyTorch's meta device"),
        "label-count": ({**good, "labels.txt": "".join(f"{x}\n" for x in labels[:-1]).encode()}, 2,
                        "labels.txt has 11 labels, labels.num_classes says 12"),
        "no-labels": ({k: v for k, v in good.items() if k != "labels.txt"}, 2, ") has no labels.txt;"),
        "no-weights": ({k: v for k, v in good.items() if k != "model.safetensors"}, 2, ") has no model.safetensors;"),
        "no-config": ({k: v for k, v in good.items() if k != "linvit.toml"}, 2, ") has no linvit.toml;"),
        "escape": (_edit(good, 'labels = { file = "labels.txt"', 'labels = { file = "../../../../etc/passwd"'), 2,
                   "labels.file '../../../../etc/passwd' must be a file inside the repository"),
        "wrong-pin": (_edit(good, sha, "0" * 64), 2, f"has the LFS sha256 {sha}, but linvit.toml pins {'0' * 64}"),
        "gated": (good, 1, f"the files of hf://{OWNER}/gated are in the gated {OWNER}/gated: accept its terms at"),
        "private": (good, 1, "not found at http://127.0.0.1"),
        "tampered": (good, 1, "failed verification: sha256"),
    }
    for name, (files, _, _) in cases.items():
        hub.commit(f"{OWNER}/{name}", files, private=name == "private")
    hub.gated[f"{OWNER}/gated"] = "granted-token"
    flipped = bytearray(weights)
    flipped[-1] ^= 1
    hub.substitute[sha] = bytes(flipped)  # the CDN serves other bytes than the Hub's LFS hash says
    named = {f"hf://{OWNER}/{name}": (code, message) for name, (_, code, message) in cases.items()}
    named |= {f"hf://{OWNER}/gated@v9": (1, f"revision v9 not found in {OWNER}/gated; check the revision after @"),
              f"hf://{OWNER}/absent": (1, f"repository {OWNER}/absent not found at"),
              "hf://no-owner": (2, "'hf://no-owner' is not a Hub model name")}
    home = tmp_path / "hf"
    video = clip(synth_root)
    results = run_many(hub_env(hub, home), *(["classify", video, "--model", model] for model in named))
    for (model, (code, message)), (got, _, err) in zip(named.items(), results, strict=True):
        assert got == code, (model, err)
        [line] = errors(err)
        assert message in line, (model, line)
    # nothing half-written; the tampered file and its blob are gone; refused weights were never downloaded
    assert incomplete(home) == []
    blobs = {p.name for p in home.rglob("blobs/*")}
    assert sha not in blobs
    assert not list(home.rglob("snapshots/*/model.safetensors"))


def test_push_refusals_before_any_upload(trained, tmp_path, run_cli, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    for args, code, message in (
        ((trained / "run", REPO), 2, "linvit push needs a Hub token with write access: set HF_TOKEN"),
        ((trained / "run", "not a repo"), 2, "'not a repo' is not a Hub repository id"),
        ((tmp_path, REPO), 2, "has no weights.toml: give the --out folder of a finished `linvit train`"),
        ((trained / "run", REPO, "--report", tmp_path / "absent.json"), 2, "absent.json: no such file"),
        ((trained / "run", REPO, "--report", trained / "run" / "labels.txt"), 2, "cannot be read as JSON"),
    ):
        done = run_cli("push", *args)
        assert done.code == code, done.err
        [line] = errors(done.err)
        assert message in line
    other = json.loads((trained / "eval" / "report.json").read_text())
    other["model"]["weights"]["sha256"] = "0" * 64
    (tmp_path / "other.json").write_text(json.dumps(other))
    done = run_cli("push", trained / "run", REPO, "--report", tmp_path / "other.json", "--dry-run", tmp_path / "x")
    assert done.code == 2 and "evaluated other weights (sha256 0000" in errors(done.err)[0]
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(("model", "cited", "not_cited"), [
    ("videomamba-t16-ssv2-f8", ("Li et al., 2024", "eprint        = {2403.06977}", "Li, Kunchang and Li, Xinhao"),
     "2210.08164"),
    ("lvit-ssv2", ("Lu et al., 2022", "eprint        = {2210.08164}", "Lu, Kaiyue and Liu, Zexiang"), "2403.06977"),
])
def test_the_card_cites_the_paper_of_the_architecture(model, cited, not_cited):
    from linvit_cli.publish.card import model_card
    from linvit_cli.registry.load import load_registry

    entry = load_registry().get(model)
    card = model_card(entry, "me/model", parameters=1, license="apache-2.0", datasets=[], report=None, files={})
    assert all(text in card for text in cited) and not_cited not in card
    assert "model-index" not in card and "model_name" not in card  # no figures without an eval report
