from tf_crnn.loader import PredictionModel
from tf_crnn.predict import main


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


def test_missing_image_is_a_one_line_error(random_export, tmp_path, capsys):
    assert main(["--model-dir", str(random_export[3]), str(tmp_path / "nope.png")]) == 1
    assert "not found" in capsys.readouterr().err
