"""The paper's ablation on the synthetic motion benchmark, run with `linvit synth`, `linvit train` and `linvit eval`.

Every variant is the demo architecture (`lvit-demo` in weights.toml) with some of the paper's ideas switched
off through `--config`; all get the same data, recipe, number of steps and seeds. Top-1 is measured by
`linvit eval` under the model's own protocol on a test set rendered with another seed than the training
data, so no test clip was seen in training. Runs are resumable: a finished run (its weights.toml and
eval report exist) is read back, not trained again, so an interrupted ablation continues where it stopped.

    python benchmarks/ablation.py --out bench-out/ablation                      # plain backgrounds, seeds 0-4
    python benchmarks/ablation.py --out bench-out/ablation-random --background random
    python benchmarks/ablation.py --out bench-out/ablation --markdown benchmarks/ablation-table.md

Prints (and with --markdown writes) the table: mean and sample standard deviation of top-1 over seeds,
each seed's top-1, how often top-1 is at least the right pair of time-reversed classes, and training
clips/s, followed by the exact commands that produced it.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MODEL = "lvit-demo"


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    config: dict[str, str]


VARIANTS = (
    Variant("softmax", "softmax attention (SDPA), no FF, no NA",
            {"attention": "softmax", "feature_fixation": "false", "neighbourhood_association": "false"}),
    Variant("linear", "linear attention, kernel ReLU(x) + 1/sqrt(head dim) (the baseline)",
            {"feature_fixation": "false", "neighbourhood_association": "false"}),
    Variant("linear+ff", "+ feature fixation", {"neighbourhood_association": "false"}),
    Variant("linear+na", "+ neighbourhood association (no FF)", {"feature_fixation": "false"}),
    Variant("linear+ff+na", "+ feature fixation + neighbourhood association (LViT)", {}),
)

# The recipe for a small model from scratch (train/recipe.py says why AdamW): 8 epochs of 4,800 clips.
RECIPE = ["--epochs", "8", "--batch-size", "16", "--optimizer", "adamw", "--lr", "2e-3", "--weight-decay", "0.05",
          "--clip-grad", "1", "--warmup-epochs", "0.5", "--label-smoothing", "0.1", "--mixup", "0",
          "--jitter", "32", "40"]


def linvit(*args: object, log: list[str]) -> None:
    """Run one linvit command (recorded in `log`), its output going to this process's stderr."""
    command = ["linvit", *map(str, args)]
    log.append(shlex.join(command))
    print(f"$ {log[-1]}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "linvit_cli", *map(str, args)], check=True)


def make_data(args: argparse.Namespace, log: list[str]) -> tuple[Path, Path]:
    """Training + validation clips (seed `args.data_seed`) and test clips (seed `args.test_seed`)."""
    common = ["--size", "32", "--frames", "16", "--background", args.background, "--workers", args.workers]
    data, test = args.out / "data", args.out / "test"
    if not (data / "labels.txt").is_file():
        linvit("synth", data, "--train", args.train, "--validation", args.validation, "--seed", args.data_seed,
               "--force", *common, log=log)
    if not (test / "labels.txt").is_file():
        linvit("synth", test, "--train", 0, "--validation", args.test, "--seed", args.test_seed, "--force",
               *common, log=log)
    return data, test


def run(variant: Variant, seed: int, data: Path, test: Path, args: argparse.Namespace,
        log: list[str]) -> dict[str, float]:
    """Train (or resume) one variant with one seed and evaluate it on the test clips."""
    out = args.out / "runs" / f"{variant.name.replace('+', '-')}-s{seed}"
    name = f"ablation-{variant.name.replace('+', '-')}-s{seed}"
    registry = out / "weights.toml"
    if not registry.is_file():
        config = [item for key, value in variant.config.items() for item in ("--config", f"{key}={value}")]
        linvit("train", "--model", MODEL, *config, "--dataset", "ssv2", "--root", data, "--val-annotations",
               data / "something-something-v2-validation.json", "--out", out, "--name", name, "--seed", seed,
               *RECIPE, "--workers", args.workers, "--device", args.device, "--resume", "auto", log=log)
    report = out / "eval" / "report.json"
    if not report.is_file() or json.loads(report.read_text())["status"] != "complete":
        linvit("eval", "--dataset", "ssv2", "--root", test, "--registry", registry, "--model", name,
               "--out", out / "eval", "--workers", args.workers, "--device", args.device, "--resume", log=log)
    epochs = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    epochs = [e for e in epochs if e["event"] == "epoch"]
    metrics = json.loads(report.read_text())["metrics"]
    predictions = [json.loads(line) for line in (out / "eval" / "predictions.jsonl").read_text().splitlines()]
    # classes 2i and 2i + 1 are each other played backwards (synth/classes.py): a model blind to the order
    # of frames can name the pair every time, but the class only half the time
    pair = statistics.fmean(p["top_k"][0]["index"] // 2 == p["label_index"] // 2 for p in predictions)
    return {"top1": 100 * metrics["top1"], "pair": 100 * pair, "val_top1": 100 * epochs[-1]["val_top1"],
            "clips_per_s": statistics.fmean(e["clips_per_s"] for e in epochs), "final_loss": epochs[-1]["loss"],
            "weights": str(out / "model.safetensors")}


def table(results: dict[str, dict[int, dict[str, float]]], args: argparse.Namespace, log: list[str]) -> str:
    seeds = sorted({s for per_seed in results.values() for s in per_seed})
    head = ["| variant | what | top-1 mean ± std | " + " | ".join(f"seed {s}" for s in seeds)
            + " | right pair | clips/s |",
            "|---|---|---|" + "---|" * len(seeds) + "---|---|"]
    rows = []
    for variant in VARIANTS:
        if variant.name not in results:
            continue
        tops = [results[variant.name][s]["top1"] for s in seeds]
        spread = f"{statistics.fmean(tops):.1f} ± {statistics.stdev(tops):.1f}" if len(tops) > 1 else f"{tops[0]:.1f}"
        pair = statistics.fmean(results[variant.name][s]["pair"] for s in seeds)
        speed = statistics.fmean(results[variant.name][s]["clips_per_s"] for s in seeds)
        rows.append(f"| {variant.name} | {variant.description} | {spread} | "
                    + " | ".join(f"{t:.1f}" for t in tops) + f" | {pair:.1f} | {speed:.0f} |")
    setup = (f"Benchmark: `linvit synth`, {args.background} backgrounds, 32 px, 16 frames, {args.train} training "
             f"clips (seed {args.data_seed}); top-1 on {args.test} test clips of seed {args.test_seed} with the "
             f"model's protocol (8 frames, 2 temporal views); std is the sample standard deviation over seeds; "
             f"right pair: top-1 is the true class or its time reversal (mean over seeds).")
    commands = "\n".join(log) or "(every run was already complete)"
    return "\n".join([setup, "", *head, *rows, "", "Commands:", "", "```sh", commands, "```", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="Folder for data, runs and results.json.")
    parser.add_argument("--background", choices=("plain", "random"), default="plain")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--variants", nargs="+", choices=[v.name for v in VARIANTS], default=None)
    parser.add_argument("--train", type=int, default=4800)
    parser.add_argument("--validation", type=int, default=600)
    parser.add_argument("--test", type=int, default=600)
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--test-seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--markdown", type=Path, help="Also write the table to this file.")
    args = parser.parse_args()

    log: list[str] = []
    data, test = make_data(args, log)
    chosen = [v for v in VARIANTS if args.variants is None or v.name in args.variants]
    results: dict[str, dict[int, dict[str, float]]] = {}
    for seed in args.seeds:  # seed-major: a partial ablation already compares every variant
        for variant in chosen:
            results.setdefault(variant.name, {})[seed] = run(variant, seed, data, test, args, log)
            (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    text = table(results, args, log)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
