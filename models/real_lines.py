"""The real scans the shipped models are measured on (``../shared/data``), as tf-crnn CSVs.

- ``uw3``: the 50 binarized lines of printed English of ``uw3-lines-train/labels.csv`` (printed-latin);
- ``early-printed-books``: the 210 test lines of seven books printed 1476-1572 (historical-latin);
- ``page-xml``: every transcribed line of the PAGE-XML pages of ``page-xml/`` (German prints of
  1784, 1815 and 1879), cut out of its page by tf_crnn's page reader (historical-latin).

Used by ``models/build.py`` (the figures of a model card) and ``bench/pretrained.py``. Where a PAGE file
names an image that is not there, the image of the same stem (``_B.tif``, ``.tif``, ``.png``) that is
stands in, as the book's METS says for ``clauren_mimil_1815``; a line without text or polygon is
skipped and counted. The lines are cut by tf_crnn's page reader, as ``tf-crnn`` cuts a user's pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
UW3 = SHARED_DATA / "uw3-lines-train" / "labels.csv"
EARLY_PRINTED_BOOKS = SHARED_DATA / "early-printed-books"
PAGE_XML = SHARED_DATA / "page-xml"
#: The real line sets each shipped model is measured on.
MODEL_SETS = {"printed-latin": ("uw3",), "historical-latin": ("early-printed-books", "page-xml")}
DESCRIPTIONS = {
    "uw3": "UW3 (printed English, binarized scans)",
    "early-printed-books": "early printed books 1476-1572 (test lines)",
    "page-xml": "German prints 1784-1879 (PAGE-XML lines)",
}


@dataclass
class LineSet:
    """One real line set: its CSV, its lines, and what was left out (with reasons)."""

    name: str
    csv: Path
    lines: int
    skipped: list[str]

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.name]


def available(name: str) -> bool:
    return {"uw3": UW3, "early-printed-books": EARLY_PRINTED_BOOKS / "test.csv", "page-xml": PAGE_XML}[name].exists()


def line_set(name: str, work: Path, limit: int | None = None) -> LineSet:
    """The CSV of the real line set ``name`` (its first ``limit`` lines), written under ``work`` if needed."""
    from tf_crnn.data.formats.csv_rows import read_csv_rows, write_csv_rows

    if name == "page-xml":
        return page_xml_lines(work / "page_xml_lines", limit)
    source = UW3 if name == "uw3" else EARLY_PRINTED_BOOKS / "test.csv"
    rows, _ = read_csv_rows(source)
    rows = rows[:limit]
    target = work / f"{name}_{limit or 'all'}.csv"
    write_csv_rows(target, [(row.path, row.units) for row in rows], relative=False)
    return LineSet(name, target, len(rows), [])


def _page_image(xml_file: Path, name: str) -> Path | None:
    """The page image a PAGE file names, relative to its folder or the folders above (book, workspace),
    or the image of the same stem that is there (``_B.tif``, ``.tif``, ``.png``)."""
    for folder in (xml_file.parent, xml_file.parent.parent, xml_file.parent.parent.parent):
        named = folder / name
        candidates = [named] + [named.with_name(named.stem + suffix) for suffix in ("_B.tif", ".tif", ".png")]
        found = next((path for path in candidates if path.is_file()), None)
        if found:
            return found
    return None


def page_xml_lines(folder: Path, limit: int | None = None) -> LineSet:
    """Every transcribed TextLine of the PAGE files under ``page-xml/``, cut the way ``tf-crnn`` cuts pages.

    The pages go to :func:`tf_crnn.data.formats.pages.read_page_rows` as an ``image<TAB>xml`` list,
    so the lines are the ones a user's page source gives (polygon, background fill, deskew; cached
    under ``folder``); only finding the images the exports misname is done here.
    """
    from tf_crnn.data.formats.csv_rows import write_csv_rows
    from tf_crnn.data.formats.page_options import PageOptions
    from tf_crnn.data.formats.pages import load_document, read_page_rows

    folder.mkdir(parents=True, exist_ok=True)
    pairs, skipped = [], []
    page_files = sorted(p for p in PAGE_XML.rglob("*.xml") if p.name != "mets.xml" and "ALTO" not in p.parent.name)
    for xml_file in page_files:
        document = load_document(xml_file)
        if not document.lines:
            skipped.append(f"{xml_file.name}: no TextLine")
            continue
        image_file = _page_image(xml_file, document.image_name or "")
        if image_file is None:
            skipped.append(f"{xml_file.name}: image {document.image_name} not found ({len(document.lines)} lines)")
            continue
        pairs.append(f"{image_file}\t{xml_file}\n")
    pairs_file = folder / "pages.tsv"
    pairs_file.write_text("".join(pairs), encoding="utf-8")
    rows, problems = read_page_rows(pairs_file, options=PageOptions(cache_dir=str(folder / "cut")))
    skipped += [f"{Path(problem.source).name}:{problem.line}: {problem.reason}" for problem in problems]
    rows = rows[:limit]
    csv_file = folder / f"lines_{limit or 'all'}.csv"
    write_csv_rows(csv_file, [(row.path, row.units) for row in rows], relative=False)
    return LineSet("page-xml", csv_file, len(rows), skipped)
