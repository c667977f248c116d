"""``tf-crnn train``: the sacred experiment with JSON output, one-line errors and quiet mode."""

import json

from tf_crnn.cli import main
from tf_crnn.cli.train import hoist_output_options


def test_json_mode_prints_only_the_results_document(cli_trained_run):
    document, output = cli_trained_run["document"], cli_trained_run["output"]
    assert cli_trained_run["stdout"].strip().startswith("{")  # Keras' epoch lines and the report went to stderr
    results = json.loads((output / "results.json").read_text())
    assert {key: document[key] for key in results} == results
    assert document["epochs"] == 2 and document["cer"] >= 0 and document["sacred_run"] == "1"
    assert (output / "sacred" / "1" / "metrics.json").is_file()


def test_output_options_may_follow_the_config():
    assert hoist_output_options(["train", "c.json", "n_epochs=1", "--json"]) == [
        "train",
        "--json",
        "c.json",
        "n_epochs=1",
    ]
    assert hoist_output_options(["evaluate", "--json"]) == ["evaluate", "--json"]


def test_user_errors_are_one_line_without_training(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.json"), "n_epochs=1"]) == 1
    assert (
        capsys.readouterr().err == f"tf-crnn train: error: config file not found: {tmp_path / 'nope.json'} "
        "(after 'with' come JSON config files and field=value updates)\n"
    )
    assert main(["train", "n_epoch=3", "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("unknown configuration field(s): 'n_epoch' (did you mean 'n_epochs'?)")


def test_sacred_commands_work(cli_trained_run, capsys):
    config = cli_trained_run["output"] / "params.json"
    assert main(["train", "print_config", str(config), "n_epochs=7"]) == 0
    printed = capsys.readouterr().out
    assert "n_epochs = 7" in printed and "Training" not in printed
