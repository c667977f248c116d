"""Reader of line-image folders with transcriptions beside them (Calamari, kraken, OCRopus).

``0001.png`` or ``0001.nrm.png`` (any variant between the name and the image extension) beside
``0001.gt.txt``, in the folder or its subfolders. Each ``.gt.txt`` holds one line of text, which is
normalised and split into units by :class:`~tf_crnn.data.text.TextOptions`; its row is
``<name>.gt.txt:1`` in messages.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from tf_crnn.data.rows import LabelledRow, RowProblem
from tf_crnn.data.text import TextOptions
from tf_crnn.errors import DataError

LOGGER = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
GT_SUFFIX = ".gt.txt"


def _image_key(path: Path) -> str | None:
    """The name without its image extension (``0001.nrm``), or None for a file that is no image."""
    suffix = path.suffix.lower()
    return path.name[: -len(suffix)] if suffix in IMAGE_EXTENSIONS else None


def match_images(folder: Path, image_suffix: str | None = None) -> tuple[dict[Path, Path], list[RowProblem], int]:
    """Pair each ``.gt.txt`` with its image in the same folder.

    An image named exactly like the transcription (``0001.png``) wins; otherwise one variant
    (``0001.nrm.png``) is taken when it is the only one, and several make the pairing ambiguous.
    Returns the pairs (transcription -> image), the problems, and the number of unpaired images.
    """
    images: dict[Path, dict[str, Path]] = defaultdict(dict)
    transcriptions: list[Path] = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        if path.name.endswith(GT_SUFFIX):
            transcriptions.append(path)
        elif (key := _image_key(path)) is not None:
            images[path.parent][key] = path
    stems: dict[Path, set[str]] = defaultdict(set)
    for gt in transcriptions:
        stems[gt.parent].add(gt.name[: -len(GT_SUFFIX)])
    pairs: dict[Path, Path] = {}
    problems: list[RowProblem] = []
    for gt in transcriptions:
        stem = gt.name[: -len(GT_SUFFIX)]
        here = images[gt.parent]
        if image_suffix is not None:
            image = gt.parent / (stem + image_suffix)
            candidates = [image] if image.is_file() else []
        elif stem in here:
            candidates = [here[stem]]
        else:
            others = stems[gt.parent]
            candidates = [p for k, p in here.items() if k.startswith(stem + ".") and k not in others]
        if len(candidates) == 1:
            pairs[gt] = candidates[0]
        elif not candidates:
            problems.append(
                RowProblem(str(gt), 1, f"no image {stem}{image_suffix or '[.variant].png/.jpg/...'} beside it")
            )
        else:
            shown = ", ".join(p.name for p in candidates)
            problems.append(
                RowProblem(str(gt), 1, f"several images ({shown}); choose one with --image-suffix, e.g. .nrm.png")
            )
    unpaired = sum(len(found) for found in images.values()) - len(set(pairs.values()))
    return pairs, problems, unpaired


def transcription_text(gt: Path) -> str:
    """The one line of a ``.gt.txt`` file, without its line break; ValueError says why it is unusable."""
    try:
        text = gt.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    text = text.removesuffix("\n").removesuffix("\r")
    if "\n" in text or "\r" in text:
        raise ValueError("more than one line of text")
    return text


def read_gt_folder(
    folder: str | os.PathLike,
    text: TextOptions | None = None,
    multi_units: Iterable[str] = (),
    image_suffix: str | None = None,
) -> tuple[list[LabelledRow], list[RowProblem]]:
    """The rows of a folder of line images and ``.gt.txt`` files (sorted by path), and its problems."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{root}: folder not found")
    text = text or TextOptions()
    multi_units = tuple(multi_units)
    pairs, problems, unpaired = match_images(root, image_suffix)
    if not pairs and not problems:
        raise DataError(f"{root}: no {GT_SUFFIX} transcription found (in the folder or its subfolders)")
    if unpaired:
        LOGGER.warning("%s: %d image(s) without a %s transcription beside them are not used", root, unpaired, GT_SUFFIX)
    base = root.resolve()
    rows: list[LabelledRow] = []
    for gt, image in sorted(pairs.items()):
        try:
            units = text.split(transcription_text(gt), multi_units)
        except ValueError as error:
            problems.append(RowProblem(str(gt), 1, str(error)))
            continue
        if not units:
            problems.append(RowProblem(str(gt), 1, "empty transcription"))
            continue
        rows.append(LabelledRow(str(base / image.relative_to(root)), units, str(gt), 1))
    return rows, problems
