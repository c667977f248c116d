"""Pages as labelled lines: page scans with PAGE-XML or ALTO ground truth, cut into line images once.

A page source is a PAGE-XML or ALTO file, a ``mets.xml`` (its physical structure map ties each page's
image and XML; :mod:`~tf_crnn.data.formats.mets`), a list of ``image<TAB>xml`` pairs, or a folder of
any of these (a folder with a ``mets.xml`` is read through it, so an OCR-D workspace's PAGE and ALTO
copies are not read twice). Each page's image is found (:func:`find_image`), its lines are cut
(:mod:`tf_crnn.data.linecut`) and kept as PNG files in a cache folder keyed by the XML, the image
and the cut options: the next run, epoch or command reads the cut lines without decoding the page.

Lines are rows like any other (their ``source`` is the XML, their ``line`` the line of the XML, and
``line_id`` the TextLine's id). Unusable pages and lines are :class:`~tf_crnn.data.rows.RowProblem`s
naming the file, the line and the id; lines without text and pages with regions but no lines are
skipped, counted and named in the log.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tf_crnn.data.formats import alto, line_cache, pagexml
from tf_crnn.data.formats.mets import PageEntry, read_mets
from tf_crnn.data.formats.page_document import METS, PAGE, PageDocument, TextLine, document_kind, parse_xml
from tf_crnn.data.formats.page_options import PageOptions
from tf_crnn.data.images import DECODE_ERRORS
from tf_crnn.data.linecut import LineCut, clip_polygon, cut_line
from tf_crnn.data.page_images import IMAGE_EXTENSIONS, png_bytes, read_image
from tf_crnn.data.rows import LabelledRow, RowProblem
from tf_crnn.data.text import TextOptions
from tf_crnn.errors import DataError
from tf_crnn.utils.files import atomic_write_bytes, write_json

LOGGER = logging.getLogger(__name__)

METS_NAME = "mets.xml"
LIST_SUFFIXES = (".tsv", ".txt", ".lst")
#: Changes when the cutting changes, so older cached lines are not reused.
CUT_VERSION = "2"
#: Declared and actual image sizes whose x and y ratios differ by less than this share are one scaling.
SCALE_TOLERANCE = 0.01
#: Line ids named in a log line, at most.
NAMED = 10


def is_pairs_list(path: str | os.PathLike) -> bool:
    """Whether a ``.tsv``/``.txt``/``.lst`` file lists ``image<TAB>xml`` pairs (its first line's second
    field names an ``.xml`` file), not ``image<TAB>text`` lines."""
    path = Path(path)
    if path.suffix.lower() not in LIST_SUFFIXES or not path.is_file():
        return False
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for line in handle:
            if line.strip():
                image, _, xml = line.rstrip("\r\n").partition("\t")
                return xml.strip().lower().endswith(".xml") and bool(image.strip())
    return False


def is_page_folder(path: Path) -> bool:
    """A folder holding XML files (page ground truth), as opposed to line images with ``.gt.txt`` files;
    ``.XML`` counts, as it does when the folder is read (``rglob`` patterns are case-sensitive)."""
    return any(p.suffix.lower() == ".xml" and p.is_file() for p in path.rglob("*"))


def _pairs(path: Path) -> list[PageEntry]:
    entries = []
    base = path.resolve().parent
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        image, found, xml = line.partition("\t")
        if not found or not xml.strip():
            raise DataError(f"{path}:{number}: expected image<TAB>xml")
        xml_path, image_path = (base / os.path.expanduser(item.strip()) for item in (xml, image))
        entries.append(PageEntry(xml_path, image_path, f"{path}:{number}"))
    return entries


def _folder(folder: Path, options: PageOptions) -> tuple[list[PageEntry], list[str]]:
    """The pages of a folder: through its ``mets.xml`` when it has one, else its XML files and subfolders."""
    if (folder / METS_NAME).is_file():
        return read_mets(folder / METS_NAME, options.mets_group, options.mets_image_group)
    entries: list[PageEntry] = []
    missing: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.is_dir() and not path.name.startswith("."):
            found, lost = _folder(path, options)
            entries += found
            missing += lost
        elif path.is_file() and path.suffix.lower() == ".xml":
            entries.append(PageEntry(path))
    return entries, missing


def list_pages(source: str | os.PathLike, options: PageOptions) -> tuple[list[PageEntry], list[str]]:
    """The pages of one source (XML file, ``mets.xml``, pairs list, folder), and the pages it lists that
    cannot be read (not on disk, no file in the chosen METS group), each named with its reason."""
    path = Path(source)
    if path.is_dir():
        entries, missing = _folder(path, options)
    elif not path.is_file():
        raise DataError(f"{path}: file not found")
    elif is_pairs_list(path):
        entries, missing = _pairs(path), []
    elif path.suffix.lower() == ".xml" and document_kind(parse_xml(path), path) == METS:
        entries, missing = read_mets(path, options.mets_group, options.mets_image_group)
    else:
        entries, missing = [PageEntry(path)], []
    if not entries and not missing:
        raise DataError(f"{path}: no PAGE-XML or ALTO file found")
    return entries, missing


def page_entries(source: str | os.PathLike, options: PageOptions) -> list[PageEntry]:
    """The pages of one source (see :func:`list_pages`); those listed that cannot be read are named in
    the log and counted."""
    entries, missing = list_pages(source, options)
    for item in missing[:NAMED]:
        LOGGER.warning("%s (skipped)", item)
    if missing:
        LOGGER.warning(
            "%s: %d page(s) listed but not read (named above, at most %d), skipped", source, len(missing), NAMED
        )
    return entries


def load_document(path: str | os.PathLike) -> PageDocument:
    """A PAGE-XML or ALTO file as a :class:`PageDocument` (DataError for anything else, METS included)."""
    tree = parse_xml(path)
    kind = document_kind(tree, path)
    if kind == METS:
        raise DataError(f"{path}: a METS file lists pages, it is not one: read it as a page source")
    reader = pagexml.read_page if kind == PAGE else alto.read_alto
    return reader(tree, Path(path))


def find_image(document: PageDocument, entry: PageEntry) -> tuple[Path, str | None]:
    """The page image, and a note when it is not the one the XML names.

    In order: the image a METS file or pairs list gives; the XML's image name relative to the XML's
    folder, then to each folder above it (OCR-D workspaces name images relative to the workspace);
    another image of the same METS page; an image with the XML's (or the named image's) stem beside
    the XML. DataError naming the XML, what was looked for and where, when none is on disk.
    """
    xml = entry.xml
    if entry.image is not None:
        if entry.image.is_file():
            return entry.image, None
        raise DataError(f"{xml}: page image {entry.image} not found (given by {entry.origin})")
    looked: list[str] = []
    name = document.image_name
    if name and "://" not in name:
        relative = Path(name)
        folders = [xml.parent, *xml.resolve().parent.parents] if not relative.is_absolute() else [Path("/")]
        for folder in folders:
            candidate = folder / relative
            if candidate.is_file():
                return candidate, None
            looked.append(str(folder))
    for candidate in entry.candidates:
        if candidate.is_file():
            if not name:
                return candidate, None
            return candidate, f"the image the XML names ({name}) is not on disk; using {candidate} ({entry.origin})"
    stems = dict.fromkeys([xml.stem] + ([Path(name).stem] if name else []))
    for stem in stems:
        for extension in IMAGE_EXTENSIONS:
            for candidate in (xml.parent / (stem + extension), xml.parent / (stem + extension.upper())):
                if candidate.is_file():
                    named = f"the image the XML names ({name}) is not on disk" if name else "the XML names no image"
                    return candidate, f"{named}; using {candidate} beside it"
    places = ", ".join(looked[:4]) + (" ..." if len(looked) > 4 else "")
    what = f"the image it names ({name!r}) in {places}" if name else "an image name (the XML gives none)"
    raise DataError(
        f"{xml}: page image not found: looked for {what}, and for {'/'.join(stems)}.tif/.png/.jpg/... beside "
        "the XML; give the image with a mets.xml or an image<TAB>xml list"
    )


@dataclass
class OpenedPage:
    """A page whose image is found and whose coordinates fit it (scaled where the XML declares another size)."""

    entry: PageEntry
    document: PageDocument
    image_path: Path
    image_size: tuple[int, int]
    notes: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def xml(self) -> Path:
        return self.entry.xml


def _image_header(path: Path) -> tuple[tuple[int, int], tuple[float, float] | None]:
    """The image's size and resolution (dots per inch, None if it records none) from its header (the
    pixels are decoded when the lines are cut); DataError for a file that is not an image, a damaged
    header or an image too large to decode (Pillow's limit)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            dpi = image.info.get("dpi")
            usable = dpi and len(dpi) == 2 and all(float(d) > 1 for d in dpi)
            return image.size, (float(dpi[0]), float(dpi[1])) if usable else None
    except DECODE_ERRORS as error:
        raise DataError(f"{path}: unreadable page image ({error})") from None


def open_page(entry: PageEntry) -> OpenedPage:
    """Read a page's XML, find its image and fit the coordinates to it; DataError for an unusable page."""
    document = load_document(entry.xml)
    image_path, note = find_image(document, entry)
    (width, height), dpi = _image_header(image_path)
    opened = OpenedPage(entry, document, image_path, (width, height), list(document.notes))
    if note:
        opened.notes.append(note)
    declared = document.declared_size
    if not (declared and all(declared)) and document.units_per_inch:
        if dpi is None:
            raise DataError(
                f"{entry.xml}: coordinates in physical units without a page size (Page WIDTH/HEIGHT), and the "
                f"image {image_path} records no resolution (DPI): add the page size to the ALTO file"
            )
        document.fit_to_image(dpi[0] / document.units_per_inch, dpi[1] / document.units_per_inch)
    if declared and declared != (width, height) and all(declared):
        rx, ry = width / declared[0], height / declared[1]
        if abs(rx - ry) > SCALE_TOLERANCE * max(rx, ry):
            raise DataError(
                f"{entry.xml}: the image {image_path} is {width}x{height} but the XML declares "
                f"{declared[0]}x{declared[1]}, and the two ratios differ ({rx:.3f} across, {ry:.3f} down): "
                "not the same page, or cropped; give the right image"
            )
        opened.notes.append(
            f"the image is {width}x{height}, the XML declares {declared[0]}x{declared[1]}: "
            f"coordinates scaled by {rx:.4g}"
        )
        document.fit_to_image(rx, ry)
    clipped = []
    for line in list(document.lines):
        xs = [x for x, _ in line.polygon]
        ys = [y for _, y in line.polygon]
        if max(xs) < 0 or max(ys) < 0 or min(xs) >= width or min(ys) >= height:
            document.lines.remove(line)
            reason = f"line {line.id}: polygon lies outside the {width}x{height} image"
            document.problems.append(RowProblem(str(entry.xml), line.xml_line, reason))
            continue
        line.polygon, moved = clip_polygon(line.polygon, width, height)
        if moved:
            clipped.append(line.id)
    if clipped:
        shown = ", ".join(clipped[:NAMED]) + (" ..." if len(clipped) > NAMED else "")
        opened.notes.append(
            f"{len(clipped)} line polygon(s) reach outside the image (negative or too large), clipped: {shown}"
        )
    opened.problems = list(document.problems)
    return opened


def cut_lines(
    page: OpenedPage, options: PageOptions, image=None, gray: bool = False
) -> Iterator[tuple[TextLine, LineCut]]:
    """Each line of the page with its cut image; the page image is decoded once (or given as ``image``),
    as gray with ``gray`` (for a grayscale model: a third of the pixels to cut). DataError naming the
    image when it cannot be decoded (truncated, corrupt): opening the page reads its header only."""
    pixels = read_image(page.image_path, gray) if image is None else image
    for line in page.document.lines:
        yield line, cut_line(pixels, line.polygon, line.baseline, options.padding, options.dewarp)


def _cache_folder(page: OpenedPage, options: PageOptions) -> Path:
    stat = page.image_path.stat()
    image = f"{page.image_path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    parts = [page.xml.read_bytes(), image.encode(), options.cut_key().encode(), CUT_VERSION.encode()]
    return line_cache.entry_folder(options.cache, parts)


def cached_lines(page: OpenedPage, options: PageOptions) -> list[tuple[TextLine, Path]]:
    """Each line of the page with its cut image file, cut now unless an earlier run cached them."""
    folder = _cache_folder(page, options)
    manifest = folder / line_cache.MANIFEST
    if manifest.is_file():
        files = json.loads(manifest.read_text(encoding="utf-8"))["lines"]
        if len(files) == len(page.document.lines) and all((folder / name).is_file() for name in files):
            line_cache.mark_used(folder)
            return [(line, folder / name) for line, name in zip(page.document.lines, files)]
    names = []
    for index, (_, cut) in enumerate(cut_lines(page, options)):
        name = f"{index:04d}.png"
        atomic_write_bytes(folder / name, png_bytes(cut.image))
        names.append(name)
    record = {"xml": str(page.xml), "image": str(page.image_path), "cut": options.cut_key(), "lines": names}
    write_json(manifest, record)
    return [(line, folder / name) for line, name in zip(page.document.lines, names)]


def _log_page(page: OpenedPage) -> None:
    for note in page.notes:
        LOGGER.warning("%s: %s", page.xml, note)


def read_page_rows(
    source: str | os.PathLike,
    text: TextOptions | None = None,
    multi_units: Iterable[str] = (),
    options: PageOptions | None = None,
) -> tuple[list[LabelledRow], list[RowProblem]]:
    """The transcribed lines of a page source as rows (cut line images, cached), and the problems.

    A page that cannot be used (XML, image missing, undecodable or of another shape) is one problem at
    its XML, and the other pages are read; a line that cannot be cut is one at its line. Lines without
    text are skipped, and pages with text regions but no lines (transcribed at region level only) are
    named: both counted in the log.
    """
    text = text or TextOptions()
    options = options or PageOptions()
    multi_units = tuple(multi_units)
    rows: list[LabelledRow] = []
    problems: list[RowProblem] = []
    untranscribed: list[str] = []
    region_only: list[str] = []
    for entry in page_entries(source, options):
        try:
            page = open_page(entry)
            cut = cached_lines(page, options) if page.document.lines else []
        except DataError as error:
            problems.append(RowProblem(str(entry.xml), 0, str(error).removeprefix(f"{entry.xml}: ")))
            continue
        _log_page(page)
        problems += page.problems
        if not page.document.lines and not page.problems:
            if page.document.regions:
                region_only.append(str(page.xml))
            continue
        for line, image in cut:
            units = text.split(line.text or "", multi_units)
            if not "".join(units).strip():
                untranscribed.append(f"{page.xml}:{line.xml_line} ({line.id})")
                continue
            rows.append(LabelledRow(str(image), units, str(page.xml), line.xml_line, line_id=line.id))
    if untranscribed:
        LOGGER.warning(
            "%s: %d line(s) without text skipped: %s%s",
            source, len(untranscribed), ", ".join(untranscribed[:NAMED]), " ..." if len(untranscribed) > NAMED else "",
        )  # fmt: skip
    if region_only:
        LOGGER.warning(
            "%s: %d page(s) transcribed at region level only (text regions, no TextLine), skipped: %s",
            source, len(region_only), ", ".join(region_only[:NAMED]),
        )  # fmt: skip
        if not rows and not problems:
            raise DataError(
                f"{source}: no text lines, only text regions ({', '.join(region_only[:3])}): tf-crnn learns from "
                "lines; segment the pages into lines first (e.g. with kraken or OCR-D)"
            )
    return rows, problems
