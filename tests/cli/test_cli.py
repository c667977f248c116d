"""The ``tf-crnn`` entry point: its subcommands, their help with examples, exit codes and one-line errors."""

import subprocess
import sys

import pytest
import tomllib

from tests.conftest import REPO
from tf_crnn.cli import COMMANDS, main
from tf_crnn.errors import DataError

NAMES = [
    "train", "evaluate", "predict", "models", "export", "synth", "convert", "alphabet", "prepare-iam", "plot", "grid",
    "train-folds", "ensemble", "cache",
]  # fmt: skip


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tf_crnn.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_the_installed_command_is_tf_crnn():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"tf-crnn": "tf_crnn.cli:main"}


def test_help_lists_every_subcommand_without_loading_tensorflow():
    result = run_cli("--help")
    assert result.returncode == 0
    listed = result.stdout.split("subcommands:")[1].split("examples:")[0].split()
    assert [name for name in NAMES if name in listed] == NAMES
    probe = "import sys, tf_crnn.cli; print('tensorflow' in sys.modules)"
    imported = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert imported.stdout.strip() == "False"  # --help answers at once


@pytest.mark.parametrize("command", COMMANDS, ids=NAMES)
def test_each_subcommand_help_shows_real_examples(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command.NAME, "--help"])
    assert stop.value.code == 0
    help_text = capsys.readouterr().out
    examples = help_text.split("examples:\n")[1]
    assert f"tf-crnn {command.NAME} " in examples
    assert "--quiet" in help_text and "--json" in help_text


def test_a_user_error_is_one_line_with_the_status_of_its_kind(tmp_path):
    result = run_cli("plot", str(tmp_path / "no_run"))
    assert result.returncode == DataError.exit_status
    assert result.stderr == f"tf-crnn plot: error: {tmp_path / 'no_run'}: no such folder\n"
    assert result.stdout == ""


def test_usage_errors_are_status_2(tmp_path, capsys):
    assert main([]) == 2
    assert "SUBCOMMAND" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["plot", str(tmp_path / "a"), str(tmp_path / "b")])
    assert stop.value.code == 2
    assert "give --out for several runs" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", "--csv", "x.csv", "--model-dir", "m", "--quiet", "--json"])
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_synth_json_document_and_quiet(tmp_path, capsys):
    import json

    alphabet = REPO / "data" / "alphabet" / "lookup_digits.json"
    assert main(["synth", "--n", "3", "--out", str(tmp_path), "--alphabet", str(alphabet), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"csv": str(tmp_path / "train.csv"), "lines": 3}
    assert "rendering train" in captured.err  # progress and logs go to stderr
    assert (
        main(["synth", "--n", "3", "--out", str(tmp_path), "--name", "eval", "--alphabet", str(alphabet), "--quiet"])
        == 0
    )
    captured = capsys.readouterr()
    assert captured.out == f"{tmp_path / 'eval.csv'}\n" and captured.err == ""
