"""Shared by the bench scripts: describe the machine and append a section to BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
BENCHMARKS_ENV = "TF_CRNN_BENCHMARKS"  # another file to append to (the README test points it at its sandbox)


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


def append_section(title: str, command: str, body: str) -> None:
    """Append one dated, attributed section; earlier figures stay for comparison."""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    section = f"\n## {title} ({stamp})\n\n- Machine: {describe_machine()}\n- Command: `{command}`\n\n{body.rstrip()}\n"
    target = Path(os.environ.get(BENCHMARKS_ENV) or BENCHMARKS)
    if not target.exists():
        target.write_text("# Benchmarks\n\nFigures measured by the scripts in `bench/`; newest last.\n")
    with target.open("a", encoding="utf-8") as handle:
        handle.write(section)
