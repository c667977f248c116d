import json
import shutil

import pytest

from tf_crnn.cli import main as cli_main
from tf_crnn.errors import PARTIAL_STATUS, DataError
from tf_crnn.serve.predictor import PredictionModel


def main(argv):
    """``tf-crnn predict ARGV``."""
    return cli_main(["predict", *argv])


def test_images_and_csv_to_path_text_confidence(random_export, tiny_dataset, tmp_path, capsys):
    export_dir = random_export[3]
    images = sorted(str(p) for p in (tiny_dataset["root"] / "eval").glob("*.png"))[:2]
    assert main(["--model-dir", str(export_dir), *images]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = PredictionModel(export_dir).predict(images)
    assert [line.rsplit(";", 2)[0] for line in lines] == images
    assert [line.rsplit(";", 2)[1] for line in lines] == expected.texts
    assert all(0.0 <= float(line.rsplit(";", 2)[2]) <= 1.0 for line in lines)

    out = tmp_path / "pred.csv"
    assert main(["--model-dir", str(export_dir), "--csv", str(tiny_dataset["eval"]), "--output", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 12


def test_missing_image_is_reported_and_counted(random_export, tmp_path, capsys):
    assert main(["--model-dir", str(random_export[3]), str(tmp_path / "nope.png")]) == PARTIAL_STATUS
    captured = capsys.readouterr()
    assert "not found" in captured.err and captured.out == f"{tmp_path / 'nope.png'};;;error: image file not found\n"


def test_folder_glob_jsonl_with_top_n_and_characters(random_export, tiny_dataset, tmp_path, capsys):
    export_dir = random_export[3]
    folder = tiny_dataset["root"] / "eval"
    out = tmp_path / "pred.jsonl"
    argv = ["--model-dir", str(export_dir), str(folder), "--format", "jsonl", "--top-n", "2", "--chars"]
    assert main([*argv, "--output", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    paths = sorted(str(p) for p in folder.glob("*.png"))
    assert [r["path"] for r in records] == paths
    expected = PredictionModel(export_dir, num_beam_paths=2).predict(paths)
    assert [r["text"] for r in records] == expected.texts
    assert [[b["text"] for b in r["beams"]] for r in records] == expected.beam_texts
    assert ["".join(c["unit"] for c in r["chars"]) for r in records] == expected.texts
    assert all(0 <= c["x_start"] < c["x_end"] and 0 < c["prob"] <= 1 for r in records for c in r["chars"])

    assert main(["--model-dir", str(export_dir), str(folder / "00000*.png"), "--chars"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(";")[0] for line in lines] == paths[:10]
    first = records[0]
    assert lines[0].split(";")[3].split() == [f"{c['prob']:.4f}" for c in first["chars"]]


def test_pred_txt_beside_each_image_and_lexicon(random_export, tiny_dataset, tmp_path):
    export_dir = random_export[3]
    for source in sorted((tiny_dataset["root"] / "eval").glob("*.png"))[:3]:
        shutil.copy(source, tmp_path / source.name)
    images = sorted(tmp_path.glob("*.png"))
    words = tmp_path / "words.txt"
    words.write_text("bad cafe face fade bead deaf dab add bee\n")
    assert main(["--model-dir", str(export_dir), str(tmp_path), "--format", "pred-txt", "--lexicon", str(words)]) == 0
    expected = PredictionModel(export_dir, lexicon=str(words)).predict([str(p) for p in images])
    assert [p.with_suffix(".pred.txt").read_text() for p in images] == [t + "\n" for t in expected.texts]
    shutil.copy(images[0], images[0].with_suffix(".tif"))
    assert main(["--model-dir", str(export_dir), str(tmp_path), "--format", "pred-txt"]) == DataError.exit_status
    assert [p.with_suffix(".pred.txt").read_text() for p in images] == [t + "\n" for t in expected.texts]


def test_unmatched_glob_and_missing_lexicon_are_one_line_errors(random_export, tmp_path, capsys):
    export_dir = str(random_export[3])
    assert main(["--model-dir", export_dir, str(tmp_path / "*.png")]) == DataError.exit_status
    assert "no image matches" in capsys.readouterr().err
    lexicon = ["--lexicon", str(tmp_path / "w.txt"), str(tmp_path / "a.png")]
    assert main(["--model-dir", export_dir, *lexicon]) == DataError.exit_status
    assert "lexicon file not found" in capsys.readouterr().err


def test_json_mode_gives_one_document_and_quiet_mode_no_messages(random_export, tiny_dataset, tmp_path, capsys):
    export_dir = str(random_export[3])
    folder = tiny_dataset["root"] / "eval"
    assert main(["--model-dir", export_dir, str(folder), "--top-n", "2", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    paths = sorted(str(p) for p in folder.glob("*.png"))
    expected = PredictionModel(export_dir, num_beam_paths=2).predict(paths)
    assert document["lines"] == 12 and [r["path"] for r in document["predictions"]] == paths
    assert [r["text"] for r in document["predictions"]] == expected.texts
    assert [[b["text"] for b in r["beams"]] for r in document["predictions"]] == expected.beam_texts
    assert all("chars" not in r for r in document["predictions"])

    out = tmp_path / "pred.jsonl"
    assert main(["--model-dir", export_dir, str(folder), "--format", "jsonl", "--output", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert [json.loads(line)["text"] for line in out.read_text().splitlines()] == expected.texts


def test_a_tab_separated_list_gives_its_image_paths(random_export, tiny_dataset, tmp_path, capsys):
    from tf_crnn.data.formats.csv_rows import read_csv_rows

    rows, _ = read_csv_rows(tiny_dataset["eval"], ";", "|")
    listing = tmp_path / "lines.tsv"
    listing.write_text("".join(f"{row.path}\t{row.text}\n" for row in rows[:3]), encoding="utf-8")
    assert main(["--model-dir", str(random_export[3]), "--csv", str(listing)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.rsplit(";", 2)[0] for line in lines] == [row.path for row in rows[:3]]


def test_an_interrupted_run_resumes_where_it_stopped_and_output_is_never_overwritten(
    random_export, tiny_dataset, tmp_path, capsys
):
    export_dir = str(random_export[3])
    folder = tiny_dataset["root"] / "eval"
    out = tmp_path / "pred.csv"
    assert main(["--model-dir", export_dir, str(folder), "--output", str(out)]) == 0
    complete = out.read_text().splitlines()
    out.write_text("\n".join(complete[:5]) + "\n" + complete[5][:7])  # killed while writing line 6
    with pytest.raises(SystemExit) as refused:
        main(["--model-dir", export_dir, str(folder), "--output", str(out)])
    assert refused.value.code == 2 and "add --resume to continue it, or --overwrite" in capsys.readouterr().err
    assert main(["--model-dir", export_dir, str(folder), "--output", str(out), "--resume", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["resumed"], document["transcribed"]) == (5, len(complete) - 5)
    resumed = [line for line in out.read_text().splitlines() if line.count(";") >= 2]
    assert sorted(resumed) == sorted(complete)
    assert main(["--model-dir", export_dir, str(folder), "--output", str(out), "--overwrite"]) == 0
    assert out.read_text().splitlines() == complete


@pytest.mark.parametrize("output_format", ["csv", "jsonl"])
def test_a_resumed_run_keeps_saying_which_images_could_not_be_read(
    random_export, tiny_dataset, tmp_path, capsys, output_format
):
    export_dir, folder = str(random_export[3]), tmp_path / "scans"
    shutil.copytree(tiny_dataset["root"] / "eval", folder)
    bad = folder / "!bad.png"  # listed first: the interruption below keeps its row
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated; not an image")
    out = tmp_path / f"pred.{output_format}"
    command = ["--model-dir", export_dir, str(folder), "--output", str(out), "--format", output_format, "--json"]
    assert main(command) == PARTIAL_STATUS
    first = json.loads(capsys.readouterr().out)
    complete = out.read_text().splitlines()
    out.write_text("\n".join(complete[:-1]) + "\n")  # interrupted before the last line
    assert main([*command, "--resume"]) == PARTIAL_STATUS
    document = json.loads(capsys.readouterr().out)
    assert document["resumed"] == len(complete) - 1 and document["transcribed"] == 1
    assert [(f["path"], f.get("earlier_run")) for f in document["failed"]] == [(first["failed"][0]["path"], True)]
    assert sorted(out.read_text().splitlines()) == sorted(complete)  # nothing written twice


def test_csv_rows_quote_delimiters_and_quotes_so_csv_readers_and_resume_read_them_back(tmp_path):
    import csv

    from tf_crnn.serve.predictions import LinePrediction
    from tf_crnn.serve.transcribe import done_paths, write_prediction

    out_file = tmp_path / "pred.csv"
    rows = {
        "scans/a;b.png": LinePrediction('He said "yes"; then left', 0.9, beams=[("x;y", -0.5)]),
        "scans/plain.png": LinePrediction("plain text", 0.8, beams=[("plain", -0.1)]),
        "scans/bad;name.png": LinePrediction.failed("cannot decode: not a PNG; nor a JPEG"),
    }
    with open(out_file, "w", encoding="utf-8") as out:
        for path, line in rows.items():
            write_prediction(path, line, out, "csv", ";", top_n=True)
    assert out_file.read_text(encoding="utf-8").splitlines()[1] == "scans/plain.png;plain text;0.8000;plain;-0.1000"
    with open(out_file, encoding="utf-8", newline="") as handle:
        read = list(csv.reader(handle, delimiter=";"))
    assert read[0] == ["scans/a;b.png", 'He said "yes"; then left', "0.9000", "x;y", "-0.5000"]
    assert read[2] == ["scans/bad;name.png", "", "", "error: cannot decode: not a PNG; nor a JPEG"]
    done, errors = done_paths(list(rows), str(out_file), "csv", ";")
    assert done == set(rows) and errors == {"scans/bad;name.png": "cannot decode: not a PNG; nor a JPEG"}

    complete = out_file.read_text(encoding="utf-8")
    out_file.write_text(complete[:-4], encoding="utf-8")  # killed while writing the last row's reason
    done, errors = done_paths(list(rows), str(out_file), "csv", ";")
    assert done == {"scans/a;b.png", "scans/plain.png"} and errors == {}
