import json

import pandas as pd

from tf_crnn.cli import main as cli_main
from tf_crnn.errors import DataError, ModelError
from tf_crnn.metrics import compute_metrics
from tf_crnn.serve.evaluate import evaluate_csv
from tf_crnn.serve.predictor import PredictionModel


def main(argv):
    """``tf-crnn evaluate ARGV``."""
    return cli_main(["evaluate", *argv])


def test_figures_match_predictions_over_the_whole_file(random_export, tiny_dataset):
    export_dir = random_export[3]
    figures, table = evaluate_csv(str(tiny_dataset["eval"]), str(export_dir), batch_size=5, progress=False)
    assert figures["lines"] == 12 == len(table)
    predictions = PredictionModel(export_dir).predict(table["path"].tolist())
    assert table["prediction"].tolist() == predictions.texts
    expected = compute_metrics(table["reference"].tolist(), predictions.texts)
    assert {name: figures[name] for name in expected} == expected
    assert figures["unreadable_lines"] == 0 and figures["unseen_units"]["units"] == {}


def test_command_line_json_and_per_line_output(random_export, tiny_dataset, tmp_path, capsys):
    out = tmp_path / "lines.csv"
    argv = ["--csv", str(tiny_dataset["eval"]), "--model-dir", str(random_export[3]), "--json", "--output", str(out)]
    assert main(argv) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures) == {
        "cer", "wer", "line_accuracy", "lines", "unreadable_lines", "unusable", "unseen_units", "output"
    }  # fmt: skip
    assert figures["unusable"] == []
    assert figures["output"] == str(out)
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns) == ["path", "reference", "prediction", "confidence", "edit_distance", "error"]
    assert table["edit_distance"].is_monotonic_decreasing


def test_command_line_errors_are_one_line(tmp_path, capsys):
    assert main(["--csv", str(tmp_path / "nope.csv"), "--model-dir", str(tmp_path)]) == ModelError.exit_status
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_lexicon_decoding_is_evaluated_on_request(random_export, tiny_dataset, tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("bad cafe face fade bead deaf dab add bee\n")
    export_dir = str(random_export[3])
    _, table = evaluate_csv(str(tiny_dataset["eval"]), export_dir, lexicon=str(words), progress=False)
    expected = PredictionModel(export_dir, lexicon=str(words)).predict(table["path"].tolist())
    assert table["prediction"].tolist() == expected.texts


def test_an_empty_file_is_refused(random_export, tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("")
    assert main(["--csv", str(tmp_path / "empty.csv"), "--model-dir", str(random_export[3])]) == DataError.exit_status
    assert capsys.readouterr().err.endswith(f"error: {tmp_path / 'empty.csv'}: the CSV file has no rows\n")


def test_tsv_lists_and_tfrecord_shards_evaluate_like_the_csv(random_export, tiny_dataset, tmp_path):
    from tf_crnn.data.convert import convert
    from tf_crnn.data.formats.csv_rows import read_csv_rows

    rows, _ = read_csv_rows(tiny_dataset["eval"])
    tsv = tmp_path / "eval.tsv"
    tsv.write_text("".join(f"{row.path}\t{row.text}\n" for row in rows), encoding="utf-8")
    convert([tiny_dataset["eval"]], tmp_path / "shards", n_shards=2)
    export_dir = str(random_export[3])
    figures, table = evaluate_csv(str(tiny_dataset["eval"]), export_dir, progress=False)
    for other in (tsv, tmp_path / "shards"):
        other_figures, other_table = evaluate_csv(str(other), export_dir, progress=False)
        assert other_figures == figures
        pd.testing.assert_frame_equal(other_table, table)


def test_units_the_model_cannot_output_are_named_with_their_share_of_the_errors(random_export, tiny_dataset, tmp_path,
                                                                               capsys):  # fmt: skip
    from tf_crnn.data.formats.csv_rows import read_csv_rows

    rows, _ = read_csv_rows(tiny_dataset["eval"])
    csv = tmp_path / "euro.csv"
    csv.write_text(f"{rows[0].path};|1|0|€|\n{rows[1].path};|€|a|\n", encoding="utf-8")
    figures, _ = evaluate_csv(str(csv), str(random_export[3]), progress=False)
    unseen = figures["unseen_units"]
    assert unseen["units"] == {"€": 2} and unseen["characters"] == 2
    assert 0 < unseen["share_of_char_errors"] <= 1
    assert main(["--csv", str(csv), "--model-dir", str(random_export[3])]) == 0
    assert "2 reference characters are units the model's alphabet lacks, so it can never read them" in (
        capsys.readouterr().out
    )
