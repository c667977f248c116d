"""Reading inputs and writing predictions for ``tf-crnn predict``, for collections of any size.

Inputs are image files, folders (their image files: PNG, JPEG, BMP, GIF, TIFF, JPEG 2000), glob
patterns (quoted, ``**`` allowed) and/or the image paths of a labelled list (a tf-crnn CSV, a
``path<TAB>text`` list or a ``.gt.txt`` folder, as training reads them). Output formats:

* ``csv`` (default): ``path;text;confidence`` lines, plus ``beam_i;log_prob_i`` pairs with ``--top-n``
  and a space-separated ``char_probs`` column with ``--chars``; an image that could not be read is
  ``path;;;error: <reason>``. A field holding the delimiter or a double quote (a semicolon in the
  text is common) is quoted as standard CSV does, so any CSV reader splits the rows right;
* ``jsonl``: one JSON object per line with the same fields, characters with their positions; an
  image that could not be read is ``{"path": ..., "error": ...}``;
* ``pred-txt``: the transcription in ``<image>.pred.txt`` beside each image (nothing for an image that
  could not be read).

Lines are written as they are transcribed and flushed, so an interrupted run keeps what it did, and
:func:`done_paths` tells a resumed run which images its output holds already.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
from pathlib import Path
from typing import TextIO

from tf_crnn.data.formats.sources import detect_format, read_rows
from tf_crnn.data.rows import raise_for_problems
from tf_crnn.errors import DataError
from tf_crnn.serve.predictions import LinePrediction
from tf_crnn.utils.files import atomic_write_text

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".jp2")
FORMATS = ("csv", "jsonl", "pred-txt")
PRED_TXT_SUFFIX = ".pred.txt"


def image_paths(inputs: list[str], csv_file: str | None, csv_delimiter: str, split_delimiter: str) -> list[str]:
    """Expand files, folders and glob patterns (in the given order), then the image paths of a labelled
    list (``csv_file``: a tf-crnn CSV, a ``path<TAB>text`` list or a folder of ``.gt.txt`` lines)."""
    looked_for = ", ".join(IMAGE_SUFFIXES)
    paths: list[str] = []
    for item in inputs:
        if os.path.isdir(item):
            found = sorted(str(p) for p in Path(item).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise DataError(f"{item}: the folder holds no image (looked for {looked_for} files)")
            paths += found
        elif glob.has_magic(item):
            matches = sorted(p for p in glob.glob(item, recursive=True) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
            if not matches:
                raise DataError(f"no image matches {item!r} (looked for {looked_for} files)")
            paths += matches
        else:
            paths.append(item)
    if csv_file:
        if detect_format(csv_file) == "tfrecord":
            raise DataError(f"{csv_file}: TFRecord shards hold images, not paths: use tf-crnn evaluate")
        rows, problems = read_rows(csv_file, csv_delimiter=csv_delimiter, split_delimiter=split_delimiter)
        raise_for_problems(problems, f"unreadable rows in {csv_file}")
        paths += [row.path for row in rows]
    return paths


def line_record(path: str, line: LinePrediction, beams: bool = True, chars: bool = True) -> dict:
    """One prediction as JSON-ready values; ``beams``/``chars`` include those when the prediction has them."""
    if line.error is not None:
        return {"path": path, "error": line.error}
    record: dict = {"path": path, "text": line.text, "confidence": round(line.confidence, 6)}
    if beams and line.beams is not None:
        record["beams"] = [{"text": text, "log_prob": round(score, 4)} for text, score in line.beams]
    if chars and line.chars is not None:
        record["chars"] = [
            {
                "unit": c.unit,
                "prob": round(c.probability, 4),
                "x_start": round(c.x_start, 1),
                "x_end": round(c.x_end, 1),
            }
            for c in line.chars
        ]
    return record


def csv_line(path: str, line: LinePrediction, delimiter: str, top_n: bool, chars: bool) -> str:
    """One output row, without its line end; fields holding the delimiter or a quote are quoted."""
    if line.error is not None:
        fields = [path, "", "", f"error: {line.error}"]
    else:
        fields = [path, line.text, f"{line.confidence:.4f}"]
        if top_n and line.beams is not None:
            for text, score in line.beams:
                fields += [text, f"{score:.4f}"]
        if chars and line.chars is not None:
            fields.append(" ".join(f"{c.probability:.4f}" for c in line.chars))
    row = io.StringIO()
    csv.writer(row, delimiter=delimiter, lineterminator="").writerow(fields)
    return row.getvalue()


def write_prediction(
    path: str,
    line: LinePrediction,
    out: TextIO | None,
    output_format: str,
    delimiter: str = ";",
    top_n: bool = False,
    chars: bool = False,
) -> None:
    """Write one line's prediction where ``output_format`` says, at once (flushed)."""
    if output_format == "pred-txt":
        if line.error is None:
            atomic_write_text(Path(path).with_suffix(PRED_TXT_SUFFIX), line.text + "\n")
        return
    if output_format == "jsonl":
        out.write(json.dumps(line_record(path, line, top_n, chars), ensure_ascii=False) + "\n")
    else:
        out.write(csv_line(path, line, delimiter, top_n, chars) + "\n")
    out.flush()


def done_paths(
    paths: list[str], output: str | None, output_format: str, delimiter: str = ";"
) -> tuple[set[str], dict[str, str]]:
    """The images of ``paths`` that an earlier run wrote into ``output`` (or, for pred-txt, beside them), and
    of those the ones it could not read, with its reason: a resumed run skips them all and counts the
    latter as failed again, so that its exit status still says the output holds errors. A last line cut
    by an interruption (it lacks its line end) does not count, so that image is transcribed again. The
    output is read line by line: resuming a run over millions of images holds only their paths."""
    if output_format == "pred-txt":
        return {path for path in paths if Path(path).with_suffix(PRED_TXT_SUFFIX).is_file()}, {}
    if output is None or not Path(output).is_file():
        return set(), {}
    wanted = set(paths)
    done: set[str] = set()
    errors: dict[str, str] = {}
    with open(output, encoding="utf-8") as handle:
        for text in handle:
            if not text.endswith("\n"):
                break  # the last line, cut short
            path, error = _written_row(text[:-1], output_format, delimiter)
            if path in wanted:
                done.add(path)
                if error is not None:
                    errors[path] = error
    return done, errors


def _written_row(text: str, output_format: str, delimiter: str) -> tuple[str | None, str | None]:
    """The image path of one complete output row and its error (None if it was read); (None, None) else."""
    if not text.strip():
        return None, None
    if output_format == "jsonl":
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            return None, None
        return (record.get("path"), record.get("error")) if isinstance(record, dict) else (None, None)
    fields = next(csv.reader([text], delimiter=delimiter))
    if len(fields) < 3:
        return None, None
    reason = delimiter.join(fields[3:])  # outputs written before quoting left a reason's delimiters unquoted
    failed = fields[1] == fields[2] == "" and reason.startswith("error: ")
    return fields[0], reason[len("error: ") :] if failed else None
