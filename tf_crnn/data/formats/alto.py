"""ALTO (v2 to v4): its text lines, and the recognised text written back.

Reading: every ``TextLine`` with its outline (``Shape/Polygon/@POINTS``, else the box of
``HPOS``/``VPOS``/``WIDTH``/``HEIGHT``), its ``BASELINE`` (a y value, as in ALTO 2 to 4.1, or points,
as in 4.2+), its id, its ``TextBlock`` and its text: the ``String/@CONTENT`` in order, a space for
each ``SP``, ``HYP/@CONTENT`` kept as written. A document without any ``SP`` (some writers leave
them out) gets a space between strings whose boxes do not touch, and says so in its notes. Lines are in
document order, which is ALTO's reading order. Only the first ``Page`` of a file is read (the notes
count the others). Coordinates in ``mm10``/``inch1200`` units are scaled to the image by the page
size declared in them (the image-size check), else by the image's resolution (DPI), and word boxes
written back are scaled back into them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from tf_crnn.data.formats.page_document import (
    ALTO,
    PageDocument,
    TextLine,
    children,
    descendants,
    local_name,
    namespaced,
    parse_points,
)

BOX = ("HPOS", "VPOS", "WIDTH", "HEIGHT")


def _box(element: Any) -> list[tuple[float, float]]:
    x, y, width, height = (float(element.get(name)) for name in BOX)
    return [(x, y), (x + width, y), (x + width, y + height), (x, y + height)]


def _outline(element: Any) -> list[tuple[float, float]]:
    for shape in children(element, "Shape"):
        for polygon in children(shape, "Polygon"):
            return parse_points(polygon.get("POINTS", ""))
    if all(element.get(name) is not None for name in BOX):
        return _box(element)
    return []


def _outline_and_baseline(element: Any) -> tuple[list[tuple[float, float]], list[tuple[float, float]] | None]:
    polygon = _outline(element)
    return polygon, _baseline(element, polygon) if polygon else None


def _baseline(element: Any, polygon: list[tuple[float, float]]) -> list[tuple[float, float]] | None:
    value = (element.get("BASELINE") or "").strip()
    if not value:
        return None
    if " " in value or "," in value:
        return parse_points(value)
    xs = [x for x, _ in polygon]
    return [(min(xs), float(value)), (max(xs), float(value))]


def _apart(previous: Any, following: Any) -> bool:
    """Whether two strings' boxes leave a gap between them (True when a box is not given)."""
    try:
        end = float(previous.get("HPOS")) + float(previous.get("WIDTH"))
        return float(following.get("HPOS")) > end
    except (TypeError, ValueError):
        return True


def line_text(element: Any, spaces: bool) -> str | None:
    """The line's text from its ``String``, ``SP`` and ``HYP`` children (None without any ``String``).

    ``spaces``: the document marks spaces with ``SP``. Otherwise a space goes between two strings
    whose boxes do not touch (a string of punctuation set against its word stays joined to it).
    """
    parts: list[str] = []
    previous = None
    for child in element:
        name = local_name(child)
        if name == "String":
            if previous is not None and not spaces and _apart(previous, child):
                parts.append(" ")
            parts.append(child.get("CONTENT", ""))
            previous = child
        elif name == "SP":
            parts.append(" ")
        elif name == "HYP":
            parts.append(child.get("CONTENT", ""))
    return "".join(parts) if previous is not None else None


def read_alto(tree: etree._ElementTree, xml_path: Path) -> PageDocument:
    """The (first) page of a parsed ALTO document."""
    root = tree.getroot()
    image_name = None
    for info in descendants(root, "sourceImageInformation"):
        names = children(info, "fileName")
        if names and (names[0].text or "").strip():
            image_name = names[0].text.strip()
    pages = descendants(root, "Page")
    page = pages[0] if pages else root
    size = None
    if page.get("WIDTH") and page.get("HEIGHT"):
        size = (round(float(page.get("WIDTH"))), round(float(page.get("HEIGHT"))))
    document = PageDocument(xml_path, ALTO, image_name, size, tree=tree)
    if len(pages) > 1:
        document.notes.append(
            f"{len(pages) - 1} more Page element(s) not read: only the first page of an ALTO file is read; "
            "split it into one file per page"
        )
    unit = next((u.text.strip() for u in descendants(root, "MeasurementUnit") if u.text), "pixel")
    document.units_per_inch = UNITS_PER_INCH.get(unit)
    if unit != "pixel":
        by = "the declared page size" if size else "the image's resolution (no page size declared)"
        document.notes.append(f"coordinates in {unit}, scaled to the image by {by}")
    spaces = bool(descendants(root, "SP"))
    if not spaces:
        document.notes.append("no SP elements: a space is put between strings whose boxes do not touch")
    document.regions = len(descendants(page, "TextBlock"))
    for position, element in enumerate(descendants(page, "TextLine")):
        line_id = element.get("ID") or f"line{position + 1}"
        block = element.getparent()
        region = block.get("ID", "") if block is not None and local_name(block) == "TextBlock" else ""
        outline = document.outline(
            element,
            line_id,
            _outline_and_baseline,
            "no Shape and no HPOS/VPOS/WIDTH/HEIGHT: the line has no outline",
        )
        if outline is None:
            continue
        polygon, baseline = outline
        text = line_text(element, spaces)
        line = TextLine(line_id, region, polygon, baseline, text, element.sourceline or 0, element, document)
        document.lines.append(line)
    return document


#: ALTO's measurement units other than pixels, in units per inch.
UNITS_PER_INCH = {"mm10": 254.0, "inch1200": 1200.0}


def _attribute_number(value: float) -> str:
    return str(round(value))


def set_line_text(
    line: TextLine, text: str, confidence: float, words: list[tuple[str, float, list[tuple[float, float]]]]
) -> None:
    """Replace the line's ``String``/``SP``/``HYP`` children with the recognised words: one ``String``
    per word (``CONTENT``, box in the document's units, ``WC`` confidence) and an ``SP`` between words.

    ALTO holds a line's text only in its strings, and a ``TextLine`` needs at least one: without words
    (an export that gives no character positions, an empty reading) the whole ``text`` is one
    ``String`` over the line's box (``CONTENT=""`` for an empty line), so the text is kept and the file
    stays valid.
    """
    element = line.element
    for old in [child for child in element if local_name(child) in ("String", "SP", "HYP")]:
        element.remove(old)
    for index, (word, word_conf, polygon) in enumerate(words or [(text, confidence, line.polygon)]):
        if index:
            element.append(etree.Element(namespaced(element, "SP")))
        points = line.document.to_document(polygon)
        xs = [x for x, _ in points]
        ys = [y for _, y in points]
        node = etree.SubElement(element, namespaced(element, "String"))
        node.set("ID", f"{line.id}_w{index + 1}")
        node.set("HPOS", _attribute_number(min(xs)))
        node.set("VPOS", _attribute_number(min(ys)))
        node.set("WIDTH", _attribute_number(max(xs) - min(xs)))
        node.set("HEIGHT", _attribute_number(max(ys) - min(ys)))
        node.set("WC", f"{word_conf:.4f}")
        node.set("CONTENT", word)


def add_processing_record(document: PageDocument, software: str, version: str, model: str, when: str) -> None:
    """A processing step in the ``Description`` naming the software, its version and the model: ALTO 2's
    ``OCRProcessing/ocrProcessingStep``, or ``Processing`` from ALTO 3 on."""
    root = document.tree.getroot()
    description = next(iter(children(root, "Description")), None)
    if description is None:
        description = etree.Element(namespaced(root, "Description"))
        root.insert(0, description)
    namespace = etree.QName(root).namespace or ""
    index = len(descendants(description, "OCRProcessing")) + len(descendants(description, "Processing")) + 1
    if namespace.endswith(("ns-v2#", "ns-v1#")) or not namespace:
        outer = etree.SubElement(description, namespaced(root, "OCRProcessing"), ID=f"TFCRNN_{index}")
        step = etree.SubElement(outer, namespaced(root, "ocrProcessingStep"))
    else:
        step = etree.SubElement(description, namespaced(root, "Processing"), ID=f"TFCRNN_{index}")
    etree.SubElement(step, namespaced(root, "processingDateTime")).text = when
    etree.SubElement(step, namespaced(root, "processingStepDescription")).text = f"text recognition, model {model}"
    software_node = etree.SubElement(step, namespaced(root, "processingSoftware"))
    etree.SubElement(software_node, namespaced(root, "softwareName")).text = software
    etree.SubElement(software_node, namespaced(root, "softwareVersion")).text = version
