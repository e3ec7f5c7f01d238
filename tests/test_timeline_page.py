"""The `--html` page, opened in a real headless Chromium: what its script draws from the data it carries.

The segments, legend, cards and the top-k panel exist only once the page's script has run, so the DOM
Chromium dumps shows that it did. Without Chromium the test skips, except where LINVIT_REQUIRE_CHROMIUM=1
(CI installs it and sets that): there it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from videos import join_synth_clips, make_video, truncate

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("LINVIT_REQUIRE_CHROMIUM") == "1":
            pytest.fail("LINVIT_REQUIRE_CHROMIUM=1 but no chromium on PATH (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    return found


class Dom(HTMLParser):
    """Every element's tag and attributes, and the text inside the element whose id is `capture`."""

    def __init__(self, capture: str) -> None:
        super().__init__()
        self.elements: list[dict[str, str | None]] = []
        self.capture, self.depth, self.text = capture, 0, []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append({"tag": tag, **dict(attrs)})
        if self.depth or dict(attrs).get("id") == self.capture:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth and data.strip():
            self.text.append(data.strip())

    def having(self, **wanted: str) -> list[dict[str, str | None]]:
        """Elements with these attributes (`class_` matches one class among several)."""
        def matches(element: dict[str, str | None]) -> bool:
            return all(value in (element.get(key.rstrip("_")) or "").split() if key == "class_"
                       else element.get(key) == value for key, value in wanted.items())
        return [element for element in self.elements if matches(element)]


def test_page_opens_offline_and_shows_segments_legend_thumbnails_and_top_k(run_cli, tmp_path: Path) -> None:
    browser = chromium()
    join_synth_clips(tmp_path / "joined.mp4", 12)
    page = tmp_path / "timeline.html"
    result = run_cli("timeline", tmp_path / "joined.mp4", "--model", "lvit-demo", "--device", "cpu",
                     "--window", str(16 / 12), "--json", "--html", page)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    source = page.read_text()
    assert "http://" not in source and "https://" not in source  # nothing to fetch: it opens offline
    assert 'class="segment"' not in source  # the script draws the segments, the file only carries data
    chosen = doc["windows"][5]
    done = subprocess.run([browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                           f"{page.as_uri()}#t={chosen['start']}"], capture_output=True, timeout=120, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = Dom(capture="details-body")
    dom.feed(done.stdout)
    assert dom.having(tag="body", **{"data-ready": "true"}), "the page's script did not run to its end"
    (caution,) = dom.having(id="caution")  # the demo model says what it is
    assert "hidden" not in caution
    segments = dom.having(class_="segment")
    assert len(segments) == len(doc["segments"]) > 1
    assert [s["title"].split("  ")[0] for s in segments] == [s["label"] for s in doc["segments"]]
    assert len(dom.having(class_="legend-item")) == len({s["label"] for s in doc["segments"]})
    images = [e["src"] for e in dom.having(tag="img")]
    assert len(images) == len(doc["segments"])
    assert all(src.startswith("data:image/jpeg;base64,") and len(src) > 200 for src in images)
    # the window the link points at, with its top-k in order
    assert f"Window 6 of {len(doc['windows'])}" in dom.text[0]
    assert [text for text in dom.text if text in {r["label"] for r in chosen["top_k"]}] == \
        [r["label"] for r in chosen["top_k"]]


def test_a_cut_short_video_has_label_shares_of_the_time_its_segments_cover(run_cli, tmp_path: Path) -> None:
    browser = chromium()
    video = truncate(make_video(tmp_path / "eight.mkv", frames=240, gop=30), tmp_path / "cut.mkv", keep=0.5)
    page = tmp_path / "cut.html"
    result = run_cli("timeline", video, "--model", "lvit-demo", "--device", "cpu", "--window", "1", "--json",
                     "--html", page)
    assert result.code == 1, result.err  # cut short: the timeline so far, and the page of it
    doc = json.loads(result.out)
    assert doc["segments"][-1]["end"] < doc["video"]["duration"] / 2 + 1
    done = subprocess.run([browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                          capture_output=True, timeout=120, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = Dom(capture="legend-body")
    dom.feed(done.stdout)
    shares = [float(m) for text in dom.text for m in re.findall(r"· ([\d.]+)% ·", text)]
    assert len(shares) == len({s["label"] for s in doc["segments"]}) and sum(shares) == pytest.approx(100, abs=0.3)
