"""PAGE-XML (schema versions 2010 to 2019, any namespace prefix): its text lines, and the recognised text written back.

Reading: every ``TextLine`` with its ``Coords`` (``points="x,y ..."``, or the 2010 schema's ``Point``
children), ``Baseline``, id, region (the nearest enclosing region) and its line-level text (the
``TextEquiv`` with the lowest ``index``, which the schema makes the main text; one without an index
counts as the lowest). Lines follow the page's ``ReadingOrder`` (nested groups flattened; a region it
does not name, such as a table's cell or a region nested in another, takes the rank of the nearest
enclosing region it names; the rest come after, in document order), then their order in the region.
Writing (:func:`set_line_text`) replaces the line's ``TextEquiv`` and ``Word`` elements and leaves
everything else of the document as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from tf_crnn.data.formats.page_document import (
    PAGE,
    PageDocument,
    TextLine,
    children,
    descendants,
    format_points,
    local_name,
    namespaced,
    parse_points,
)


def _points(element: Any) -> list[tuple[float, float]]:
    """The points of a ``Coords``/``Baseline``: the ``points`` attribute or (2010 schema) ``Point`` children."""
    if element is None:
        return []
    if element.get("points") is not None:
        return parse_points(element.get("points"))
    return [(float(p.get("x")), float(p.get("y"))) for p in children(element, "Point")]


def _outline_and_baseline(element: Any) -> tuple[list[tuple[float, float]], list[tuple[float, float]] | None]:
    polygon = _points(next(iter(children(element, "Coords")), None))
    return polygon, _points(next(iter(children(element, "Baseline")), None)) or None


def _equiv_index(equiv: Any) -> float:
    """The ``TextEquiv``'s ``index``; one without counts as the lowest. ValueError for one that is not a number."""
    index = equiv.get("index")
    return float("-inf") if index is None else int(index)


def line_text(element: Any) -> str | None:
    """The line-level ``TextEquiv/Unicode`` with the lowest ``index`` (the schema's main text: ground truth
    at 0 stays ahead of an engine's reading at 1), the first of equals; None if there is none.
    ValueError when an index is not a whole number."""
    equivs = children(element, "TextEquiv")
    if not equivs:
        return None
    chosen = min(equivs, key=_equiv_index)
    unicode = children(chosen, "Unicode")
    if not unicode:
        return None
    return unicode[0].text or ""


def _reading_order(page: Any) -> list[str]:
    """Region ids in the page's reading order (nested groups flattened, by ``index`` where given)."""

    def walk(group: Any) -> list[str]:
        items = [child for child in group if local_name(child).endswith(("Indexed", "Group", "Ref"))]
        if any(child.get("index") is not None for child in items):
            items.sort(key=lambda child: int(child.get("index", 0)))
        order = []
        for child in items:
            if child.get("regionRef"):
                order.append(child.get("regionRef"))
            if local_name(child).startswith(("OrderedGroup", "UnorderedGroup")):
                order.extend(walk(child))
        return order

    order: list[str] = []
    for reading in children(page, "ReadingOrder"):
        for group in reading:
            if group.get("regionRef"):
                order.append(group.get("regionRef"))
            order.extend(walk(group))
    return order


def _region_of(element: Any) -> Any:
    """The nearest region (``TextRegion``, ``TableRegion``, ...) enclosing ``element``, or None."""
    parent = element.getparent()
    while parent is not None and not local_name(parent).endswith("Region"):
        parent = parent.getparent()
    return parent


def _rank(line: Any, rank: dict[str, int]) -> int:
    """The reading-order rank of the nearest enclosing region that has one: ``ReadingOrder`` names a table,
    not its cells, and may name an outer region only. Lines of regions it never reaches come last."""
    region = _region_of(line)
    while region is not None:
        if region.get("id") in rank:
            return rank[region.get("id")]
        region = _region_of(region)
    return len(rank)


def read_page(tree: etree._ElementTree, xml_path: Path) -> PageDocument:
    """The page of a parsed PAGE-XML document."""
    pages = children(tree.getroot(), "Page")
    if not pages:
        raise_missing(xml_path)
    page = pages[0]
    size = None
    if page.get("imageWidth") and page.get("imageHeight"):
        size = (int(float(page.get("imageWidth"))), int(float(page.get("imageHeight"))))
    document = PageDocument(xml_path, PAGE, page.get("imageFilename"), size, tree=tree)
    regions = [node for node in page.iter() if local_name(node) == "TextRegion"]
    document.regions = len(regions)
    rank = {region_id: index for index, region_id in enumerate(_reading_order(page))}
    found = []
    for position, element in enumerate(descendants(page, "TextLine")):
        region = _region_of(element)
        region_id = region.get("id", "") if region is not None else ""
        line_id = element.get("id") or f"line{position + 1}"
        outline = document.outline(element, line_id, _outline_and_baseline, "no Coords: the line has no outline to cut")
        if outline is None:
            continue
        polygon, baseline = outline
        try:
            text = line_text(element)
        except ValueError as error:
            document.problem(element, line_id, f"a TextEquiv index is not a whole number ({error})")
            continue
        line = TextLine(line_id, region_id, polygon, baseline, text, element.sourceline or 0, element, document)
        found.append((_rank(element, rank), position, line))
    document.lines = [line for _, _, line in sorted(found, key=lambda item: item[:2])]
    return document


def raise_missing(xml_path: Path) -> None:
    from tf_crnn.errors import DataError

    raise DataError(f"{xml_path}: PAGE-XML without a <Page> element")


def set_line_text(
    line: TextLine, text: str, confidence: float, words: list[tuple[str, float, list[tuple[float, float]]]]
) -> None:
    """Write the recognised text of a line into its element: ``Word`` elements (``Coords``, ``TextEquiv``
    with ``conf``) and the line's ``TextEquiv``; earlier ones (ground truth, another engine's) are replaced.

    PAGE wants, in a ``TextLine``, ``Coords``, ``Baseline``, other elements, then ``Word``s, then
    ``TextEquiv``, then ``TextStyle``: the new elements go where the schema puts them. Word outlines
    are on the image and go back into the document's units (its declared page size).
    """
    element = line.element
    for old in children(element, "Word") + children(element, "TextEquiv"):
        element.remove(old)
    anchor = None
    for child in element:
        if local_name(child) in ("TextStyle", "UserDefined", "Labels") and anchor is None:
            anchor = child
    new = []
    for index, (word, word_conf, polygon) in enumerate(words, start=1):
        node = etree.Element(namespaced(element, "Word"), id=f"{line.id}_w{index}")
        outline = format_points(line.document.to_document(polygon))
        etree.SubElement(node, namespaced(element, "Coords"), points=outline)
        _text_equiv(node, word, word_conf)
        new.append(node)
    equiv = etree.Element(namespaced(element, "TextEquiv"), conf=f"{confidence:.4f}")
    etree.SubElement(equiv, namespaced(element, "Unicode")).text = text
    new.append(equiv)
    for node in new:
        if anchor is None:
            element.append(node)
        else:
            anchor.addprevious(node)


def _text_equiv(parent: Any, text: str, confidence: float) -> None:
    equiv = etree.SubElement(parent, namespaced(parent, "TextEquiv"), conf=f"{confidence:.4f}")
    etree.SubElement(equiv, namespaced(parent, "Unicode")).text = text


#: The first PAGE schema whose metadata has ``MetadataItem`` (older ones record processing in ``Comments``).
METADATA_ITEMS_FROM = "2018-07-15"
#: How a processing record in ``Comments`` begins (what tells a page tf-crnn wrote in an older schema).
COMMENT_MARK = "text recognition: "


def add_processing_record(document: PageDocument, software: str, version: str, model: str, when: str) -> None:
    """Name the software, its version and the model in the page's metadata, valid in its schema version: a
    ``MetadataItem`` from PAGE 2018 on, a line of ``Comments`` before (2010, 2013, 2017, whose metadata
    has no items). ``LastChange`` is set to ``when``; a page without metadata gets the required
    ``Creator``, ``Created`` and ``LastChange``."""
    root = document.tree.getroot()
    metadata = next(iter(children(root, "Metadata")), None)
    if metadata is None:
        metadata = etree.Element(namespaced(root, "Metadata"))
        root.insert(0, metadata)
        for name, text in (("Creator", software), ("Created", when), ("LastChange", when)):
            etree.SubElement(metadata, namespaced(root, name)).text = text
    for change in children(metadata, "LastChange"):
        change.text = when
    if _schema_date(root) < METADATA_ITEMS_FROM:
        comments = next(iter(children(metadata, "Comments")), None)
        if comments is None:
            comments = etree.Element(namespaced(root, "Comments"))
            last_change = children(metadata, "LastChange")
            anchor = last_change[-1] if last_change else None
            if anchor is not None:
                anchor.addnext(comments)
            else:
                metadata.append(comments)
        record = f"{COMMENT_MARK}{software} {version}, model {model}, {when}"
        comments.text = f"{comments.text.rstrip()}\n{record}" if (comments.text or "").strip() else record
        return
    item = etree.SubElement(
        metadata, namespaced(root, "MetadataItem"), type="processingStep", name="text recognition", value=software
    )
    labels = etree.SubElement(item, namespaced(root, "Labels"))
    for key, value in (("version", version), ("model", model), ("date", when)):
        etree.SubElement(labels, namespaced(root, "Label"), type=key, value=value)


def _schema_date(root) -> str:
    """The date that names the document's PAGE schema version (``.../pagecontent/2013-07-15``)."""
    return (etree.QName(root).namespace or "").rstrip("/").rsplit("/", 1)[-1]
