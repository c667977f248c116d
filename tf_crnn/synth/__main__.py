"""Command line: ``python -m tf_crnn.synth --n 20000 --out DIR --seed 1 [--n-eval 500] [--font-dir FONTS]``."""

from __future__ import annotations

import argparse
import logging
import sys

from tf_crnn.config import Alphabet
from tf_crnn.errors import TfCrnnError
from tf_crnn.synth.dataset import generate_dataset
from tf_crnn.synth.generator import EVAL_SEED_OFFSET

DEFAULT_ALPHABET = "data/alphabet/lookup_printable_ascii.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tf_crnn.synth",
        description="Render synthetic text lines and write them with a tf-crnn CSV (OUT/NAME.csv, images in "
        "OUT/NAME/). Line i depends only on (seed, i).",
        epilog="example: python -m tf_crnn.synth --n 20000 --n-eval 500 --out data/my_synthetic --seed 1",
    )
    parser.add_argument("--n", type=int, required=True, help="number of lines")
    parser.add_argument("--out", required=True, help="output folder (images in OUT/NAME/, CSV in OUT/NAME.csv)")
    parser.add_argument("--name", default="train", help="name of the split (default: train)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--n-eval",
        type=int,
        default=0,
        help=f"also write an evaluation split OUT/eval.csv of this many lines, from seed + {EVAL_SEED_OFFSET} "
        "(the split training configs use)",
    )
    parser.add_argument(
        "--alphabet", default=DEFAULT_ALPHABET, help=f"alphabet lookup JSON (default: {DEFAULT_ALPHABET})"
    )
    parser.add_argument("--max-words", type=int, default=6, help="maximal words per line (default: 6)")
    parser.add_argument("--max-chars", type=int, default=40, help="maximal units per line (default: 40)")
    parser.add_argument("--font-dir", help="folder of extra .ttf/.otf fonts (half of the lines use them)")
    parser.add_argument("--no-builtin-fonts", action="store_true", help="use only the fonts of --font-dir")
    parser.add_argument("--binarize", type=float, default=0.5, help="share of binarised lines (default: 0.5)")
    parser.add_argument(
        "--rare-share", type=float, default=0.3, help="share of lines with uniformly drawn units (default: 0.3)"
    )
    parser.add_argument("--workers", type=int, help="rendering processes (default: one per core for 2000+ lines)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    options = dict(
        max_words=args.max_words,
        max_chars=args.max_chars,
        font_dir=args.font_dir,
        builtin_fonts=not args.no_builtin_fonts,
        binarize=args.binarize,
        rare_share=args.rare_share,
        workers=args.workers,
    )
    try:
        units = Alphabet(args.alphabet).alphabet_units
        print(generate_dataset(args.out, args.n, units, args.seed, args.name, **options))
        if args.n_eval:
            print(generate_dataset(args.out, args.n_eval, units, args.seed + EVAL_SEED_OFFSET, "eval", **options))
    except (TfCrnnError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
