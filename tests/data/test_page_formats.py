# ruff: noqa: E501  (XML samples read best one element per line)
"""PAGE-XML, ALTO and METS reading: lines, text, order, images found, and every bad input named."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
from lxml import etree
from PIL import Image

from tests.page_samples import ALTO_NS, PAGE_NS, alto_xml, make_page, page_xml
from tf_crnn.data.formats import alto, pagexml
from tf_crnn.data.formats.mets import PageEntry, read_mets
from tf_crnn.data.formats.page_options import PageOptions
from tf_crnn.data.formats.pages import cut_lines, load_document, open_page, page_entries, read_page_rows
from tf_crnn.data.formats.sources import detect_format, read_rows
from tf_crnn.errors import DataError

BOXES = [[(10, 10), (110, 10), (110, 30), (10, 30)], [(10, 40), (110, 40), (110, 60), (10, 60)]]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_CRNN_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def lines(tiny_dataset):
    """Four generated line images and their texts."""
    rows = [line.split(";", 1) for line in tiny_dataset["train"].read_text(encoding="utf-8").splitlines()[:4]]
    return [tiny_dataset["train"].parent / path for path, _ in rows], [
        label.strip("|").replace("|", "") for _, label in rows
    ]


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_page_lines_text_order_and_old_schema_points(tmp_path):
    xml = page_xml("p.png", (200, 100), BOXES, ["first", "second"], ids=["a", "b"])
    # the region's lines in reverse document order through a second region named first by the reading order
    xml = xml.replace('regionRef="r1"/>', 'regionRef="r2"/><RegionRefIndexed index="1" regionRef="r1"/>')
    xml = xml.replace("</TextRegion>", '</TextRegion><TextRegion id="r2"><TextLine id="c"><Coords><Point x="1" y="1"/>'
                      '<Point x="50" y="1"/><Point x="50" y="9"/></Coords><TextEquiv index="2"><Unicode>two</Unicode>'
                      '</TextEquiv><TextEquiv index="1"><Unicode>one</Unicode></TextEquiv></TextLine></TextRegion>')  # fmt: skip
    document = load_document(write(tmp_path / "p.xml", xml))
    assert [(line.id, line.region, line.text) for line in document.lines] == [
        ("c", "r2", "one"), ("a", "r1", "first"), ("b", "r1", "second"),
    ]  # fmt: skip
    assert document.lines[0].polygon == [(1.0, 1.0), (50.0, 1.0), (50.0, 9.0)]
    assert document.lines[1].baseline == [(10.0, 27.0), (110.0, 27.0)]
    assert document.declared_size == (200, 100) and document.image_name == "p.png"


def test_page_namespace_prefix_and_2013_schema(tmp_path):
    xml = page_xml("p.png", (200, 100), BOXES, ["x y", "z"]).replace(
        PAGE_NS, "http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15"
    )
    xml = xml.replace("<PcGts xmlns=", "<pc:PcGts xmlns:pc=").replace("</PcGts>", "</pc:PcGts>")
    xml = xml.replace("<", "<pc:").replace("<pc:/", "</pc:").replace("<pc:?xml", "<?xml").replace("<pc:pc:", "<pc:")
    xml = xml.replace("</pc:pc:", "</pc:")
    document = load_document(write(tmp_path / "p.xml", xml))
    assert [line.text for line in document.lines] == ["x y", "z"]


def test_alto_text_with_sp_hyp_and_boxes(tmp_path):
    xml = alto_xml("p.png", (200, 100), BOXES, ["ab cd", "e"])
    xml = xml.replace('<String CONTENT="e"/>', '<String CONTENT="e"/><HYP CONTENT="¬"/>')
    document = load_document(write(tmp_path / "a.xml", xml))
    assert [line.text for line in document.lines] == ["ab cd", "e¬"]
    assert document.lines[0].polygon == [(10.0, 10.0), (110.0, 10.0), (110.0, 30.0), (10.0, 30.0)]
    assert document.lines[0].baseline == [(10.0, 27.0), (110.0, 27.0)]
    assert document.image_name == "p.png" and document.kind == "alto"


def test_alto_without_sp_joins_strings_whose_boxes_are_apart(tmp_path):
    line = ('<TextLine ID="t" HPOS="0" VPOS="0" WIDTH="90" HEIGHT="20"><String CONTENT="Was" HPOS="0" VPOS="0" '
            'WIDTH="30" HEIGHT="20"/><String CONTENT="iſt" HPOS="40" VPOS="0" WIDTH="30" HEIGHT="20"/>'
            '<String CONTENT="?" HPOS="70" VPOS="0" WIDTH="5" HEIGHT="20"/></TextLine>')  # fmt: skip
    xml = f'<alto xmlns="http://www.loc.gov/standards/alto/ns-v2#"><Layout><Page><PrintSpace><TextBlock ID="b">{line}</TextBlock></PrintSpace></Page></Layout></alto>'
    document = load_document(write(tmp_path / "a.xml", xml))
    assert document.lines[0].text == "Was iſt?"
    assert any("no SP" in note for note in document.notes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<PcGts><Page", "not well-formed XML"),
        ('<?xml version="1.0"?><html><body/></html>', "neither PAGE-XML"),
        ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><PcGts>&e;</PcGts>', "declares XML entities"),
        ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
         '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><PcGts>&c;</PcGts>', "declares XML entities"),
    ],
)  # fmt: skip
def test_bad_documents_are_refused_with_the_file_named(tmp_path, text, expected):
    path = write(tmp_path / "bad.xml", text)
    with pytest.raises(DataError, match=expected) as error:
        load_document(path)
    assert str(path) in str(error.value)


def test_bad_lines_are_problems_naming_file_xml_line_and_id(tmp_path):
    boxes = [
        [(10, 10), (20, 10)],  # 2 points
        [(10, 10), (20, 10), (30, 10)],  # no area
        [(10, 10), (110, 10), (110, 30), (10, 30)],
    ]
    xml = page_xml("p.png", (200, 100), boxes, ["a", "b", "c"])
    xml = xml.replace(
        "</TextRegion>", '<TextLine id="nocoords"><TextEquiv><Unicode>d</Unicode></TextEquiv></TextLine></TextRegion>'
    )
    document = load_document(write(tmp_path / "p.xml", xml))
    reasons = [str(problem) for problem in document.problems]
    assert [line.id for line in document.lines] == ["l3"]
    assert "line l1: polygon has 2 point(s)" in reasons[0] and "line l2: polygon has zero area" in reasons[1]
    assert "line nocoords: no Coords" in reasons[2]
    assert all(reason.startswith(f"{tmp_path / 'p.xml'}:") for reason in reasons)


def test_page_rows_cut_once_and_cached(tmp_path, lines, caplog):
    images, texts = lines
    made = make_page(tmp_path / "book", images, [texts[0], None, texts[2], texts[3]])
    assert detect_format(made["xml"]) == "page" and detect_format(tmp_path / "book") == "page"
    with caplog.at_level(logging.WARNING):
        rows, problems = read_rows(made["xml"])
    assert problems == [] and [row.text for row in rows] == [texts[0], texts[2], texts[3]]
    assert "1 line(s) without text skipped" in caplog.text and "(l2)" in caplog.text
    assert rows[0].source == str(made["xml"]) and rows[0].line_id == "l1" and "(line l1)" in rows[0].where
    cut = np.asarray(Image.open(rows[0].path))
    assert cut.shape[0] > Image.open(images[0]).height  # padding above and below
    assert cut[0, 0] == 205  # the line's own (grey) background, not white or black
    mtime = {row.path: (tmp_path / row.path).stat().st_mtime_ns for row in rows}
    again, _ = read_rows(made["xml"])
    assert [row.path for row in again] == [row.path for row in rows]
    assert {row.path: (tmp_path / row.path).stat().st_mtime_ns for row in again} == mtime  # not cut again
    other, _ = read_rows(made["xml"], pages=PageOptions(padding=0.3))
    assert other[0].path != rows[0].path


def test_alto_and_page_of_one_page_give_the_same_rows(tmp_path, lines):
    images, texts = lines
    page = make_page(tmp_path / "p", images, texts)
    alto = make_page(tmp_path / "a", images, texts, kind="alto")
    page_rows, _ = read_rows(page["xml"])
    alto_rows, _ = read_rows(alto["xml"])
    assert [r.text for r in page_rows] == [r.text for r in alto_rows] == texts
    for a, b in zip(page_rows, alto_rows):
        assert np.array_equal(np.asarray(Image.open(a.path)), np.asarray(Image.open(b.path)))


def test_image_found_beside_the_xml_when_its_name_is_wrong(tmp_path, lines, caplog):
    images, texts = lines
    made = make_page(tmp_path / "p", images, texts, image_name="elsewhere/scan.jpg")
    with caplog.at_level(logging.WARNING):
        rows, problems = read_rows(made["xml"])
    assert len(rows) == 4 and not problems
    assert "elsewhere/scan.jpg) is not on disk; using" in caplog.text


def test_missing_image_is_a_problem_saying_what_was_looked_for(tmp_path, lines):
    images, texts = lines
    made = make_page(tmp_path / "p", images, texts, image_name="scan.jpg")
    made["image"].rename(tmp_path / "p" / "other.tif")
    rows, problems = read_rows(made["xml"])
    assert rows == [] and len(problems) == 1
    assert problems[0].source == str(made["xml"])
    assert "page image not found" in problems[0].reason and "'scan.jpg'" in problems[0].reason
    assert "mets.xml" in problems[0].reason


def test_image_relative_to_a_parent_folder_as_ocrd_workspaces_write(tmp_path, lines):
    images, texts = lines
    made = make_page(tmp_path / "ws" / "GT", images, texts)
    (tmp_path / "ws" / "IMG").mkdir()
    made["image"].rename(tmp_path / "ws" / "IMG" / "scan.tif")
    made["xml"].write_text(made["xml"].read_text().replace('imageFilename="page.tif"', 'imageFilename="IMG/scan.tif"'))
    rows, problems = read_rows(made["xml"])
    assert len(rows) == 4 and not problems


def test_scaled_image_scales_coordinates_and_inconsistent_one_is_refused(tmp_path, lines, caplog):
    images, texts = lines
    made = make_page(tmp_path / "p", images, texts)
    page = Image.open(made["image"])
    page.resize((page.width * 2, page.height * 2)).save(made["image"], compression="tiff_lzw")
    with caplog.at_level(logging.WARNING):
        rows, problems = read_rows(made["xml"])
    assert len(rows) == 4 and not problems and "coordinates scaled by 2" in caplog.text
    page.resize((page.width * 2, page.height)).save(made["image"], compression="tiff_lzw")
    rows, problems = read_rows(made["xml"])
    assert rows == [] and "the two ratios differ" in problems[0].reason


def test_coordinates_outside_the_image(tmp_path, lines, caplog):
    images, texts = lines
    made = make_page(tmp_path / "p", images, texts)
    text = made["xml"].read_text()
    first = " ".join(f"{x},{y}" for x, y in made["boxes"][0])
    text = text.replace(first, first.replace("30,", "-5,"), 1)  # negative x: clipped
    fourth = " ".join(f"{x},{y}" for x, y in made["boxes"][3])
    text = text.replace(fourth, "5000,5000 5100,5000 5100,5050 5000,5050")  # wholly outside: a problem
    made["xml"].write_text(text)
    with caplog.at_level(logging.WARNING):
        rows, problems = read_rows(made["xml"])
    assert len(rows) == 3 and "line l4: polygon lies outside" in problems[0].reason
    assert "1 line polygon(s) reach outside the image" in caplog.text and "l1" in caplog.text


def test_region_only_page_is_named(tmp_path):
    xml = page_xml("p.png", (200, 100), [], [])
    made = write(tmp_path / "p.xml", xml)
    Image.new("L", (200, 100), 255).save(tmp_path / "p.png")
    with pytest.raises(DataError, match="no text lines, only text regions .*p.xml.*segment the pages into lines"):
        read_page_rows(made)


def test_mets_ties_images_and_xml_and_names_missing_pages(tmp_path, lines, caplog):
    images, texts = lines
    workspace = tmp_path / "ws"
    made = make_page(workspace / "GT", images, texts, image_name="GT/page.jpg")  # the name of an absent image
    made["image"].rename(workspace / "GT" / "page_B.tif")
    mets = write(workspace / "mets.xml", """<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink">
<mets:fileSec>
<mets:fileGrp USE="IMG"><mets:file ID="i1" MIMETYPE="image/jpeg"><mets:FLocat LOCTYPE="URL" xlink:href="https://example.org/page.jpg"/></mets:file>
<mets:file ID="i2" MIMETYPE="image/jpeg"><mets:FLocat xlink:href="https://example.org/page2.jpg"/></mets:file></mets:fileGrp>
<mets:fileGrp USE="BIN"><mets:file ID="b1" MIMETYPE="image/tiff"><mets:FLocat xlink:href="GT/page_B.tif"/></mets:file></mets:fileGrp>
<mets:fileGrp USE="GT"><mets:file ID="g1" MIMETYPE="application/vnd.prima.page+xml"><mets:FLocat xlink:href="GT/page.xml"/></mets:file>
<mets:file ID="g2" MIMETYPE="application/vnd.prima.page+xml"><mets:FLocat xlink:href="GT/gone.xml"/></mets:file></mets:fileGrp>
</mets:fileSec>
<mets:structMap TYPE="PHYSICAL"><mets:div TYPE="physSequence">
<mets:div TYPE="page" ID="P1" ORDER="1"><mets:fptr FILEID="i1"/><mets:fptr FILEID="b1"/><mets:fptr FILEID="g1"/></mets:div>
<mets:div TYPE="page" ID="P2" ORDER="2"><mets:fptr FILEID="i2"/><mets:fptr FILEID="g2"/></mets:div>
<mets:div TYPE="page" ID="P3" ORDER="3"><mets:fptr FILEID="i2"/></mets:div>
</mets:div></mets:structMap></mets:mets>""")  # fmt: skip
    entries, missing = read_mets(mets)
    assert [entry.xml.name for entry in entries] == ["page.xml"] and "page P2: GT/gone.xml" in missing[0]
    assert missing[1].endswith("page P3: no PAGE/ALTO file in the file group GT")
    with caplog.at_level(logging.WARNING):
        rows, problems = read_rows(mets)
    assert len(rows) == 4 and not problems
    assert "page_B.tif" in caplog.text and "2 page(s) listed but not read" in caplog.text
    assert "page P3: no PAGE/ALTO file" in caplog.text
    assert detect_format(workspace) == "page" and len(page_entries(workspace, PageOptions())) == 1


def test_mets_with_page_and_alto_groups_needs_a_choice(tmp_path, lines):
    images, texts = lines
    workspace = tmp_path / "ws"
    make_page(workspace / "PAGE", images, texts, image_name="PAGE/page.tif")
    make_page(workspace / "ALTO", images, texts, kind="alto", image_name=None)
    mets = write(workspace / "mets.xml", """<mets xmlns="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink">
<fileSec><fileGrp USE="IMG"><file ID="i" MIMETYPE="image/tiff"><FLocat xlink:href="PAGE/page.tif"/></file></fileGrp>
<fileGrp USE="GT-PAGE"><file ID="p" MIMETYPE="application/vnd.prima.page+xml"><FLocat xlink:href="PAGE/page.xml"/></file></fileGrp>
<fileGrp USE="GT-ALTO"><file ID="a" MIMETYPE="application/alto+xml"><FLocat xlink:href="ALTO/page.xml"/></file></fileGrp></fileSec>
<structMap TYPE="PHYSICAL"><div TYPE="physSequence"><div TYPE="page" ID="P1"><fptr FILEID="i"/><fptr FILEID="p"/><fptr FILEID="a"/></div></div></structMap></mets>""")  # fmt: skip
    with pytest.raises(DataError, match="several file groups .*--mets-group"):
        read_rows(mets)
    alto_rows, _ = read_rows(mets, pages=PageOptions(mets_group="GT-ALTO"))
    page_rows, _ = read_rows(mets, pages=PageOptions(mets_group="nothing,GT-PAGE"))
    assert [r.text for r in alto_rows] == [r.text for r in page_rows] == texts
    with pytest.raises(DataError, match="no PAGE/ALTO file in the file group"):
        read_rows(mets, pages=PageOptions(mets_group="OTHER"))


def test_pairs_list(tmp_path, lines):
    images, texts = lines
    made = make_page(tmp_path / "p", images, texts, image_name="missing.png")
    pairs = write(tmp_path / "pages.tsv", f"p/{made['image'].name}\tp/{made['xml'].name}\n")
    assert detect_format(pairs) == "page"
    rows, problems = read_rows(pairs)
    assert len(rows) == 4 and not problems


def test_jpeg2000_page_reads_like_the_tiff_one(tmp_path, lines):
    images, texts = lines
    tiff = make_page(tmp_path / "t", images, texts)
    jp2 = make_page(tmp_path / "j", images, texts, image_suffix=".jp2")  # Pillow writes it lossless
    assert jp2["image"].read_bytes()[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n"
    tiff_rows, _ = read_rows(tiff["xml"])
    jp2_rows, problems = read_rows(jp2["xml"])
    assert not problems and [r.text for r in jp2_rows] == texts
    for a, b in zip(tiff_rows, jp2_rows):
        assert np.array_equal(np.asarray(Image.open(a.path)), np.asarray(Image.open(b.path)))


def test_alto_in_tenths_of_millimetres_is_scaled_to_the_image(tmp_path, lines, caplog):
    images, texts = lines
    pixels = make_page(tmp_path / "px", images, texts, kind="alto")
    per_pixel = 254 / 300  # mm10 per pixel of a 300 dpi scan
    mm10 = [[(x * per_pixel, y * per_pixel) for x, y in box] for box in pixels["boxes"]]
    size = (round(pixels["size"][0] * per_pixel, 1), round(pixels["size"][1] * per_pixel, 1))
    text = alto_xml(pixels["image"].name, size, [[(round(x), round(y)) for x, y in box] for box in mm10], texts)
    text = text.replace("<MeasurementUnit>pixel</MeasurementUnit>", "<MeasurementUnit>mm10</MeasurementUnit>")
    xml = write(pixels["xml"].with_name("mm10.xml"), text)
    with caplog.at_level(logging.WARNING):
        rows, problems = read_rows(xml)
    assert not problems and [r.text for r in rows] == texts
    assert "coordinates in mm10, scaled to the image by the declared page size" in caplog.text
    reference, _ = read_rows(pixels["xml"])
    for a, b in zip(reference, rows):
        cut, scaled = np.asarray(Image.open(a.path)), np.asarray(Image.open(b.path))
        assert abs(cut.shape[0] - scaled.shape[0]) <= 2 and abs(cut.shape[1] - scaled.shape[1]) <= 2


def blank_page(folder, size=(200, 100)):
    """A grey page image at ``folder/p.png`` (for tests where the pixels do not matter)."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("L", size, 205).save(folder / "p.png")
    return folder / "p.png"


@pytest.mark.parametrize("suffix", [".tif", ".png"])
def test_a_truncated_page_image_is_one_problem_and_the_other_pages_are_read(tmp_path, lines, suffix):
    images, texts = lines
    make_page(tmp_path / "book" / "good", images, texts)
    bad = make_page(tmp_path / "book" / "bad", images, texts, image_suffix=suffix)
    Image.fromarray(bad["page"]).save(bad["image"])  # uncompressed, so the TIFF's directory comes before the pixels
    data = bad["image"].read_bytes()
    bad["image"].write_bytes(data[: len(data) // 2])  # the header is whole: the page opens, its pixels do not decode
    rows, problems = read_rows(tmp_path / "book")
    assert [row.text for row in rows] == texts
    assert len(problems) == 1 and problems[0].source == str(bad["xml"])
    assert f"{bad['image']}: unreadable image, corrupt or truncated" in problems[0].reason
    with pytest.raises(DataError, match="corrupt or truncated"):  # predict catches it per page and goes on
        list(cut_lines(open_page(PageEntry(bad["xml"])), PageOptions()))


def test_an_image_over_pillows_size_limit_is_a_problem_not_a_crash(tmp_path, monkeypatch):
    blank_page(tmp_path)
    write(tmp_path / "p.xml", page_xml("p.png", (200, 100), BOXES, ["a", "b"]))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 200x100 is then over twice the limit: a "bomb"
    rows, problems = read_rows(tmp_path / "p.xml")
    assert rows == [] and len(problems) == 1
    assert "unreadable page image" in problems[0].reason and "decompression bomb" in problems[0].reason


def test_an_unreadable_xml_file_is_a_data_error_naming_it(tmp_path, monkeypatch):
    path = write(tmp_path / "p.xml", page_xml("p.png", (200, 100), BOXES, ["a", "b"]))

    def denied(source, parser=None):  # what lxml raises for a file without read permission
        raise OSError(f"Error reading file '{source}': failed to load \"{source}\": Permission denied")

    monkeypatch.setattr(etree, "parse", denied)
    with pytest.raises(DataError, match=r"p\.xml: cannot read the XML file .*Permission denied.*check its permissions"):
        load_document(path)


def test_a_mets_page_order_that_is_not_a_number_names_the_file(tmp_path):
    mets = write(tmp_path / "mets.xml", """<mets xmlns="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink">
<fileSec><fileGrp USE="GT"><file ID="p" MIMETYPE="application/vnd.prima.page+xml"><FLocat xlink:href="p.xml"/></file></fileGrp></fileSec>
<structMap TYPE="PHYSICAL"><div TYPE="physSequence">
<div TYPE="page" ID="P1" ORDER="first"><fptr FILEID="p"/></div></div></structMap></mets>""")  # fmt: skip
    with pytest.raises(DataError, match=r"mets\.xml:4: page P1 has ORDER='first', not a whole number"):
        read_mets(mets)


@pytest.mark.parametrize(
    ("equivs", "expected"),
    [
        ('<TextEquiv index="0"><Unicode>ground truth</Unicode></TextEquiv><TextEquiv index="1"><Unicode>ocr</Unicode></TextEquiv>', "ground truth"),
        ('<TextEquiv index="3"><Unicode>third</Unicode></TextEquiv><TextEquiv index="2"><Unicode>second</Unicode></TextEquiv>', "second"),
        ('<TextEquiv index="0"><Unicode>indexed</Unicode></TextEquiv><TextEquiv><Unicode>no index</Unicode></TextEquiv>', "no index"),
    ],
)  # fmt: skip
def test_the_text_equiv_with_the_lowest_index_is_the_line_text(tmp_path, equivs, expected):
    xml = page_xml("p.png", (200, 100), BOXES[:1], [None]).replace("</TextLine>", equivs + "</TextLine>")
    assert load_document(write(tmp_path / "p.xml", xml)).lines[0].text == expected


def test_a_text_equiv_index_that_is_not_a_number_is_a_problem(tmp_path):
    equiv = '<TextEquiv index="first"><Unicode>x</Unicode></TextEquiv>'
    xml = page_xml("p.png", (200, 100), BOXES, [None, "b"]).replace("</TextLine>", equiv + "</TextLine>", 1)
    document = load_document(write(tmp_path / "p.xml", xml))
    assert [line.id for line in document.lines] == ["l2"]
    assert "line l1: a TextEquiv index is not a whole number" in str(document.problems[0])


def test_lines_of_table_cells_and_nested_regions_take_the_rank_of_the_region_the_order_names(tmp_path):
    def line(line_id, y):
        return (f'<TextLine id="{line_id}"><Coords points="10,{y} 90,{y} 90,{y + 8} 10,{y + 8}"/>'
                f"<TextEquiv><Unicode>{line_id}</Unicode></TextEquiv></TextLine>")  # fmt: skip

    page = (f'<PcGts xmlns="{PAGE_NS}"><Page imageFilename="p.png" imageWidth="200" imageHeight="100">'
            '<ReadingOrder><OrderedGroup id="ro"><RegionRefIndexed index="0" regionRef="table"/>'
            '<RegionRefIndexed index="1" regionRef="outer"/><RegionRefIndexed index="2" regionRef="text"/>'
            "</OrderedGroup></ReadingOrder>"
            f'<TextRegion id="text">{line("last", 80)}</TextRegion>'
            f'<TextRegion id="outer"><TextRegion id="inner">{line("second", 60)}</TextRegion></TextRegion>'
            f'<TableRegion id="table"><TextRegion id="cell1">{line("first", 10)}</TextRegion>'
            f'<TextRegion id="cell2">{line("also first", 30)}</TextRegion></TableRegion></Page></PcGts>')  # fmt: skip
    document = load_document(write(tmp_path / "p.xml", page))
    assert [(line.text, line.region) for line in document.lines] == [
        ("first", "cell1"), ("also first", "cell2"), ("second", "inner"), ("last", "text"),
    ]  # fmt: skip


def test_word_boxes_go_back_into_the_units_of_a_page_declaring_another_size(tmp_path):
    blank_page(tmp_path, (200, 100))
    boxes = [[(2 * x, 2 * y) for x, y in box] for box in BOXES]  # the XML is of a scan twice the size
    write(tmp_path / "p.xml", page_xml("p.png", (400, 200), boxes, ["a b", "c"]))
    page = open_page(PageEntry(tmp_path / "p.xml"))
    first = page.document.lines[0]
    assert first.polygon[0] == (10.0, 10.0)  # cut from the image at its size
    pagexml.set_line_text(first, "a b", 0.9, [("a", 0.9, [(10, 10), (50, 10), (50, 30), (10, 30)])])
    coords = first.element.find(f"{{{PAGE_NS}}}Word/{{{PAGE_NS}}}Coords")
    assert coords.get("points") == "20,20 100,20 100,60 20,60"


def test_alto_in_tenths_of_millimetres_without_a_page_size_is_scaled_by_the_image_resolution(tmp_path, lines):
    images, texts = lines
    pixels = make_page(tmp_path / "px", images, texts, kind="alto")
    per_pixel = 254 / 300  # mm10 per pixel of a 300 dpi scan
    mm10 = [[(round(x * per_pixel), round(y * per_pixel)) for x, y in box] for box in pixels["boxes"]]
    text = alto_xml(pixels["image"].name, (1, 1), mm10, texts).replace(">pixel<", ">mm10<")
    text = re.sub(r'<Page ID="p1" WIDTH="1" HEIGHT="1"', '<Page ID="p1"', text)
    xml = write(pixels["xml"].with_name("mm10.xml"), text)
    rows, problems = read_rows(xml)  # the image records no resolution: nothing to scale by
    assert not rows and "without a page size (Page WIDTH/HEIGHT)" in problems[0].reason
    with Image.open(pixels["image"]) as image:
        image.load()
        image.save(pixels["image"], dpi=(300, 300))
    rows, problems = read_rows(xml)
    assert not problems and [r.text for r in rows] == texts
    reference, _ = read_rows(pixels["xml"])
    for a, b in zip(reference, rows):
        cut, scaled = np.asarray(Image.open(a.path)), np.asarray(Image.open(b.path))
        assert abs(cut.shape[0] - scaled.shape[0]) <= 2 and abs(cut.shape[1] - scaled.shape[1]) <= 2


def test_alto_in_mm10_gets_its_word_boxes_back_in_mm10(tmp_path):
    blank_page(tmp_path, (300, 150))
    mm10_per_pixel = 254 / 300  # a 300 dpi scan
    box = [(round(x * mm10_per_pixel), round(y * mm10_per_pixel)) for x, y in BOXES[0]]
    text = alto_xml("p.png", (254, 127), [box], ["a"]).replace(">pixel<", ">mm10<")
    write(tmp_path / "a.xml", text)
    line = open_page(PageEntry(tmp_path / "a.xml")).document.lines[0]
    alto.set_line_text(line, "a", 0.9, [("a", 0.9, [(30, 30), (90, 30), (90, 60), (30, 60)])])
    string = line.element.find(f"{{{ALTO_NS}}}String")
    assert [string.get(name) for name in ("HPOS", "VPOS", "WIDTH", "HEIGHT")] == [
        str(round(value * mm10_per_pixel)) for value in (30, 30, 60, 30)
    ]


@pytest.mark.parametrize("text", ["a line read without positions", ""])
def test_an_alto_line_without_words_gets_one_string_over_its_box(tmp_path, text):
    path = write(tmp_path / "a.xml", alto_xml("p.png", (200, 100), BOXES, ["old text", "b"]))
    document = load_document(path)
    line = document.lines[0]
    alto.set_line_text(line, text, 0.8, [])
    strings = line.element.findall(f"{{{ALTO_NS}}}String")
    assert len(strings) == 1 and strings[0].get("CONTENT") == text and strings[0].get("WC") == "0.8000"
    assert [strings[0].get(name) for name in ("HPOS", "VPOS", "WIDTH", "HEIGHT")] == ["10", "10", "100", "20"]
    document.tree.write(str(path))
    assert load_document(path).lines[0].text == text


def test_a_folder_of_upper_case_xml_files_is_read_as_pages(tmp_path):
    blank_page(tmp_path / "book")
    write(tmp_path / "book" / "P.XML", page_xml("p.png", (200, 100), BOXES, ["a", "b"]))
    assert detect_format(tmp_path / "book") == "page"
    rows, problems = read_rows(tmp_path / "book")
    assert [row.text for row in rows] == ["a", "b"] and not problems


def test_an_alto_file_of_several_pages_says_how_many_are_not_read(tmp_path, caplog):
    blank_page(tmp_path)
    text = alto_xml("p.png", (200, 100), BOXES, ["a", "b"])
    page = text[text.index("<Page ") : text.index("</Page>") + len("</Page>")]
    text = text.replace("</Layout>", page.replace('ID="p1"', 'ID="p2"') * 2 + "</Layout>")
    write(tmp_path / "a.xml", text)
    with caplog.at_level(logging.WARNING):
        rows, _ = read_rows(tmp_path / "a.xml")
    assert [row.text for row in rows] == ["a", "b"]
    assert "2 more Page element(s) not read: only the first page of an ALTO file is read" in caplog.text
