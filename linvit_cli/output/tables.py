"""Human-readable rendering of classification records."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

BAR_WIDTH = 24


def header(record: dict[str, Any]) -> Text:
    """file · duration · fps · size · frames x views · model (@ the Hub commit of its weights) · time taken."""
    video, sampling = record["video"], record["sampling"]
    clips, crops = sampling["views"]
    model = record["model"] + (f" @ {record['commit'][:12]}" if record.get("commit") else "")
    parts = [f"{video['duration']:.2f} s", f"{video['fps']:g} fps", f"{video['width']}x{video['height']}",
             f"{sampling['frames']} frames x {clips}x{crops} views", model, f"{record['seconds']:.2f} s"]
    text = Text(record["file"], style="bold")
    text.append("  " + " · ".join(parts), style="dim")
    return text


def predictions(record: dict[str, Any]) -> Table:
    """Rank, label, probability with a bar."""
    table = Table(show_edge=False, box=None, padding=(0, 1))
    table.add_column("#", justify="right", style="dim")
    table.add_column("label", overflow="fold")
    table.add_column("probability", justify="right")
    table.add_column("", no_wrap=True)
    for row in record["top_k"]:
        p = row["probability"]
        table.add_row(str(row["rank"]), row["label"], f"{p:.1%}",
                      Text("█" * round(p * BAR_WIDTH), style="green"))
    return table
