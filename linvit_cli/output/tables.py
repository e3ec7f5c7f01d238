"""Human-readable rendering of classification records."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

BAR_WIDTH = 24
LABEL_STYLES = ("blue", "dark_orange", "green", "red", "cyan", "yellow", "magenta", "bright_blue", "bright_green",
                "bright_red", "bright_cyan", "bright_magenta")  # a label keeps its style along a timeline


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


def caution_note(model: str, caution: str) -> Text:
    """What to know about a model before trusting its labels (a toy model's caution), once above its results."""
    return Text(f"Note: {model} is {caution}.", style="yellow")


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


def timeline_header(document: dict[str, Any]) -> Text:
    """file · duration · fps · size · model · windows: what a timeline is made of, before its segments."""
    video, settings = document["video"], document["timeline"]
    crops = count(settings["crops"], "crop")
    length = clock(video["duration"]) if video["duration"] else "length unknown"
    parts = [length, f"{video['fps']:g} fps", f"{video['width']}x{video['height']}", document["model"],
             f"windows of {settings['window']:g} s every {settings['stride']:g} s",
             f"{settings['frames']} frames x {crops}"]
    text = Text(document["file"], style="bold")
    text.append("  " + " · ".join(parts), style="dim")
    if document["caution"]:
        text.append("\n").append(caution_note(document["model"], document["caution"]))
    return text


def segment_line(segment: dict[str, Any], label_width: int) -> Text:
    """start – end  label  mean probability  bar: one merged segment of a timeline."""
    style = LABEL_STYLES[segment["index"] % len(LABEL_STYLES)]
    p = segment["probability"]
    text = Text(f"{clock(segment['start']):>10} – {clock(segment['end']):<10}  ", style="dim")
    text.append(f"{segment['label'][:label_width]:<{label_width}}", style=f"bold {style}")
    text.append(f"  {p:6.1%}  ")
    text.append("█" * max(1, round(p * BAR_WIDTH / 2)), style=style)
    text.append(f"  {count(segment['windows'], 'window')}", style="dim")
    return text


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`1 window`, `2 windows`: a number and its noun, in the plural (`plural`, else noun + s) unless it is 1."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def clock(seconds: float) -> str:
    """hh:mm:ss, with tenths where the time is not a whole second."""
    whole = int(seconds)
    tenths = round((seconds - whole) * 10)
    if tenths == 10:
        whole, tenths = whole + 1, 0
    text = f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    return f"{text}.{tenths}" if tenths else text
