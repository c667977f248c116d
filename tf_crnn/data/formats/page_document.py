"""Page ground truth as the readers give it, whatever the format: a page, its image and its text lines.

The XML is parsed by lxml with everything that reaches beyond the file turned off: no DTD loaded,
no entity expanded, no network (schemas are never fetched). A document that declares entities is
refused outright, which stops external entities and entity-expansion bombs before they are read.
:func:`document_kind` tells PAGE-XML (any schema version, any namespace prefix), ALTO and METS apart
by their root element.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from tf_crnn.data.rows import RowProblem
from tf_crnn.errors import DataError

PAGE, ALTO, METS = "page", "alto", "mets"
ROOTS = {"PcGts": PAGE, "alto": ALTO, "mets": METS}

Point = tuple[float, float]


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def parse_xml(path: str | os.PathLike) -> etree._ElementTree:
    """The parsed document; DataError naming the file for a missing, unreadable (permissions), malformed or
    entity-declaring one, so a page source with one bad file names it instead of failing as a bug."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: XML file not found")
    try:
        tree = etree.parse(str(path), _parser())
    except etree.XMLSyntaxError as error:
        raise DataError(f"{path}: not well-formed XML ({error}); fix or export it again") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read the XML file ({error}); check its permissions") from None
    dtd = tree.docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise DataError(
            f"{path}: the document declares XML entities (<!ENTITY ...>), refused: entities can read other files "
            "or expand without bound; PAGE-XML and ALTO never need them"
        )
    return tree


def local_name(element: Any) -> str:
    """The tag without its namespace: ``{http://...}TextLine`` -> ``TextLine``."""
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def document_kind(tree: etree._ElementTree, path: str | os.PathLike) -> str:
    """PAGE, ALTO or METS, from the root element; DataError for anything else."""
    root = local_name(tree.getroot())
    kind = ROOTS.get(root) or ROOTS.get(root.lower())
    if kind is None:
        raise DataError(
            f"{path}: neither PAGE-XML (<PcGts>), ALTO (<alto>) nor METS (<mets>): the root element is <{root}>"
        )
    return kind


def namespaced(parent: Any, name: str) -> str:
    """The tag ``name`` in ``parent``'s namespace, so written elements belong to the document's schema version."""
    namespace = etree.QName(parent).namespace
    return f"{{{namespace}}}{name}" if namespace else name


def children(element: Any, name: str) -> list:
    """Direct children with this local name, whatever their namespace."""
    return [child for child in element if local_name(child) == name]


def descendants(element: Any, name: str) -> list:
    return [node for node in element.iter() if local_name(node) == name]


@dataclass
class TextLine:
    """One line of a page: where it is on the page and what it says (``None``: no transcription)."""

    id: str
    region: str
    polygon: list[Point]
    baseline: list[Point] | None
    text: str | None
    #: The line's position in the XML file (for messages).
    xml_line: int = 0
    element: Any = field(default=None, repr=False, compare=False)
    #: The page the line is on: its scale turns positions on the image back into the document's units.
    document: PageDocument | None = field(default=None, repr=False, compare=False)


@dataclass
class PageDocument:
    """One page: the XML's path, the image it names and declares the size of, and its lines in reading order.

    ``problems`` are the lines that cannot be used (no coordinates, a degenerate polygon), each with
    the file, the line of the XML and the line's id. ``regions`` counts the text regions, so a page
    transcribed at region level only (regions, no lines) can be named.

    ``scale`` is image pixels per document unit, across and down: 1 until :meth:`fit_to_image` fits the
    lines to an image of another size than the one declared (a rescaled scan, ALTO in ``mm10`` or
    ``inch1200``). Lines then hold image pixels, for cutting, and :meth:`to_document` turns positions
    found on the image (word boxes) back into the document's units for writing.
    """

    xml_path: Path
    kind: str
    image_name: str | None
    declared_size: tuple[int, int] | None
    lines: list[TextLine] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    regions: int = 0
    tree: Any = field(default=None, repr=False, compare=False)
    notes: list[str] = field(default_factory=list)
    scale: tuple[float, float] = (1.0, 1.0)
    #: Document units per inch for ALTO in ``mm10`` (254) or ``inch1200`` (1200); None for pixels.
    units_per_inch: float | None = None

    def fit_to_image(self, across: float, down: float) -> None:
        """Scale the lines' polygons and baselines by the image's pixels per document unit."""
        self.scale = (across, down)
        for line in self.lines:
            line.polygon = [(x * across, y * down) for x, y in line.polygon]
            if line.baseline:
                line.baseline = [(x * across, y * down) for x, y in line.baseline]

    def to_document(self, points: list[Point]) -> list[Point]:
        """Positions on the image (pixels) in the document's own units."""
        across, down = self.scale
        return [(x / across, y / down) for x, y in points]

    def problem(self, element: Any, line_id: str, reason: str) -> None:
        where = getattr(element, "sourceline", 0) or 0
        self.problems.append(RowProblem(str(self.xml_path), where, f"line {line_id}: {reason}"))

    def outline(
        self, element: Any, line_id: str, read: Callable[[Any], tuple[list[Point], list[Point] | None]], missing: str
    ) -> tuple[list[Point], list[Point] | None] | None:
        """The polygon and baseline ``read`` finds in the line's element, or None with the reason in ``problems``.

        The checks every format shares: unreadable numbers, no outline (``missing`` says what the
        format would have held), fewer than 3 points or no area.
        """
        try:
            polygon, baseline = read(element)
        except (TypeError, ValueError) as error:
            self.problem(element, line_id, f"unreadable coordinates ({error})")
            return None
        reason = polygon_problem(polygon) if polygon else missing
        if reason:
            self.problem(element, line_id, reason)
            return None
        return polygon, baseline


def parse_points(text: str) -> list[Point]:
    """``"x1,y1 x2,y2 ..."`` (PAGE, ALTO 3+) or ``"x1 y1 x2 y2 ..."`` (some ALTO writers) -> points.

    ValueError when the numbers do not make pairs.
    """
    text = (text or "").strip()
    if not text:
        return []
    if "," in text:
        pairs = [item.split(",") for item in text.replace(", ", ",").split()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError(f"points are not x,y pairs: {text[:60]!r}")
        return [(float(x), float(y)) for x, y in pairs]
    numbers = [float(item) for item in text.split()]
    if len(numbers) % 2:
        raise ValueError(f"an odd number of coordinates: {text[:60]!r}")
    return list(zip(numbers[0::2], numbers[1::2]))


def format_points(points: list[Point]) -> str:
    return " ".join(f"{round(x)},{round(y)}" for x, y in points)


def polygon_problem(polygon: list[Point]) -> str | None:
    """Why a polygon cannot outline a line (fewer than 3 points, no area), or None."""
    if len(polygon) < 3:
        return f"polygon has {len(polygon)} point(s), at least 3 are needed"
    area = 0.0
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1]):
        area += x1 * y2 - x2 * y1
    if abs(area) < 1.0:
        return "polygon has zero area"
    return None
