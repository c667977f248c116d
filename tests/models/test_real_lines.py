"""The real line sets the shipped models are measured on (skipped where ../shared/data is absent)."""

import pytest
from PIL import Image

from models import real_lines
from tf_crnn.data.formats.csv_rows import read_csv_rows
from tf_crnn.data.formats.pages import load_document


@pytest.mark.skipif(not real_lines.available("page-xml"), reason="needs ../shared/data/page-xml")
def test_page_xml_lines_are_every_transcribed_line_cut_by_the_page_reader(tmp_path):
    lines = real_lines.page_xml_lines(tmp_path)
    rows, problems = read_csv_rows(lines.csv)
    page_files = [p for p in real_lines.PAGE_XML.rglob("*.xml") if p.name != "mets.xml" and "ALTO" not in p.parent.name]
    expected = [line.text for page in page_files for line in load_document(page).lines if line.text]
    assert not problems
    assert lines.lines == len(rows) == len(expected)
    assert sorted(row.text for row in rows) == sorted(expected)
    assert lines.skipped == ["hilbert_zahlkoerper_1897_0370.xml: no TextLine"]  # the region-only page, named
    width, height = Image.open(rows[0].path).size
    assert width > 4 * height  # a line, not a page


@pytest.mark.skipif(not real_lines.available("page-xml"), reason="needs ../shared/data/page-xml")
def test_page_xml_lines_are_cut_once(tmp_path):
    first = real_lines.page_xml_lines(tmp_path, limit=5)
    modified = {p: p.stat().st_mtime_ns for p in (tmp_path / "cut").rglob("*.png")}
    second = real_lines.page_xml_lines(tmp_path, limit=5)
    assert first.lines == second.lines == 5
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "cut").rglob("*.png")} == modified
