"""weights.toml: the packaged registry's content, user registries, and schema errors that name the place."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from linvit_cli.errors import RegistryError, UnknownModelError
from linvit_cli.models.architectures import create_model
from linvit_cli.registry.load import PACKAGED_REGISTRY, load_registry
from linvit_cli.registry.params import PACKAGED as PACKAGED_PARAMS
from linvit_cli.registry.params import config_key

ENTRY = """
[models.{name}]
arch = "lvit_b16"
dataset = "mine"
config = {{ embed_dim = 32, depth = 1, num_heads = 2 }}
labels = {{ file = "labels.txt" }}
weights = "unpublished"
protocol = {{ frames = 8, sampling = "segment", views = [1, 1], short_side = 64, crop = 64, mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5], combine = "logit_sum" }}
"""  # noqa: E501


def _user_registry(tmp_path: Path, body: str, labels: int = 3) -> Path:
    (tmp_path / "labels.txt").write_text("".join(f"label {i}\n" for i in range(labels)))
    path = tmp_path / "mine.toml"
    path.write_text(body)
    return path


def test_repository_root_weights_toml_is_the_packaged_one():
    root = Path(__file__).resolve().parents[1] / "weights.toml"
    assert root.read_text() == PACKAGED_REGISTRY.read_text()


def test_packaged_registry_has_the_papers_configs_unpublished():
    registry = load_registry()
    for name, classes in (("lvit-k400", 400), ("lvit-k600", 600), ("lvit-ssv2", 174)):
        entry = registry.get(name)
        assert not entry.has_weights and entry.num_classes == classes
    assert registry.get("lvit-k400").protocol.views == (4, 3)
    assert registry.get("lvit-ssv2").protocol.views == (2, 3)
    assert registry.get("lvit-k400").config["share_gate"] is False


@pytest.mark.parametrize("name", sorted(load_registry().entries))
def test_every_entry_builds_with_its_label_count_and_the_parameters_it_is_listed_with(name):
    entry = load_registry().get(name)
    with torch.device("meta"):
        model = create_model(entry.arch, **entry.build_kwargs())
    assert model.num_classes == entry.num_classes
    assert len(set(entry.labels)) == entry.num_classes
    listed = json.loads(PACKAGED_PARAMS.read_text()).get(config_key(entry))
    assert listed == sum(p.numel() for p in model.parameters()), (
        "linvit_cli/registry/params.json is out of date: python -c 'from linvit_cli.registry.params import "
        "write_packaged; write_packaged()'")


def test_models_lists_without_importing_torch_once_each_model_is_counted(tmp_path):
    path = _user_registry(tmp_path, ENTRY.format(name="my-model"))
    code = ("import json, sys; from linvit_cli.cli.app import main\n"
            "try: main(['models', '--registry', sys.argv[1], '--json'])\n"
            "except SystemExit as done: assert not done.code\n"
            "print('torch' in sys.modules, file=sys.stderr)")
    runs = [subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "LINVIT_CACHE": str(tmp_path / "cache")}) for _ in range(2)]
    assert [run.stderr.split()[-1] for run in runs] == ["True", "False"], runs[1].stderr  # counted once, then kept
    first, second = (json.loads(run.stdout)["models"] for run in runs)
    assert first == second and {m["name"]: m["params"] for m in first}["lvit-k400"] == 52389520


def test_user_registry_by_option_and_environment(tmp_path, run_cli, monkeypatch):
    path = _user_registry(tmp_path, ENTRY.format(name="my-model"))
    by_option = run_cli("models", "--registry", path, "--json")
    assert by_option.code == 0, by_option.err
    assert "my-model" in {m["name"] for m in json.loads(by_option.out)["models"]}
    monkeypatch.setenv("LINVIT_REGISTRY", str(path))
    assert load_registry().get("my-model").labels == ("label 0", "label 1", "label 2")


def test_models_table_lists_params_frames_views_and_weights(run_cli):
    result = run_cli("models")
    assert result.code == 0
    line = next(line for line in result.out.splitlines() if line.strip().startswith("lvit-k400 "))
    assert re.search(r"52\.4M\s+16\s+4x3\s+kinetics400\s+unpublished", line), line


def test_a_name_defined_twice_names_both_files(tmp_path):
    path = _user_registry(tmp_path, ENTRY.format(name="lvit-k400"))
    with pytest.raises(RegistryError, match=f"lvit-k400.*{re.escape(str(PACKAGED_REGISTRY))}.*{path.name}"):
        load_registry([path])


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(UnknownModelError, match="known models: .*lvit-k400.*lvit-ssv2"):
        load_registry().get("lvit-k999")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s.replace('dataset = "mine"', 'dataset = "mine"\ncolour = "red"'), r"\[models\.m\] unknown key colour"),
    (lambda s: s.replace('arch = "lvit_b16"\n', ""), r"\[models\.m\] missing key arch"),
    (lambda s: s.replace('"segment"', '"random"'), "protocol.sampling 'random' is not one of"),
    (lambda s: s.replace("views = [1, 1]", "views = [1]"), "protocol.views must be"),
    (lambda s: s.replace('"segment"', '"dense"'), "dense sampling needs protocol.stride"),
    (lambda s: s.replace("frames = 8", 'frames = "8"'), "protocol.frames must be an integer"),
    (lambda s: s.replace('"labels.txt"', '"nope.txt"'), "labels.file .*nope.txt cannot be read"),
    (lambda s: s.replace('labels = { file = "labels.txt" }', 'labels = { file = "labels.txt", num_classes = 4 }'),
     "has 3 labels, labels.num_classes says 4"),
    (lambda s: s.replace('weights = "unpublished"', 'weights = { repo = "a/b", file = "w.pth", revision = "main", '
                         'format = "videomamba-pth" }'), "full 40-hex commit id"),
    (lambda s: s.replace('weights = "unpublished"', 'weights = { repo = "not a repo", file = "w.pth", revision = "'
                         + "0" * 40 + '", format = "videomamba-pth" }'), "is not a Hub repository id"),
    (lambda s: s.replace('weights = "unpublished"', 'weights = { path = "w.safetensors", format = "pickle" }'),
     "weights.format 'pickle' is not one of"),
    (lambda s: s.replace("[models.m]", "[models.My_Model]"), "lowercase kebab-case"),
    (lambda s: s + "meta = { caution = true }\n", "meta.caution must be a string, not bool"),
    (lambda s: s.replace("config = {", "config = { num_classes = 3,"), "derived from the label file"),
    (lambda s: s + "\n[[", "not valid TOML"),
])
def test_schema_errors_name_the_file_table_and_key(tmp_path, edit, message):
    path = _user_registry(tmp_path, edit(ENTRY.format(name="m")))
    with pytest.raises(RegistryError, match=message) as err:
        load_registry([path])
    assert str(path) in str(err.value)


def test_a_broken_user_registry_is_a_usage_error_on_the_command_line(tmp_path, run_cli):
    path = _user_registry(tmp_path, ENTRY.format(name="m").replace("frames = 8", "frames = -1"))
    result = run_cli("models", "--registry", path)
    assert result.code == 2
    assert result.err.count("\n") == 1 and str(path) in result.err
