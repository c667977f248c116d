"""METS files (OCR-D workspaces, digitisation workflows): which image and which PAGE/ALTO file make each page.

The physical structure map lists the pages in order; each page's ``fptr`` elements point at files of
the file section, grouped by use (``fileGrp USE="OCR-D-IMG"``, ``"OCR-D-GT-PAGE"``, ...). The
ground truth is read from one file group: the one the user names (or the first present of a
comma-separated list, for several workspaces that name it differently), else the only group holding
PAGE-XML or ALTO (groups listing the very same files count as one). Remote files (URLs) are never
fetched; pages whose files are not on disk, or that have no file in the group, are listed, not fatal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from tf_crnn.data.formats.page_document import descendants, local_name, parse_xml
from tf_crnn.errors import DataError

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
XML_TYPES = ("application/vnd.prima.page+xml", "application/alto+xml", "text/xml", "application/xml")


@dataclass(frozen=True)
class PageEntry:
    """One page to read: its XML, and where it is known, its image.

    ``image`` is the image a METS file group or an ``image<TAB>xml`` list gives; ``candidates`` are
    the other local images of a METS page, tried when the XML's own image name does not resolve.
    """

    xml: Path
    image: Path | None = None
    origin: str = ""
    candidates: tuple[Path, ...] = field(default=())


@dataclass(frozen=True)
class MetsFile:
    id: str
    group: str
    href: str
    mimetype: str

    @property
    def is_remote(self) -> bool:
        return urlparse(self.href).scheme not in ("", "file")

    @property
    def is_xml(self) -> bool:
        return self.mimetype in XML_TYPES or self.href.lower().endswith(".xml")

    def local_path(self, base: Path) -> Path:
        parsed = urlparse(self.href)
        return base / unquote(parsed.path if parsed.scheme == "file" else self.href)


def _files(root: Any) -> dict[str, MetsFile]:
    files: dict[str, MetsFile] = {}
    for group in descendants(root, "fileGrp"):
        use = group.get("USE", "")
        for element in group:
            if local_name(element) != "file":
                continue
            locations = [loc for loc in element if local_name(loc) == "FLocat"]
            if not locations or element.get("ID") is None:
                continue
            href = locations[0].get(XLINK_HREF, "")
            files[element.get("ID")] = MetsFile(element.get("ID"), use, href, element.get("MIMETYPE", ""))
    return files


def _order(div: Any, mets: Path) -> int:
    """A page's ``ORDER`` (0 without one); DataError naming the file and line for one that is not a number."""
    value = div.get("ORDER") or "0"
    try:
        return int(value)
    except ValueError:
        raise DataError(
            f"{mets}:{div.sourceline}: page {div.get('ID', '')} has ORDER={value!r}, not a whole number; fix the "
            "physical structure map"
        ) from None


def _pages(root: Any, mets: Path) -> list[Any]:
    for struct_map in descendants(root, "structMap"):
        if struct_map.get("TYPE", "").upper() == "PHYSICAL":
            pages = [div for div in descendants(struct_map, "div") if div.get("TYPE", "").lower() == "page"]
            return sorted(pages, key=lambda div: _order(div, mets))
    return []


def _xml_group(pages: list[list[MetsFile]], chosen: str, mets: Path) -> str:
    groups: dict[str, list[str]] = {}
    for files in pages:
        for item in files:
            if item.is_xml and not item.is_remote:
                groups.setdefault(item.group, []).append(item.href)
    if chosen:
        wanted = [name.strip() for name in chosen.split(",") if name.strip()]
        present = [name for name in wanted if name in groups]
        if not present:
            shown = ", ".join(groups) or "none"
            raise DataError(f"{mets}: no PAGE/ALTO file in the file group(s) {chosen!r} (groups with XML: {shown})")
        return present[0]
    distinct = {tuple(hrefs): group for group, hrefs in reversed(list(groups.items()))}
    if not distinct:
        raise DataError(f"{mets}: no file group of PAGE-XML or ALTO files in its physical structure map")
    if len(distinct) > 1:
        raise DataError(
            f"{mets}: PAGE/ALTO files in several file groups ({', '.join(groups)}): choose one with "
            "pages.mets_group (tf-crnn: --mets-group)"
        )
    return next(iter(distinct.values()))


def read_mets(path: str | os.PathLike, xml_group: str = "", image_group: str = "") -> tuple[list[PageEntry], list[str]]:
    """The pages of a METS file in physical order, and the pages that cannot be read (files not on disk,
    no PAGE/ALTO file in the chosen group: ground truth often covers some pages of a book only).

    Paths resolve against the METS file's folder (the workspace).
    """
    mets = Path(path)
    root = parse_xml(mets).getroot()
    if local_name(root) != "mets":
        raise DataError(f"{mets}: not a METS file (the root element is <{local_name(root)}>)")
    files = _files(root)
    base = mets.parent
    page_files: list[tuple[str, list[MetsFile]]] = []
    for div in _pages(root, mets):
        pointed = [files[p.get("FILEID")] for p in div if local_name(p) == "fptr" and p.get("FILEID") in files]
        page_files.append((div.get("ID", f"page {len(page_files) + 1}"), pointed))
    if not page_files:
        raise DataError(f"{mets}: no page in a physical structure map (structMap TYPE=PHYSICAL)")
    group = _xml_group([f for _, f in page_files], xml_group, mets)
    entries: list[PageEntry] = []
    missing: list[str] = []
    for page_id, pointed in page_files:
        xml = next((f for f in pointed if f.group == group and f.is_xml and not f.is_remote), None)
        if xml is None:
            missing.append(f"{mets}: page {page_id}: no PAGE/ALTO file in the file group {group}")
            continue
        xml_path = xml.local_path(base)
        if not xml_path.is_file():
            missing.append(f"{mets}: page {page_id}: {xml.href} (file group {group}) not found")
            continue
        images = [f for f in pointed if not f.is_xml and not f.is_remote]
        image = None
        if image_group:
            wanted = [name.strip() for name in image_group.split(",") if name.strip()]
            chosen = sorted((f for f in images if f.group in wanted), key=lambda f: wanted.index(f.group))
            if not chosen:
                missing.append(f"{mets}: page {page_id}: no image in the file group(s) {image_group!r}")
                continue
            image = chosen[0].local_path(base)
        candidates = tuple(f.local_path(base) for f in images)
        entries.append(PageEntry(xml_path, image, f"{mets} page {page_id}", candidates))
    return entries, missing
