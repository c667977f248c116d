"""Turn a folder of line images and ``.gt.txt`` transcriptions into tf-crnn CSVs and an alphabet.

It reads the convention of Calamari, kraken and OCRopus: ``0001.png`` or ``0001.nrm.png`` (any variant
between the name and the image extension) beside ``0001.gt.txt``, in the folder or its subfolders.
The split into training and validation lines is seeded, so the same folder and seed always give the
same CSVs, and the alphabet comes from the training lines only.
"""

from __future__ import annotations

import argparse
import random
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from tqdm import tqdm

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.formats.csv_rows import write_csv_rows
from tf_crnn.data.formats.gt_folder import GT_SUFFIX, match_images
from tf_crnn.errors import DataError, TfCrnnError

SPLIT_DELIMITER = "|"
NORMALIZATIONS = ("NFC", "NFD", "NFKC", "NFKD", "none")
MAX_REPORTED = 20
EXAMPLES = """\
examples (from the repository root):
  python hlp/prepare_folder.py ~/data/my_lines --output-dir data/my_lines
  python hlp/prepare_folder.py ~/data/my_lines --output-dir data/my_lines --validation-ratio 0.2 --seed 3
  # two variants per line (0001.bin.png and 0001.nrm.png): choose one
  python hlp/prepare_folder.py ~/data/ocropus_book --output-dir data/book --image-suffix .nrm.png
then train, e.g.:
  python training.py with csv_files_train='["data/my_lines/train.csv"]' \\
      csv_files_eval='["data/my_lines/validation.csv"]' lookup_alphabet_file=data/my_lines/alphabet.json
"""


@dataclass(frozen=True)
class Sample:
    """One image and its transcription, split into label units (characters)."""

    image: Path
    units: tuple[str, ...]


def read_transcription(gt: Path, normalization: str) -> tuple[str, ...]:
    """The units of a one-line transcription; raises ValueError saying why it cannot be used."""
    try:
        text = gt.read_text(encoding="utf-8-sig").strip()
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    if normalization != "none":
        text = unicodedata.normalize(normalization, text)
    if not text:
        raise ValueError("empty transcription")
    if "\n" in text or "\r" in text:
        raise ValueError("more than one line of text")
    if SPLIT_DELIMITER in text:
        raise ValueError(f"holds {SPLIT_DELIMITER!r}, the label delimiter of the CSV format")
    return tuple(text)


def read_samples(pairs: Mapping[Path, Path], normalization: str) -> tuple[list[Sample], list[str]]:
    """Samples with a usable transcription and a readable image, and the problems of the others."""
    samples: list[Sample] = []
    problems: list[str] = []
    for gt, image in tqdm(sorted(pairs.items()), desc="reading lines", unit=" lines"):
        try:
            units = read_transcription(gt, normalization)
            with Image.open(image):  # reads the header only: enough to tell a broken or foreign file
                pass
        except (ValueError, OSError) as error:
            problems.append(f"{gt}: {error}")
            continue
        samples.append(Sample(image, units))
    return samples, problems


def split_samples(samples: Sequence[Sample], ratio: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Seeded shuffle of the samples sorted by path, so the split depends on nothing but the seed."""
    ordered = sorted(samples, key=lambda sample: str(sample.image))
    random.Random(seed).shuffle(ordered)
    n_validation = round(ratio * len(ordered))
    if ratio > 0 and len(ordered) > 1:
        n_validation = min(max(n_validation, 1), len(ordered) - 1)
    return ordered[n_validation:], ordered[:n_validation]


def _problem_report(problems: Sequence[str]) -> str:
    shown = "\n  ".join(problems[:MAX_REPORTED])
    more = f"\n  ... and {len(problems) - MAX_REPORTED} more" if len(problems) > MAX_REPORTED else ""
    return f"{len(problems)} transcription(s) cannot be used:\n  {shown}{more}"


def warn(message: str) -> None:
    print(f"WARNING: {message}", file=sys.stderr)


def prepare(args: argparse.Namespace) -> dict[str, Path]:
    """Pair, read, split and write; returns the files written, by role."""
    if not args.folder.is_dir():
        raise DataError(f"{args.folder} is not a folder")
    pairs, unmatched, unpaired = match_images(args.folder, args.image_suffix)
    problems = [f"{problem.source}: {problem.reason}" for problem in unmatched]
    samples, unreadable = read_samples(pairs, args.normalization)
    problems += unreadable
    if problems and not args.skip_invalid:
        raise DataError(_problem_report(problems) + "\n(fix them, or pass --skip-invalid to leave them out)")
    if problems:
        warn(_problem_report(problems))
    if unpaired:
        warn(f"{unpaired} image(s) have no {GT_SUFFIX} transcription and are left out")
    if not samples:
        raise DataError(f"no image with a {GT_SUFFIX} transcription found in {args.folder}")
    train, validation = split_samples(samples, args.validation_ratio, args.seed)
    output: Path = args.output_dir
    written = {"train": output / "train.csv"}
    write_csv_rows(written["train"], ((s.image, s.units) for s in train))
    if validation:
        written["validation"] = output / "validation.csv"
        write_csv_rows(written["validation"], ((s.image, s.units) for s in validation))
    written["alphabet"] = output / "alphabet.json"
    alphabet = Alphabet.create_lookup_from_labels([written["train"]], written["alphabet"])
    unseen = Counter(unit for sample in validation for unit in sample.units if unit not in alphabet)
    if unseen:
        shown = ", ".join(f"{unit!r} x{count}" for unit, count in unseen.most_common())
        warn(f"validation lines hold characters absent from the training lines: {shown}")
    print(f"{len(train)} training and {len(validation)} validation lines, {len(alphabet)} units:")
    for path in written.values():
        print(f"  {path}")
    return written


def parse_args(argv: Iterable[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="prepare_folder.py",
        description=(
            "Pair line images with their .gt.txt transcriptions (Calamari / kraken / OCRopus layout) and "
            "write train.csv, validation.csv and alphabet.json (from the training lines) for tf-crnn."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("folder", type=Path, help="folder of images and .gt.txt files (subfolders included)")
    parser.add_argument("--output-dir", type=Path, required=True, help="where the CSVs and alphabet go")
    parser.add_argument(
        "--validation-ratio",
        type=float,
        default=0.1,
        help="share of lines for validation, 0 for none (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default: %(default)s)")
    parser.add_argument(
        "--image-suffix",
        help="take the image named <name><suffix> for <name>.gt.txt, e.g. .nrm.png (default: the only image "
        "named <name>.<ext> or <name>.<variant>.<ext>)",
    )
    parser.add_argument(
        "--normalization",
        choices=NORMALIZATIONS,
        default="NFC",
        help="Unicode normalization of the transcriptions, so one letter is one unit (default: %(default)s)",
    )
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="leave out unusable transcriptions with a warning instead of stopping",
    )
    args = parser.parse_args(None if argv is None else list(argv))
    if not 0 <= args.validation_ratio < 1:
        parser.error(f"--validation-ratio must be in [0, 1), got {args.validation_ratio}")
    return args


def main(argv: Iterable[str] | None = None) -> int:
    """Run the CLI; user errors end with a message on stderr and exit status 1, not a traceback."""
    args = parse_args(argv)
    try:
        prepare(args)
    except (TfCrnnError, OSError) as error:
        print(f"prepare_folder: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
