"""Every bench script runs at ``--smoke`` (a tiny model, a handful of lines, a temporary folder), so a
library change that breaks a benchmark fails here rather than on the next quiet machine.

Each script runs as a user runs it, in a fresh interpreter; ``TF_CRNN_BENCHMARKS`` and ``TMPDIR`` point
into the test's folder, so even a script that wrongly recorded could not touch the repository's files.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from bench.machine import BENCHMARKS, BENCHMARKS_ENV
from bench.records import RESULTS
from tests.conftest import REPO

HELPERS = {"__init__.py", "common.py", "machine.py", "records.py"}
SCRIPTS = sorted(path.name for path in (REPO / "bench").glob("*.py") if path.name not in HELPERS)
SKIPPED = re.compile(r"^skipped: (?P<reason>.+)$", re.MULTILINE)


def test_every_script_is_listed():
    assert "speed.py" in SCRIPTS and len(SCRIPTS) >= 14


@pytest.mark.parametrize("script", SCRIPTS)
def test_smoke(script, tmp_path):
    recorded = {path: path.read_bytes() for path in (BENCHMARKS, RESULTS)}
    sandbox = tmp_path / "BENCHMARKS.md"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", BENCHMARKS_ENV: str(sandbox), "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, f"bench/{script}", "--smoke"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{script} --smoke failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    assert {path: path.read_bytes() for path in recorded} == recorded, f"{script} --smoke changed BENCHMARKS.md"
    assert not sandbox.exists() and not sandbox.with_suffix(".jsonl").exists(), f"{script} --smoke recorded"
    skipped = SKIPPED.search(done.stdout)
    if skipped:
        pytest.skip(skipped["reason"])
    assert "| --- |" in done.stdout, f"{script} --smoke printed no table:\n{done.stdout[-4000:]}"
