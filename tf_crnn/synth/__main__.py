"""Command line: ``python -m tf_crnn.synth --n 20000 --out DIR --seed 1 [--alphabet FILE]``."""

from __future__ import annotations

import argparse
import logging
import sys

from tf_crnn.config import Alphabet
from tf_crnn.errors import TfCrnnError
from tf_crnn.synth.render import generate_dataset

DEFAULT_ALPHABET = "data/alphabet/lookup_letters_digits_symbols.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tf_crnn.synth",
        description="Render synthetic text lines and write them with a tf-crnn CSV.",
        epilog="example: python -m tf_crnn.synth --n 2000 --out data/synthetic --name train --seed 1",
    )
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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        units = Alphabet(args.alphabet).alphabet_units
        csv_path = generate_dataset(
            args.out, args.n, units, args.seed, args.name, args.max_words, args.max_chars, args.font_dir
        )
    except (TfCrnnError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(csv_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
