"""The current-figures table of BENCHMARKS.md: built from the log of records, newest per figure."""

from __future__ import annotations

import pytest

from bench import machine
from bench.records import (
    RESULTS,
    TABLE_END,
    TABLE_START,
    Figure,
    current_table,
    read_records,
    records_of,
    with_current_table,
)
from tests.conftest import REPO

XEON, AMD = "Xeon, 2 cores", "EPYC, 2 cores"


def run(date: str, machine_name: str, command: str, *figures: Figure) -> list[dict]:
    return records_of(figures, command.split()[1], date, machine_name, command)


def records() -> list[dict]:
    return [
        *run(
            "2026-12-01 10:00 UTC",
            AMD,
            "python bench/a.py",
            Figure("training", 20.5, "lines/s"),
            Figure("ratio", 0.5, "x"),
        ),
        *run("2026-12-02 10:00 UTC", XEON, "python bench/b.py", Figure("padding", 4.7, "%")),
        *run("2026-12-03 10:00 UTC", XEON, "python bench/a.py --width 512", Figure("training", 36.0, "lines/s")),
        *run("2026-11-30 10:00 UTC", AMD, "python bench/a.py", Figure("training", 1.0, "lines/s")),
    ]


def test_table_has_the_newest_row_per_figure():
    lines = current_table(records()).splitlines()
    assert lines[:2] == ["| figure | value | date | machine | command |", "| --- | --- | --- | --- | --- |"]
    assert lines[2:] == [
        "| training | 36.0 lines/s | 2026-12-03 10:00 UTC | Xeon, 2 cores | `python bench/a.py --width 512` |",
        "| ratio | 0.5x | 2026-12-01 10:00 UTC | EPYC, 2 cores | `python bench/a.py` |",
        "| padding | 4.7% | 2026-12-02 10:00 UTC | Xeon, 2 cores | `python bench/b.py` |",
    ]


def test_a_later_record_wins_a_tie_and_pipes_are_escaped():
    same_minute = run("2026-12-01 10:00 UTC", AMD, "python bench/a.py", Figure("a | b", 1, "MB"))
    same_minute += run("2026-12-01 10:00 UTC", AMD, "python bench/a.py --again", Figure("a | b", 1200, "MB"))
    assert current_table(same_minute).splitlines()[2:] == [
        "| a \\| b | 1,200 MB | 2026-12-01 10:00 UTC | EPYC, 2 cores | `python bench/a.py --again` |"
    ]


def test_the_table_replaces_only_the_text_between_its_markers():
    markdown = f"# Benchmarks\n\nintro\n\n{TABLE_START}\nstale table\n{TABLE_END}\n\n## History\n\nold figures\n"
    updated = with_current_table(markdown, records())
    assert updated.startswith(f"# Benchmarks\n\nintro\n\n{TABLE_START}\n| figure |")
    assert updated.endswith(f"`python bench/b.py` |\n{TABLE_END}\n\n## History\n\nold figures\n")
    assert "stale" not in updated
    with pytest.raises(ValueError, match="markers"):
        with_current_table("# Benchmarks\n", records())


def test_recording_appends_the_section_and_the_log_and_rebuilds_the_table(tmp_path, monkeypatch):
    target = tmp_path / "BENCHMARKS.md"
    monkeypatch.setenv(machine.BENCHMARKS_ENV, str(target))
    monkeypatch.setattr(machine, "describe_machine", lambda: XEON)
    for title, value in (("First", 1.5), ("Second", 2.5)):
        machine.append_section(
            title, "python bench/a.py", "| x |\n| --- |", "bench/a.py", [Figure("training", value, "lines/s")]
        )
    text = target.read_text(encoding="utf-8")
    assert [r["value"] for r in read_records(tmp_path / "BENCHMARKS.jsonl")] == [1.5, 2.5]
    assert text.index("## First (") < text.index("## Second (")
    assert "| training | 2.5 lines/s |" in text and "1.5 lines/s" not in text


def test_benchmarks_md_shows_the_table_of_its_log():
    """The committed table is what the scripts would write: nobody edited it by hand."""
    text = (REPO / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert with_current_table(text, read_records(RESULTS)) == text
