"""``python hlp/prepare_iam.py``, the script the IAM instructions promise, runs the package's preparation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.datasets.test_iam import PASSWORD, USER, IamServer, assert_no_secret, server  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
SCRIPT = str(REPO / "hlp" / "prepare_iam.py")


def test_wrong_password_fails_with_one_clear_line(server: IamServer, tmp_path: Path) -> None:  # noqa: F811
    env = {**os.environ, "IAM_USER": USER, "IAM_PWD": "not-" + PASSWORD}
    command = [sys.executable, SCRIPT, "--output-dir", str(tmp_path / "iam")]
    result = subprocess.run(command + server.args(), env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("prepare_iam.py: error:") and "HTTP 401" in last and "IAM_USER and IAM_PWD" in last
    assert_no_secret(result.stdout + result.stderr, tmp_path)
    assert not (tmp_path / "iam" / "train.csv").exists()


def test_help_shows_examples() -> None:
    result = subprocess.run([sys.executable, SCRIPT, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "IAM_USER" in result.stdout and "--archives-dir" in result.stdout
