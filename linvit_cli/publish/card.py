"""The model card (README.md) of a pushed model: YAML front matter the Hub reads, then a body for people.

The front matter is written by huggingface_hub's `ModelCardData` (`library_name: linvit`, `pipeline_tag`,
`license`, `datasets`, `tags`, and a `model-index` of top-1/top-5 from an eval report with the protocol that
produced them), so it is in the form the Hub parses. The body says what the model is, how it was tested, its
figures, how to run it with linvit, and cites the paper of its architecture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..datasets import BENCHMARKS
from ..registry.schema import ModelEntry
from ..registry.write import toml_value

TASK = "video-classification"


@dataclass(frozen=True)
class Paper:
    """The paper an architecture family comes from."""

    what: str  # one phrase: what the architecture is
    title: str
    authors: tuple[str, ...]  # "Last, First", in the paper's order
    year: int
    arxiv: str

    @property
    def cite(self) -> str:
        return f"{self.authors[0].split(',')[0]} et al., {self.year}"

    @property
    def bibtex(self) -> str:
        key = f"{self.authors[0].split(',')[0].lower()}{self.year}{self.title.split()[0].lower().strip(':')}"
        fields = {"title": self.title, "author": " and ".join(self.authors),
                  "journal": f"arXiv preprint arXiv:{self.arxiv}", "year": str(self.year), "eprint": self.arxiv,
                  "archivePrefix": "arXiv", "primaryClass": "cs.CV"}
        return "\n".join([f"@article{{{key},", *(f"  {k:<13} = {{{v}}}," for k, v in fields.items()), "}"])


PAPERS = {
    "lvit": Paper(
        what="LViT, a video Transformer with linear attention, feature fixation and neighbourhood association",
        title="Linear Video Transformer with Feature Fixation", year=2022, arxiv="2210.08164",
        authors=("Lu, Kaiyue", "Liu, Zexiang", "Wang, Jianyuan", "Sun, Weixuan", "Qin, Zhen", "Li, Dong",
                 "Shen, Xuyang", "Deng, Hui", "Han, Xiaodong", "Dai, Yuchao", "Zhong, Yiran")),
    "videomamba": Paper(
        what="VideoMamba, a bidirectional state-space model (Mamba) over the video's patch tokens",
        title="VideoMamba: State Space Model for Efficient Video Understanding", year=2024, arxiv="2403.06977",
        authors=("Li, Kunchang", "Li, Xinhao", "Wang, Yi", "He, Yinan", "Wang, Yali", "Wang, Limin", "Qiao, Yu")),
}


def family(arch: str) -> str:
    """The architecture family of a registered builder: the package under linvit_cli/models it lives in."""
    from ..models.architectures import get_architecture

    return get_architecture(arch).builder.__module__.split(".")[2]


def model_card(entry: ModelEntry, repo_id: str, *, parameters: int, license: str, datasets: list[str],
               report: dict[str, Any] | None, files: dict[str, str]) -> str:
    """README.md text; `files` maps the repository's files to what they are, for the card's file list."""
    from huggingface_hub import ModelCardData

    kind = family(entry.arch)
    trained_on = entry.meta.get("trained_on")
    trained_on = trained_on if isinstance(trained_on, str) else entry.dataset
    hub_ids = datasets or ([entry.dataset] if entry.dataset in BENCHMARKS else [])  # what the Hub may link to
    results = {"model_name": repo_id, "eval_results": eval_results(report, datasets)} if report else {}
    data = ModelCardData(library_name="linvit", pipeline_tag=TASK, license=license, datasets=hub_ids or None,
                         tags=["linvit", kind, entry.arch, TASK], **results)
    paper = PAPERS[kind]
    made_with = entry.meta.get("data")
    body = [
        f"# {repo_id.split('/')[-1]}",
        "",
        f"A video classifier for the {entry.num_classes} classes of {trained_on}, trained with `linvit train`: "
        f"`{entry.arch}` ({parameters / 1e6:.2f} M parameters), {paper.what}, the architecture of *{paper.title}* "
        f"({paper.cite}, [arXiv {paper.arxiv}](https://arxiv.org/abs/{paper.arxiv})).",
        "",
        "## Use it with linvit",
        "",
        "```sh",
        f"linvit classify clip.mp4 --model hf://{repo_id}",
        f"linvit eval --dataset ssv2 --root DATA --model hf://{repo_id}    # or k400, k600, list",
        "```",
        "",
        "```python",
        "from linvit_cli import classify, load_model",
        "",
        f'records = classify("clip.mp4", model="hf://{repo_id}", top_k=3)',
        f'model = load_model("hf://{repo_id}")  # eval() module: (B, 3, T, H, W) normalised pixels -> logits',
        "```",
        "",
        f"`hf://{repo_id}@REVISION` reads another branch, tag or commit; every result records the commit it was "
        "read at. linvit loads only `model.safetensors` from this repository, after checking its sha256 against "
        "the Hub's.",
        "",
        "## Test protocol",
        "",
        *_protocol_table(entry),
        "",
        "## Results",
        "",
        *(_results(report, repo_id) if report else _no_report(entry)),
        "",
        "## Training",
        "",
        f"Data: {trained_on}" + (f", made with `{made_with}`." if isinstance(made_with, str) else "."),
        "",
        f"Architecture config (builder keyword arguments): `{toml_value(dict(entry.config))}`.",
        *(["", "Command:", "", "```sh", str(entry.meta["command"]), "```"] if entry.meta.get("command") else []),
        "",
        "## Files",
        "",
        *(f"- `{name}`: {what}" for name, what in files.items()),
        "",
        "## Citation",
        "",
        f"The architecture is that of {paper.cite}:",
        "",
        "```bibtex",
        paper.bibtex,
        "```",
    ]
    return f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(body) + "\n"


def eval_results(report: dict[str, Any], datasets: list[str]) -> list[Any]:
    """Top-1 and top-5 (in %) of an eval report, with the protocol that produced them, as model-index entries.

    The data is the one evaluated, as it names itself (`--dataset-id`, else its own name and description).
    """
    from huggingface_hub import EvalResult

    evaluated = report["dataset"]
    dataset = datasets[0] if datasets else evaluated.get("name") or "custom"
    name = evaluated.get("description") or dataset
    protocol, metrics = report["protocol"], report["metrics"]
    views = "x".join(map(str, protocol["views"]))
    args = {"frames": protocol["frames"], "sampling": protocol["sampling"], "views": views,
            "short_side": protocol["short_side"], "crop": protocol["crop"], "combine": protocol["combine"]}
    return [EvalResult(task_type=TASK, task_name="Video Classification", dataset_type=dataset, dataset_name=name,
                       dataset_split="validation", metric_type=f"top-{k} accuracy", metric_name=f"top-{k} accuracy",
                       metric_value=round(100 * metrics[f"top{k}"], 2), metric_config=f"{views} views",
                       metric_args=args)
            for k in (1, 5)]


def _protocol_table(entry: ModelEntry) -> list[str]:
    p = entry.protocol
    sampling = p.sampling + (f" (stride {p.stride} at {p.fps:g} fps)" if p.stride else "")
    return ["| frames | sampling | test views (clips x crops) | short side | crop | mean | std | views combined by |",
            "|---|---|---|---|---|---|---|---|",
            f"| {p.frames} | {sampling} | {p.views[0]}x{p.views[1]} | {p.short_side} | {p.crop} | {list(p.mean)} | "
            f"{list(p.std)} | {p.combine} |"]


def _results(report: dict[str, Any], repo_id: str) -> list[str]:
    data, metrics, protocol = report["dataset"], report["metrics"], report["protocol"]
    views = "x".join(map(str, protocol["views"]))
    override = protocol["overrides"].get("views")
    return ["| top-1 | top-5 | mean class accuracy | videos evaluated | test views |",
            "|---|---|---|---|---|",
            f"| {metrics['top1']:.2%} | {metrics['top5']:.2%} | {metrics['mean_class_accuracy']:.2%} | "
            f"{data['evaluated']} | {views}{f' ({override})' if override else ''} |",
            "",
            f"Measured with `linvit eval` on {data['evaluated']} videos of the {data['listed']} that "
            f"`{data['annotations'].rsplit('/', 1)[-1]}` lists ({data['missing']} missing, {data['unreadable']} "
            f"unreadable) of {data.get('description') or 'a dataset in ' + data['kind'] + ' layout'}, under the test "
            "protocol above. To measure it again (DATA: the dataset's folder"
            + (f", made with `{data['made_with']}`" if data.get("made_with") else "") + "):",
            "",
            "```sh",
            _eval_command(report, repo_id),
            "```"]


def _eval_command(report: dict[str, Any], repo_id: str) -> str:
    """The `linvit eval` of this model from the Hub on the same kind of data, its paths as placeholders."""
    kind = report["dataset"]["kind"]
    option = {"kinetics": "k400" if report["model"]["num_classes"] == 400 else "k600"}.get(kind, kind)
    words = ["linvit", "eval", "--dataset", option, "--root", "DATA"]
    words += ["--annotations", "ANNOTATIONS"] if kind != "ssv2" else []
    words += ["--model", f"hf://{repo_id}", *report["protocol"]["overrides"].get("views", "").split()]
    return " ".join(words)


def _no_report(entry: ModelEntry) -> list[str]:
    top1 = entry.meta.get("top1")
    line = "No `linvit eval` report was pushed with this model."
    if isinstance(top1, (int, float)):
        line += f" Top-1 on the validation clips during training (one centre view each): {top1:g}%."
    return [line]
