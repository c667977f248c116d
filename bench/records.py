"""The machine-readable log of the bench figures and the current-figures table of BENCHMARKS.md.

Every recorded run appends one JSON object per key figure to ``bench/results.jsonl`` (figure, value,
unit, date, machine, command, and the script that measured it); the table at the top of
BENCHMARKS.md is rebuilt from that log, the newest record of each figure, so it never needs
editing by hand. The Markdown sections below the table keep the whole tables and notes of every run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.jsonl"
TABLE_START = "<!-- current figures: generated from bench/results.jsonl by bench/records.py, edits are overwritten -->"
TABLE_END = "<!-- end of current figures -->"
TABLE_HEADER = ("figure", "value", "date", "machine", "command")
UNITS_WITHOUT_SPACE = ("%", "x")


@dataclass(frozen=True)
class Figure:
    """One key figure of a run: what it is (stable across runs, so the newest replaces the older), its value."""

    name: str
    value: float
    unit: str


def records_of(figures: Iterable[Figure], bench: str, date: str, machine: str, command: str) -> list[dict]:
    shared = {"date": date, "machine": machine, "command": command}
    return [{"bench": bench, "figure": f.name, "value": f.value, "unit": f.unit, **shared} for f in figures]


def read_records(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def append_records(path: Path, records: Sequence[dict]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def shown_value(value: float, unit: str) -> str:
    number = f"{value:,}"
    return number + unit if unit in UNITS_WITHOUT_SPACE else f"{number} {unit}".rstrip()


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def current_table(records: Sequence[dict]) -> str:
    """The Markdown table of the newest record of each figure (a later record wins a tie of dates),
    grouped by bench script in name order, each script's figures in the order they first appeared."""
    newest: dict[tuple[str, str], dict] = {}
    first_seen: dict[tuple[str, str], int] = {}
    for i, record in enumerate(records):
        key = (record["bench"], record["figure"])
        first_seen.setdefault(key, i)
        if key not in newest or record["date"] >= newest[key]["date"]:
            newest[key] = record
    rows = [newest[key] for key in sorted(newest, key=lambda key: (key[0], first_seen[key]))]
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|" + " --- |" * len(TABLE_HEADER)]
    for r in rows:
        cells = [r["figure"], shown_value(r["value"], r["unit"]), r["date"], r["machine"], f"`{r['command']}`"]
        lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
    return "\n".join(lines)


def with_current_table(markdown: str, records: Sequence[dict]) -> str:
    """``markdown`` with the text between the table's markers replaced by :func:`current_table`."""
    start, end = markdown.find(TABLE_START), markdown.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"the current-figures markers are missing: {TABLE_START} ... {TABLE_END}")
    table = f"{TABLE_START}\n{current_table(records)}\n"
    return markdown[:start] + table + markdown[end:]
