"""``tf-crnn synth --n N --out DIR``: render synthetic text lines with a tf-crnn CSV."""

from __future__ import annotations

import argparse

from tf_crnn.cli.common import Outcome, UsageError

NAME = "synth"
HELP = "render synthetic text lines and their tf-crnn CSV"
DESCRIPTION = (
    "Render synthetic lines with Pillow's built-in font and OpenCV's Hershey fonts (add your own with "
    "--font-dir), with random sizes, spacing, shades, blur and noise; writes OUT/NAME/*.png and OUT/NAME.csv."
)
DEFAULT_ALPHABET = "data/alphabet/lookup_letters_digits_symbols.json"
EXAMPLES = [
    "tf-crnn synth --n 2000 --out data/my_synthetic --name train --seed 1",
    "tf-crnn synth --n 200 --out data/my_synthetic --name eval --seed 2 --font-dir ~/fonts",
    "tf-crnn synth --n 500 --out data/digits --alphabet data/alphabet/lookup_digits.json --max-words 3",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, required=True, help="number of lines")
    parser.add_argument("--out", required=True, help="output folder (images in OUT/NAME/, CSV in OUT/NAME.csv)")
    parser.add_argument("--name", default="train", help="name of the split (default: train)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--alphabet", default=DEFAULT_ALPHABET, help=f"alphabet lookup JSON (default: {DEFAULT_ALPHABET})"
    )
    parser.add_argument("--max-words", type=int, default=6, help="maximal words per line (default: 6)")
    parser.add_argument("--max-chars", type=int, default=40, help="maximal units per line (default: 40)")
    parser.add_argument("--font-dir", help="folder of extra .ttf/.otf fonts")


def run(args: argparse.Namespace) -> Outcome:
    if args.n < 1 or args.max_words < 1 or args.max_chars < 1:
        raise UsageError("--n, --max-words and --max-chars must be at least 1")
    from tf_crnn.config import Alphabet
    from tf_crnn.synth.render import generate_dataset

    units = Alphabet(args.alphabet).alphabet_units
    csv_path = generate_dataset(
        args.out, args.n, units, args.seed, args.name, args.max_words, args.max_chars, args.font_dir
    )
    return Outcome({"csv": str(csv_path), "lines": args.n}, [str(csv_path)])
