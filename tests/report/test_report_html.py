"""The evaluation report's figures (alignment, confusions, CER by length) and its self-contained page."""

import base64
import io
import re

import pytest
from PIL import Image

from tf_crnn.metrics import TextMetrics, edit_distance
from tf_crnn.report import (
    REPORT_FILENAME,
    LineResult,
    cer_by_length,
    char_confusions,
    diff_segments,
    worst_lines,
    write_report,
)
from tf_crnn.report.analysis import bucket_width
from tf_crnn.report.html import IMAGE_HEIGHT, render_report

PAIRS = [
    ("The quick fox", "Tho quick fx"),
    ("ſchoͤne Buch", "ſchone Buch!"),
    ("1476", "1476"),
    ("a <b> & c", "a <b> & e"),
    ("abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz"),
]


def lines_of(pairs, path="missing.png"):
    return [LineResult(path, ref, hyp, 0.5) for ref, hyp in pairs]


def test_alignment_marks_substitutions_deletions_and_insertions():
    segments = diff_segments("The quick fox", "Tho quik fox!")
    assert [(s.kind, s.reference, s.prediction) for s in segments] == [
        ("equal", "Th", "Th"),
        ("replace", "e", "o"),
        ("equal", " qui", " qui"),
        ("delete", "c", ""),
        ("equal", "k fox", "k fox"),
        ("insert", "", "!"),
    ]
    assert "".join(s.reference for s in segments) == "The quick fox"
    assert "".join(s.prediction for s in segments) == "Tho quik fox!"


def test_confusions_add_up_to_the_character_errors_of_the_cer():
    confusions = char_confusions(PAIRS)
    assert confusions.total == sum(edit_distance(ref, hyp) for ref, hyp in PAIRS)
    assert confusions.substitutions[("e", "o")] == 1 and confusions.substitutions[("c", "e")] == 1
    assert confusions.deletions["o"] == 1 and confusions.deletions["\u0364"] == 1  # the combining e above
    assert confusions.insertions["!"] == 1
    assert sum(confusions.deletions[c] for c in "0123456789") == 10


def test_cer_by_length_splits_the_errors_of_the_whole_set():
    lines = lines_of(PAIRS)
    buckets = cer_by_length(lines)
    assert [(b.low, b.high) for b in buckets] == [(1, 5), (6, 10), (11, 15), (36, 40)]  # lengths 4 9 12 13 36
    assert sum(b.errors for b in buckets) == sum(line.errors for line in lines)
    assert sum(b.lines for b in buckets) == len(lines)
    assert buckets[0].cer == 0.0 and buckets[0].line_accuracy == 1.0
    assert buckets[-1].cer == pytest.approx(10 / 36)
    assert bucket_width(9) == 5 and bucket_width(75) == 10 and bucket_width(180) == 20 and bucket_width(1000) == 100


def test_worst_lines_most_errors_first_and_only_wrong_lines():
    worst = worst_lines(lines_of(PAIRS), 3)
    assert [line.errors for line in worst] == [10, 2, 2]
    assert all(line.reference != line.prediction for line in worst_lines(lines_of(PAIRS), 10))
    assert len(worst_lines(lines_of(PAIRS), 10)) == 4


def test_page_shows_the_figures_escapes_labels_and_embeds_shrunk_images(tmp_path):
    tall = tmp_path / "tall.png"
    Image.new("L", (600, 200), 255).save(tall)
    lines = [LineResult(str(tall), ref, hyp, 0.25) for ref, hyp in PAIRS]
    lines.append(LineResult(str(tmp_path / "gone.png"), "lost", "lust", 0.5))
    page = render_report(lines, data="data/eval.csv", model="output/default/export/x", n_worst=10)

    metrics = TextMetrics()
    metrics.update([line.reference for line in lines], [line.prediction for line in lines])
    for name, value in (("cer", metrics.cer), ("wer", metrics.wer), ("line-accuracy", metrics.line_accuracy)):
        assert re.search(rf'id="{name}">.*?<div class="value">{value:.2%}</div>', page)
    assert "a &lt;b&gt; &amp; " in page and "<b>" not in page  # labels are text, never markup
    assert 'data-images="4"' in page and page.count("<img ") == 4  # the 5th line with errors has no image
    assert "image not readable: " in page and "gone.png" in page
    encoded = re.search(r'src="data:image/png;base64,([^"]+)"', page)[1]
    image = Image.open(io.BytesIO(base64.b64decode(encoded)))
    assert image.size == (600 * IMAGE_HEIGHT // 200, IMAGE_HEIGHT)
    assert 'src="http' not in page and "<link" not in page  # nothing to fetch: opens without a server
    assert 'title="U+0364 COMBINING LATIN SMALL LETTER E"' in page


def test_report_folder_is_written_and_a_file_in_the_way_is_refused(tmp_path):
    path = write_report(tmp_path / "report", lines_of(PAIRS), data="eval.csv", model="m")
    assert path == tmp_path / "report" / REPORT_FILENAME and path.read_text(encoding="utf-8").startswith("<!DOCTYPE")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        write_report(tmp_path / "file", lines_of(PAIRS), data="eval.csv", model="m")


def test_an_empty_reading_is_said():
    page = render_report(lines_of([("abc", "")]), data="eval.csv", model="m")
    assert '<span class="text hyp"><span class="note">(nothing read)</span></span>' in page


def test_a_perfect_evaluation_says_so():
    page = render_report(lines_of([("abc", "abc")]), data="eval.csv", model="m")
    assert "No character errors." in page and "Every line was read exactly." in page
