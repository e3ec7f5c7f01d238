"""Accuracy metrics from per-video predictions, as pure functions of (true label, ranked predictions).

Only videos that were evaluated enter the metrics; missing and unreadable files are counted apart in the
report, so a number here always means "of the videos the model saw". Per-class and mean class accuracy are
over the classes that have at least one evaluated video (a class with none has no accuracy to average).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

CONFUSED_PAIRS = 10  # the most frequent (true, predicted) mistakes listed in the report


class Scored(NamedTuple):
    """One evaluated video: its label and the model's classes, best first (at least as many as the largest k)."""

    label: int
    ranked: Sequence[int]


def correct_at(item: Scored, k: int) -> bool:
    return item.label in item.ranked[:k]


def accuracy(items: Sequence[Scored], k: int = 1) -> float:
    """Top-k accuracy: the share of videos whose label is among the first k predictions (0 for no videos)."""
    return sum(correct_at(item, k) for item in items) / len(items) if items else 0.0


def per_class(items: Iterable[Scored]) -> dict[int, tuple[int, int]]:
    """Class index -> (top-1 correct, videos), for the classes that occur, in index order."""
    correct: Counter[int] = Counter()
    total: Counter[int] = Counter()
    for item in items:
        total[item.label] += 1
        correct[item.label] += correct_at(item, 1)
    return {label: (correct[label], total[label]) for label in sorted(total)}


def mean_class_accuracy(classes: dict[int, tuple[int, int]]) -> float:
    """The unweighted mean of per-class top-1 accuracy: each class counts once however many videos it has."""
    return sum(c / n for c, n in classes.values()) / len(classes) if classes else 0.0


def confused_pairs(items: Iterable[Scored], labels: Sequence[str],
                   limit: int = CONFUSED_PAIRS) -> list[tuple[str, str, int]]:
    """(true, predicted, count) of top-1 mistakes, most frequent first; ties by class name, so the list does not
    depend on the order of the model's label list."""
    counts = Counter((labels[item.label], labels[item.ranked[0]]) for item in items if item.ranked[0] != item.label)
    return sorted(((t, p, n) for (t, p), n in counts.items()), key=lambda x: (-x[2], x[0], x[1]))[:limit]


def summarize(items: Sequence[Scored], labels: Sequence[str]) -> dict[str, Any]:
    """The report's `metrics` section: top-1, top-5, mean class accuracy, per class, most confused pairs."""
    classes = per_class(items)
    return {
        "videos": len(items),
        "top1": accuracy(items, 1),
        "top5": accuracy(items, 5),
        "mean_class_accuracy": mean_class_accuracy(classes),
        "per_class": {labels[k]: {"accuracy": c / n, "correct": c, "videos": n} for k, (c, n) in classes.items()},
        "confused_pairs": [{"true": t, "predicted": p, "count": n} for t, p, n in confused_pairs(items, labels)],
    }
