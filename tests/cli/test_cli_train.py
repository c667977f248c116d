"""``tf-crnn train``: the sacred experiment with JSON output, one-line errors and quiet mode."""

import json

from tf_crnn.cli import build_parser, main
from tf_crnn.cli.common import parse
from tf_crnn.errors import ConfigError


def test_json_mode_prints_only_the_results_document(cli_trained_run):
    document, output = cli_trained_run["document"], cli_trained_run["output"]
    assert cli_trained_run["stdout"].strip().startswith("{")  # Keras' epoch lines and the report went to stderr
    results = json.loads((output / "results.json").read_text())
    assert {key: document[key] for key in results} == results
    assert document["epochs"] == 2 and document["cer"] >= 0 and document["sacred_run"] == "1"
    assert (output / "sacred" / "1" / "metrics.json").is_file()


def test_output_options_may_follow_the_config():
    for argv in (["train", "c.json", "n_epochs=1", "--json"], ["train", "c.json", "--json", "n_epochs=1"]):
        args = parse(build_parser(), argv)
        assert args.json and args.config == ["c.json", "n_epochs=1"]
    args = parse(build_parser(), ["train", "print_config", "c.json", "-l", "WARNING", "--quiet"])
    assert args.quiet and args.config == ["print_config", "c.json"] and args.sacred_options == ["-l", "WARNING"]


def test_user_errors_are_one_line_without_training(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.json"), "n_epochs=1"]) == ConfigError.exit_status
    assert (
        capsys.readouterr().err == f"tf-crnn train: error: config file not found: {tmp_path / 'nope.json'} "
        "(after 'with' come JSON config files and field=value updates)\n"
    )
    assert main(["train", "n_epoch=3", "--quiet"]) == ConfigError.exit_status
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("unknown configuration field(s): 'n_epoch' (did you mean 'n_epochs'?)")


def test_sacred_commands_work(cli_trained_run, capsys):
    config = cli_trained_run["output"] / "params.json"
    assert main(["train", "print_config", str(config), "n_epochs=7"]) == 0
    printed = capsys.readouterr().out
    assert "n_epochs = 7" in printed and "Training" not in printed


def test_a_run_writes_what_its_layout_names(cli_trained_run):
    from tf_crnn.layout import OutputLayout

    output = OutputLayout(cli_trained_run["output"])
    for path in (output.params, output.alphabet, output.kept_rows("train"), output.dropped_rows("eval"),
                 output.checkpoint(2).with_suffix(".index"), output.best_checkpoints, output.exports,
                 output.epoch_predictions(2), output.final_predictions, output.training_state, output.results,
                 output.curves, output.tensorboard, output.sacred / "1"):  # fmt: skip
        assert path.exists(), path
