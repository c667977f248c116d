"""Transcribing pages: every line of a PAGE-XML or ALTO page read by a model, written back into the same format.

The model is a :class:`~tf_crnn.serve.predictor.PredictionModel` (not imported here: it imports this
module for its ``predict_page``). The lines are cut as the model's training cut them (the ``pages``
section of the export's ``params.json``) and read in batches; the recognised text goes back into the
document: PAGE gets the line's ``TextEquiv`` with its confidence and one ``Word`` per word, ALTO one
``String`` per word with ``SP`` between them. A word's box comes from the columns of its characters
in the cut line, mapped back through the cut (deskewed or dewarped) onto the page. Everything else
in the document stays as it was, and a processing record names tf-crnn, its version and the model.

Files are written atomically and never over the input unless asked (``in_place``); a file in the
output folder is replaced only when tf-crnn wrote it and nobody changed it since: the last line of
a page tf-crnn writes is a comment with the digest of the rest.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from lxml import etree

from tf_crnn.data.formats import alto, pagexml
from tf_crnn.data.formats.mets import PageEntry
from tf_crnn.data.formats.page_document import PAGE, PageDocument, TextLine
from tf_crnn.data.formats.page_options import PageOptions
from tf_crnn.data.formats.pages import OpenedPage, cut_lines, list_pages, open_page
from tf_crnn.data.linecut import LineCut
from tf_crnn.data.rows import RowProblem
from tf_crnn.errors import DataError, ModelError, TfCrnnError
from tf_crnn.layout import PARAMS_FILENAME, read_params_section
from tf_crnn.serve.predictions import CharPrediction
from tf_crnn.utils.files import atomic_write_bytes

LOGGER = logging.getLogger(__name__)
SOFTWARE = "tf-crnn"
#: How the last line of a page tf-crnn writes begins: the digest of the file before it follows.
DIGEST_MARK = b"<!-- written by tf-crnn, sha256 "
DIGEST_LINE = re.compile(rb"\n?" + re.escape(DIGEST_MARK) + rb"[0-9a-f]{64} -->")
#: The fields of a training's ``pages`` section that say how lines were cut (the rest says where).
CUT_FIELDS = ("padding", "dewarp")
Polygon = list[tuple[float, float]]


@dataclass
class WordPrediction:
    """A recognised word: its text, mean character probability and outline on the page."""

    text: str
    confidence: float
    polygon: Polygon


@dataclass
class PageLinePrediction:
    """A line of the page with what the model read: text, confidence, words (empty for exports without
    character positions) and the characters with their columns in the cut line."""

    id: str
    region: str
    text: str
    confidence: float
    words: list[WordPrediction] = field(default_factory=list)
    chars: list[CharPrediction] | None = None
    line: TextLine | None = field(default=None, repr=False)


@dataclass
class PagePrediction:
    """The lines of one page, read; ``problems`` are the lines that could not be cut (left as they were)."""

    xml_path: Path
    image_path: Path
    kind: str
    lines: list[PageLinePrediction]
    problems: list[RowProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    document: PageDocument | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def training_page_options(export_dir: Path) -> PageOptions:
    """How the model's training cut lines from pages (the defaults for exports that predate the section).

    Only the cut is taken (padding, dewarping): where that training found its pages and kept its cut
    lines (METS groups, ``cache_dir``) belonged to its machine, not to this run.
    """
    section = read_params_section(export_dir, "pages")
    try:
        return PageOptions(**{name: section[name] for name in CUT_FIELDS if name in section})
    except (TfCrnnError, TypeError, ValueError) as error:
        raise ModelError(f"{export_dir / PARAMS_FILENAME}: its pages section cannot be used ({error})") from None


def words_of(chars: list[CharPrediction], cut: LineCut) -> list[WordPrediction]:
    """The words of a line (characters between spaces) with their page outlines and mean probabilities."""
    words: list[WordPrediction] = []
    current: list[CharPrediction] = []
    for char in [*chars, None]:
        if char is not None and not char.unit.isspace():
            current.append(char)
            continue
        if current:
            polygon = cut.box_on_page(current[0].x_start, current[-1].x_end)
            confidence = sum(c.probability for c in current) / len(current)
            words.append(WordPrediction("".join(c.unit for c in current), confidence, polygon))
        current = []
    return words


def predict_opened(model: Any, page: OpenedPage, options: PageOptions) -> PagePrediction:
    """Read every line of an opened page (the image decoded once, lines sent in the model's batches)."""
    return predict_cut(model, page, list(cut_lines(page, options, gray=_reads_gray(model))))


def _reads_gray(model: Any) -> bool:
    return getattr(model, "input_channels", 3) == 1


def predict_cut(model: Any, page: OpenedPage, cuts: list[tuple[TextLine, LineCut]]) -> PagePrediction:
    """Read the lines already cut from ``page``."""
    predictions = model.predict([cut.image for _, cut in cuts]) if cuts else None
    lines = []
    for index, (line, cut) in enumerate(cuts):
        read = predictions[index]
        words = words_of(read.chars, cut) if read.chars is not None else []
        lines.append(PageLinePrediction(line.id, line.region, read.text, read.confidence, words, read.chars, line))
    return PagePrediction(
        page.xml, page.image_path, page.document.kind, lines, page.problems, page.notes, page.document
    )


def predict_page(
    model: Any,
    xml_path: str | os.PathLike | PageEntry,
    image: str | os.PathLike | None = None,
    options: PageOptions | None = None,
) -> PagePrediction:
    """Read the lines of one PAGE-XML or ALTO page (its image found as training finds it, or ``image``)."""
    entry = xml_path if isinstance(xml_path, PageEntry) else PageEntry(Path(xml_path), Path(image) if image else None)
    options = options or training_page_options(model.export_dir)
    return predict_opened(model, open_page(entry), options)


def page_run_options(export_dir: Path, mets_group: str = "", mets_image_group: str = "") -> PageOptions:
    """The model's cut options with the METS file groups of this run (where to find pages, not how to cut)."""
    return dataclasses.replace(
        training_page_options(export_dir), mets_group=mets_group, mets_image_group=mets_image_group
    )


def _version() -> str:
    try:
        return metadata.version("tf-crnn")
    except metadata.PackageNotFoundError:
        return "unknown"


def _sealed(data: bytes) -> bytes:
    """The document with, as its last line, a comment holding the digest of everything before it."""
    body = DIGEST_LINE.sub(b"", data)  # the seal of an earlier write, where a written page is read again
    body = body if body.endswith(b"\n") else body + b"\n"
    return body + DIGEST_MARK + hashlib.sha256(body).hexdigest().encode() + b" -->\n"


def written_by_us(path: Path) -> bool:
    """Whether an existing file is a page tf-crnn wrote and nobody changed since, so writing it again loses
    nothing of the user's: its last line holds the digest of the rest. A page corrected by hand, or
    saved again by an editor (which drops the comment), is never overwritten."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    body, mark, seal = data.rpartition(DIGEST_MARK)
    return bool(mark) and seal.strip() == hashlib.sha256(body).hexdigest().encode() + b" -->"


def write_page(prediction: PagePrediction, out: str | os.PathLike, model_name: str = "", replace: bool = False) -> Path:
    """Write the page with the recognised text to ``out`` (atomically), in the format it was read in.

    ``replace`` allows writing over the input itself; another existing file is replaced only when
    tf-crnn wrote it and it was not changed since (:func:`written_by_us`).
    """
    out = Path(out)
    document = prediction.document
    same = out.exists() and out.resolve() == prediction.xml_path.resolve()
    if same and not replace:
        raise TfCrnnError(f"{out}: is the input page; write elsewhere (--output-dir) or give --in-place")
    if out.exists() and not same and not written_by_us(out):
        raise TfCrnnError(
            f"{out}: exists and was not written by tf-crnn, or was changed since (corrections are never "
            "overwritten); choose another --output-dir"
        )
    module = pagexml if document.kind == PAGE else alto
    for line in prediction.lines:
        words = [(word.text, word.confidence, word.polygon) for word in line.words]
        module.set_line_text(line.line, line.text, line.confidence, words)
    when = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    module.add_processing_record(document, SOFTWARE, _version(), model_name, when)
    data = etree.tostring(document.tree, xml_declaration=True, encoding="UTF-8", standalone=None)
    atomic_write_bytes(out, _sealed(data))
    return out


@dataclass
class PagesSummary:
    """What transcribing a set of pages did: pages and lines written, and what could not be done."""

    pages: int = 0
    lines: int = 0
    written: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped_lines: list[str] = field(default_factory=list)


def _common_folder(sources: list[str]) -> Path:
    """The folder the output paths are kept below: the sources' common folder (a file source's folder)."""
    folders = [str(path.resolve() if path.is_dir() else path.resolve().parent) for path in map(Path, sources)]
    return Path(os.path.commonpath(folders)) if folders else Path.cwd()


def _output_path(entry: PageEntry, base: Path, output_dir: Path | None) -> Path:
    if output_dir is None:
        return entry.xml
    try:
        relative = entry.xml.resolve().relative_to(base)
    except ValueError:
        relative = Path(entry.xml.name)
    return output_dir / relative


def transcribe_pages(
    model: Any,
    sources: list[str],
    output_dir: str | os.PathLike | None,
    in_place: bool = False,
    options: PageOptions | None = None,
) -> PagesSummary:
    """Transcribe every page of ``sources`` (XML files, METS files, folders, pairs lists) and write each one
    to ``output_dir`` (keeping its path below the sources' common folder, so that ``book1/0001.xml`` and
    ``book2/0001.xml`` stay apart) or, with ``in_place``, over itself.

    A page that cannot be read or written is named in ``failed`` and the others go on (so are a page
    whose output path another page of the run was written to and a page a METS file lists that is not
    on disk); a source that does not exist or holds no page stops the run before any page is read.
    """
    if output_dir is None and not in_place:
        raise TfCrnnError("give an output folder for the transcribed pages, or in_place=True to write over them")
    options = options or training_page_options(model.export_dir)
    out_root = Path(output_dir) if output_dir is not None else None
    summary = PagesSummary()
    pages = []
    for source in sources:
        entries, missing = list_pages(source, options)
        pages += entries
        summary.failed += missing
    for item in summary.failed:
        LOGGER.error("%s", item)
    base = _common_folder(sources)
    written: dict[Path, Path] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tf-crnn-pages") as reader:
        gray = _reads_gray(model)
        ahead = reader.submit(_opened_and_cut, pages[0], options, gray) if pages else None
        for index, entry in enumerate(pages):
            # the next page is decoded and cut while the model reads this one: both cost about as much
            current = ahead
            if index + 1 < len(pages):
                ahead = reader.submit(_opened_and_cut, pages[index + 1], options, gray)
            try:
                prediction = predict_cut(model, *current.result())
                for note in prediction.notes:
                    LOGGER.warning("%s: %s", entry.xml, note)
                out = _output_path(entry, base, out_root)
                earlier = written.get(out.resolve())
                if earlier is not None:
                    raise TfCrnnError(
                        f"{entry.xml}: would be written to {out}, where {earlier} was written in this run; "
                        "transcribe them into different --output-dir folders"
                    )
                write_page(prediction, out, str(model.export_dir), replace=in_place)
                written[out.resolve()] = entry.xml
            except (DataError, TfCrnnError, OSError) as error:
                summary.failed.append(str(error))
                LOGGER.error("%s", error)
                continue
            summary.pages += 1
            summary.lines += len(prediction.lines)
            summary.written.append(str(out))
            summary.skipped_lines += [str(problem) for problem in prediction.problems]
    return summary


def _opened_and_cut(
    entry: PageEntry, options: PageOptions, gray: bool
) -> tuple[OpenedPage, list[tuple[TextLine, LineCut]]]:
    page = open_page(entry)
    return page, list(cut_lines(page, options, gray=gray))


def is_page_input(path: str) -> bool:
    """Whether a ``predict`` input is page ground truth (XML, METS, pairs list, folder of XML) rather than images."""
    from tf_crnn.data.formats.sources import detect_format

    candidate = Path(path)
    if not candidate.exists():
        return candidate.suffix.lower() == ".xml"
    try:
        return detect_format(candidate) == "page"
    except DataError:
        return False
