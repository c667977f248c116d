"""Shared by the bench scripts: describe the machine, and record a run in BENCHMARKS.md and bench/results.jsonl."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterable
from pathlib import Path

from bench.records import (
    RESULTS,
    TABLE_END,
    TABLE_START,
    Figure,
    append_records,
    read_records,
    records_of,
    with_current_table,
)

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
# another Markdown file to record into, its log beside it (the README and bench tests point it at a sandbox)
BENCHMARKS_ENV = "TF_CRNN_BENCHMARKS"
NEW_FILE = f"# Benchmarks\n\n## Current figures\n\n{TABLE_START}\n{TABLE_END}\n\n## History\n"


def describe_machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import tensorflow as tf

    gpus = len(tf.config.list_physical_devices("GPU"))
    return f"{cpu}, {os.cpu_count()} cores, {gpus} GPU, Python {platform.python_version()}, TensorFlow {tf.__version__}"


def targets() -> tuple[Path, Path]:
    """(Markdown file, JSON-lines log): BENCHMARKS.md and bench/results.jsonl, or the file named by
    $TF_CRNN_BENCHMARKS and the ``.jsonl`` beside it."""
    override = os.environ.get(BENCHMARKS_ENV)
    if override:
        return Path(override), Path(override).with_suffix(".jsonl")
    return BENCHMARKS, RESULTS


def append_section(title: str, command: str, body: str, bench: str, figures: Iterable[Figure] = ()) -> None:
    """Append one dated, attributed section (earlier ones stay for comparison), log the run's key
    figures and rebuild the current-figures table from the log."""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    machine = describe_machine()
    section = f"\n## {title} ({stamp})\n\n- Machine: {machine}\n- Command: `{command}`\n\n{body.rstrip()}\n"
    markdown, log = targets()
    text = markdown.read_text(encoding="utf-8") if markdown.exists() else NEW_FILE
    append_records(log, records_of(figures, bench, stamp, machine, command))
    markdown.write_text(with_current_table(text + section, read_records(log)), encoding="utf-8")
