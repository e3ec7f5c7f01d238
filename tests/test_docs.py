"""What the code cites, the repository holds: every page of docs/ (and section of one) that the code, the tests,
the registry or a README names exists, and so does every section the docs pages link to among themselves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TEXT = {".py", ".toml", ".md", ".txt", ".cfg", ".yml", ".yaml", ".sh"}
CITATION = re.compile(r"\bdocs/([\w.-]+\.md)(?:#([\w-]+))?")
MEASURED = re.compile(r"\bbenchmarks/([\w.-]+\.md)\b")  # where a figure moved out of the code went
LINK = re.compile(r"\]\(([\w.-]+\.md)(?:#([\w-]+))?\)")  # a docs page's link to another: [text](page.md#section)


def _files() -> list[Path]:
    """The repository's text files, without virtual environments, caches and build output."""
    return sorted(p for p in ROOT.rglob("*") if p.suffix in TEXT and p.is_file()
                  and not any(part.startswith(".") or part in ("__pycache__", "build") or part.endswith(".egg-info")
                              for part in p.relative_to(ROOT).parts))


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors of a Markdown page's headings: lowercase, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def _broken(citations: list[tuple[Path, str, str]]) -> list[str]:
    broken = []
    for source, page, section in citations:
        target = DOCS / page
        if not target.is_file():
            broken.append(f"{source.relative_to(ROOT)}: docs/{page} does not exist")
        elif section and section not in _anchors(target):
            broken.append(f"{source.relative_to(ROOT)}: docs/{page} has no section #{section}")
    return broken


def test_every_cited_docs_page_and_section_exists():
    citations = [(path, page, section) for path in _files()
                 for page, section in CITATION.findall(path.read_text(encoding="utf-8", errors="replace"))]
    assert len({page for _, page, _ in citations}) >= 5  # the code does cite them: the pattern finds them
    assert _broken(citations) == []


def test_every_benchmarks_page_the_package_cites_exists():
    code = [path for path in _files() if path.is_relative_to(ROOT / "linvit_cli")]
    cited = {(path, page) for path in code for page in MEASURED.findall(path.read_text(encoding="utf-8"))}
    assert {page for _, page in cited} >= {"FINDINGS.md", "ablation.md"}
    assert [f"{path.relative_to(ROOT)}: benchmarks/{page}" for path, page in cited
            if not (ROOT / "benchmarks" / page).is_file()] == []


def test_links_between_docs_pages_resolve():
    links = [(page, target, section) for page in DOCS.glob("*.md")
             for target, section in LINK.findall(page.read_text(encoding="utf-8"))]
    assert links
    assert _broken(links) == []


def test_no_file_names_documents_outside_the_repository():
    outside = ("LVIT_SPEC" + ".md", "WEIGHTS" + ".md", "FIELD_" + "NOTES", "../" + "shared", "shared/" + "reference")
    named = [f"{path.relative_to(ROOT)}: {word}" for path in _files()
             for word in outside if word in path.read_text(encoding="utf-8", errors="replace")]
    assert named == []
