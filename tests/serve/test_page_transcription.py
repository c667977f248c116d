"""Pages in, pages out: predict_page, writing PAGE/ALTO back (read again: the same lines and text),
the input never overwritten unless asked, evaluation by page, two pages compared, TIFF line images."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.page_samples import PAGE_NS, make_page
from tf_crnn.cli import main
from tf_crnn.data.formats.pages import load_document
from tf_crnn.errors import PARTIAL_STATUS, ModelError
from tf_crnn.serve.evaluate import training_text_options
from tf_crnn.serve.pages import page_run_options, training_page_options, transcribe_pages, write_page
from tf_crnn.serve.predictor import PredictionModel


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_CRNN_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def model(random_export):
    return PredictionModel(random_export[3])


@pytest.fixture
def lines(tiny_dataset):
    rows = [line.split(";", 1) for line in tiny_dataset["eval"].read_text(encoding="utf-8").splitlines()[:5]]
    images = [tiny_dataset["eval"].parent / path for path, _ in rows]
    return images, [label.strip("|").replace("|", "") for _, label in rows]


def run(*argv) -> tuple[int, dict]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*argv, "--json"])
    return code, json.loads(out.getvalue()) if out.getvalue().strip() else {}


@pytest.mark.parametrize("kind", ["page", "alto"])
def test_predict_page_equals_line_prediction_and_round_trips(tmp_path, lines, model, kind):
    images, texts = lines
    made = make_page(tmp_path / "in", images, texts, kind=kind)
    prediction = model.predict_page(made["xml"])
    assert len(prediction.lines) == 5 and prediction.kind == kind
    original = made["xml"].read_bytes()
    out = write_page(prediction, tmp_path / "out" / "page.xml", "my-model")
    assert made["xml"].read_bytes() == original
    again = load_document(out)
    assert [line.id for line in again.lines] == [line.id for line in load_document(made["xml"]).lines]
    # what was written reads back as what was predicted (ALTO keeps the text in its words)
    assert [line.text or "" for line in again.lines] == [line.text for line in prediction.lines]
    assert again.lines[0].polygon == load_document(made["xml"]).lines[0].polygon
    written = out.read_text(encoding="utf-8")
    assert "tf-crnn" in written and "my-model" in written
    for line in prediction.lines:
        assert " ".join(word.text for word in line.words) == " ".join(line.text.split())
        for word in line.words:  # word boxes lie on the line, in page coordinates
            xs = [x for x, _ in word.polygon]
            box = made["boxes"][int(line.id.removeprefix("tl").removeprefix("l")) - 1]
            assert box[0][0] - 6 <= min(xs) <= max(xs) <= box[1][0] + 6


def test_page_lines_are_read_as_the_cut_line_images(tmp_path, lines, model):
    images, texts = lines
    made = make_page(tmp_path / "in", images, texts)
    from tf_crnn.data.formats.sources import read_rows

    rows, _ = read_rows(made["xml"])
    assert [line.text for line in model.predict_page(made["xml"]).lines] == model.predict([r.path for r in rows]).texts


def test_cli_predict_pages_never_overwrites_and_in_place(tmp_path, lines, random_export):
    images, texts = lines
    made = make_page(tmp_path / "in", images, texts)
    export = str(random_export[3])
    code, document = run("predict", "--model-dir", export, str(tmp_path / "in"), "--output-dir", str(tmp_path / "out"))
    assert code == 0 and document["pages"] == 1 and document["lines"] == 5
    assert document["written"] == [str(tmp_path / "out" / "page.xml")]
    code, _ = run("predict", "--model-dir", export, str(tmp_path / "in"), "--output-dir", str(tmp_path / "out"))
    assert code == 0  # a file tf-crnn wrote may be written again
    written = tmp_path / "out" / "page.xml"
    assert written.read_bytes().count(b"<!-- written by tf-crnn, sha256 ") == 1  # one seal, the last line
    corrected = written.read_bytes().replace(b"conf=", b"conf =", 1)  # corrected by hand since
    written.write_bytes(corrected)
    code, document = run("predict", "--model-dir", export, str(tmp_path / "in"), "--output-dir", str(tmp_path / "out"))
    assert (
        code == PARTIAL_STATUS and "or was changed since (corrections are never overwritten)" in document["failed"][0]
    )
    assert written.read_bytes() == corrected
    before = made["xml"].read_bytes()
    code, document = run("predict", "--model-dir", export, str(made["xml"]), "--output-dir", str(tmp_path / "in"))
    assert code == PARTIAL_STATUS and "is the input page" in document["failed"][0]
    assert made["xml"].read_bytes() == before
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "page.xml").write_text("<x/>")
    code, document = run("predict", "--model-dir", export, str(made["xml"]), "--output-dir", str(tmp_path / "mine"))
    assert code == PARTIAL_STATUS and "not written by tf-crnn" in document["failed"][0]
    assert (tmp_path / "mine" / "page.xml").read_text() == "<x/>"
    code, document = run("predict", "--model-dir", export, str(made["xml"]), "--in-place")
    assert code == 0 and made["xml"].read_bytes() != before and b"tf-crnn" in made["xml"].read_bytes()
    code, _ = run("predict", "--model-dir", export, str(made["xml"]), "--in-place")  # a sealed page read again
    assert code == 0 and made["xml"].read_bytes().count(b"<!-- written by tf-crnn, sha256 ") == 1


def test_cli_predict_pages_usage_errors(tmp_path, lines, random_export, capsys):
    images, texts = lines
    made = make_page(tmp_path / "in", images, texts)
    export = str(random_export[3])
    with pytest.raises(SystemExit):
        main(["predict", "--model-dir", export, str(made["xml"])])
    assert "--output-dir DIR or --in-place" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["predict", "--model-dir", export, str(made["xml"]), str(images[0]), "--output-dir", str(tmp_path)])
    assert "not both" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["predict", "--model-dir", export, str(made["xml"]), "--output-dir", str(tmp_path / "o"), "--chars"])
    assert "are for line images; pages are written whole" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["predict", "--model-dir", export, str(images[0]), "--output-dir", str(tmp_path / "o")])
    assert "--output-dir and --in-place are for pages" in capsys.readouterr().err


def test_a_quoted_pattern_of_pages_is_expanded_like_one_of_images(tmp_path, lines, random_export):
    images, texts = lines
    make_page(tmp_path / "in" / "a", images[:2], texts[:2])
    make_page(tmp_path / "in" / "b", images[2:], texts[2:])
    pattern = str(tmp_path / "in" / "**" / "*.xml")
    code, document = run("predict", "--model-dir", str(random_export[3]), pattern, "--output-dir", str(tmp_path / "o"))
    assert code == 0 and document["pages"] == 2 and document["lines"] == 5
    assert sorted(document["written"]) == [str(tmp_path / "o" / name / "page.xml") for name in ("a", "b")]
    code, _ = run("predict", "--model-dir", str(random_export[3]), str(tmp_path / "no*.xml"), "--in-place")
    assert code == 5


def test_evaluate_pages_per_page_and_report(tmp_path, lines, random_export):
    images, texts = lines
    make_page(tmp_path / "book", images[:3], texts[:3], name="p1")
    make_page(tmp_path / "book", images[3:], texts[3:], name="p2", kind="alto")
    export = str(random_export[3])
    code, document = run(
        "evaluate", "--model-dir", export, "--csv", str(tmp_path / "book"), "--report", str(tmp_path / "r")
    )
    assert code == 0 and document["lines"] == 5
    assert [(page["page"].rsplit("/", 1)[1], page["lines"]) for page in document["pages"]] == [
        ("p1.xml", 3),
        ("p2.xml", 2),
    ]
    html = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert "p1.xml, line l1" in html or "p2.xml, line tl1" in html


def test_evaluating_a_collection_goes_on_past_unusable_pages_and_names_them(tmp_path, lines, random_export, capsys):
    images, texts = lines
    make_page(tmp_path / "book", images[:3], texts[:3], name="p1")
    make_page(tmp_path / "book", images[3:], texts[3:], name="p2")["image"].unlink()
    make_page(tmp_path / "book", images[3:], texts[3:], name="p3")["xml"].write_text("<PcGts><Page>")
    export = str(random_export[3])
    code, document = run("evaluate", "--model-dir", export, "--csv", str(tmp_path / "book"))
    assert code == PARTIAL_STATUS and document["lines"] == 3
    assert [page["page"].rsplit("/", 1)[1] for page in document["pages"]] == ["p1.xml"]
    unusable = {Path(problem["source"]).name: problem["reason"] for problem in document["unusable"]}
    assert sorted(unusable) == ["p2.xml", "p3.xml"]
    assert "p2.tif" in unusable["p2.xml"] and "XML" in unusable["p3.xml"]
    err = capsys.readouterr().err
    assert "2 page(s) or line(s) of pages could not be used: their lines are not in the figures" in err
    assert f"{tmp_path / 'book' / 'p3.xml'}: not well-formed XML" in err  # a page's problem has no line number
    assert "Traceback" not in err
    alone = tmp_path / "book" / "p3.xml"
    code, _ = run("evaluate", "--model-dir", export, "--csv", str(alone))
    assert code == 5 and "p3.xml: not well-formed XML" in capsys.readouterr().err  # nothing else to evaluate


def test_compare_two_pages_matches_by_id_then_by_overlap(tmp_path, lines, random_export):
    images, texts = lines
    gt = make_page(tmp_path / "gt", images, texts)
    code, document = run("evaluate", "--gt", str(gt["xml"]), "--pred", str(gt["xml"]))
    assert code == 0 and document["cer"] == 0 and document["lines"] == 5
    pred = tmp_path / "pred.xml"
    changed = (
        gt["xml"]
        .read_text()
        .replace('id="l1"', 'id="other"')
        .replace(f"<Unicode>{texts[1]}</Unicode>", "<Unicode>x</Unicode>")
    )
    pred.write_text(changed)
    code, document = run(
        "evaluate", "--gt", str(gt["xml"]), "--pred", str(pred), "--output", str(tmp_path / "lines.csv")
    )
    assert document["lines_without_prediction"] == 0 and document["lines"] == 5
    assert document["line_accuracy"] == pytest.approx(0.8)
    assert "other" in (tmp_path / "lines.csv").read_text()


def test_pages_of_the_same_name_in_two_folders_are_written_apart_and_never_over_each_other(tmp_path, lines, model):
    images, texts = lines
    first = make_page(tmp_path / "book1", images[:3], texts[:3])
    make_page(tmp_path / "book2", images[3:], texts[3:])
    sources = [str(tmp_path / "book1"), str(tmp_path / "book2")]
    summary = transcribe_pages(model, sources, tmp_path / "out")
    assert sorted(summary.written) == [str(tmp_path / "out" / book / "page.xml") for book in ("book1", "book2")]
    assert [len(load_document(path).lines) for path in sorted(summary.written)] == [3, 2]
    summary = transcribe_pages(model, [str(first["xml"]), str(first["xml"])], tmp_path / "again")
    assert summary.written == [str(tmp_path / "again" / "page.xml")] and len(summary.failed) == 1
    assert "where " + str(first["xml"]) + " was written in this run" in summary.failed[0]


def test_a_ground_truth_page_without_its_prediction_counts_as_read_as_nothing(tmp_path, lines):
    images, texts = lines
    make_page(tmp_path / "gt", images[:3], texts[:3], name="p1")
    make_page(tmp_path / "gt", images[3:], texts[3:], name="p2")
    make_page(tmp_path / "pred", images[:3], texts[:3], name="p1")
    code, document = run("evaluate", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred"))
    assert code == 0 and document["lines"] == 5 and document["line_accuracy"] == pytest.approx(0.6)
    assert document["pages_without_prediction"] == [str(tmp_path / "gt" / "p2.xml")]
    assert document["lines_without_prediction"] == 2


def test_tiff_line_images_are_read_like_png(tmp_path, lines, model):
    images, _ = lines
    tiff = tmp_path / "line.tif"
    gray = np.asarray(Image.open(images[0]).convert("L"))
    Image.fromarray(gray).convert("1").save(tiff, compression="group4")
    png = tmp_path / "line.png"
    Image.fromarray(np.asarray(Image.open(tiff).convert("L"))).save(png)
    assert model.predict([tiff]).texts == model.predict([png]).texts
    from tf_crnn.data.images import image_size

    assert image_size(str(tiff)) == Image.open(png).size


def test_a_model_cuts_pages_as_it_was_trained_but_finds_and_caches_them_where_this_run_says(tmp_path, random_export):
    export = tmp_path / "export"
    shutil.copytree(random_export[3], export)
    params = json.loads((export / "params.json").read_text(encoding="utf-8"))
    params["pages"] = {"padding": 0.3, "dewarp": True, "mets_group": "GT", "mets_image_group": "IMG", "cache_dir": "/x"}
    (export / "params.json").write_text(json.dumps(params), encoding="utf-8")
    options = page_run_options(export, "MINE")
    assert (options.padding, options.dewarp, options.mets_group, options.mets_image_group) == (0.3, True, "MINE", "")
    assert options.cache_dir == "" and training_page_options(export).mets_group == ""
    (export / "params.json").write_text("{", encoding="utf-8")
    for read in (training_page_options, training_text_options):
        with pytest.raises(ModelError, match=r"params.json: unreadable .*; export the model again"):
            read(export)


def test_a_page_a_mets_file_lists_but_that_is_not_on_disk_is_a_failed_page(tmp_path, lines, random_export):
    images, texts = lines
    make_page(tmp_path / "ws" / "GT", images, texts, image_name="page.tif")
    files = "".join(
        f'<mets:file ID="g{i}" MIMETYPE="application/vnd.prima.page+xml"><mets:FLocat xlink:href="GT/{name}"/>'
        "</mets:file>"
        for i, name in enumerate(["page.xml", "gone.xml"])
    )
    pages = "".join(
        f'<mets:div TYPE="page" ID="P{i}" ORDER="{i}"><mets:fptr FILEID="g{i}"/></mets:div>' for i in (0, 1)
    )
    mets = tmp_path / "ws" / "mets.xml"
    mets.write_text(
        '<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink"><mets:fileSec>'
        f'<mets:fileGrp USE="GT">{files}</mets:fileGrp></mets:fileSec><mets:structMap TYPE="PHYSICAL">'
        f'<mets:div TYPE="physSequence">{pages}</mets:div></mets:structMap></mets:mets>',
        encoding="utf-8",
    )
    code, document = run(
        "predict", "--model-dir", str(random_export[3]), str(mets), "--output-dir", str(tmp_path / "o")
    )
    assert code == PARTIAL_STATUS and document["pages"] == 1 and document["lines"] == 5
    assert len(document["failed"]) == 1 and "GT/gone.xml" in document["failed"][0]


def test_a_page_of_an_older_schema_records_the_recognition_in_its_comments(tmp_path, lines, random_export):
    images, texts = lines
    made = make_page(tmp_path / "in", images, texts)
    old = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15"
    made["xml"].write_text(made["xml"].read_text().replace(PAGE_NS, old))
    arguments = ["predict", "--model-dir", str(random_export[3]), str(made["xml"]), "--output-dir", str(tmp_path / "o")]
    for _ in range(2):  # written again over itself: tf-crnn recognises the page it wrote
        code, document = run(*arguments)
        assert code == 0 and document["written"] == [str(tmp_path / "o" / "page.xml")]
    written = (tmp_path / "o" / "page.xml").read_text()
    assert "MetadataItem" not in written and old in written
    assert "<Comments>text recognition: tf-crnn " in written and "<LastChange>" in written
    assert len(load_document(tmp_path / "o" / "page.xml").lines) == len(texts)
