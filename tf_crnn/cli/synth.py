"""``tf-crnn synth --n N --out DIR``: render synthetic text lines with a tf-crnn CSV."""

from __future__ import annotations

import argparse

from tf_crnn.cli.common import Outcome, UsageError

NAME = "synth"
HELP = "render synthetic text lines and their tf-crnn CSV"
DESCRIPTION = (
    "Render scanned-looking text lines (fonts shipped with matplotlib, Pillow and OpenCV, or your own with "
    "--font-dir; words from wordfreq mixed with numbers, dates and every unit of the alphabet; blur, noise, "
    "binarisation, skew, curvature, ink bleed, JPEG, tight crops); writes OUT/NAME/*.png and OUT/NAME.csv. "
    "Line i depends only on (seed, i)."
)
DEFAULT_ALPHABET = "data/alphabet/lookup_printable_ascii.json"
EXAMPLES = [
    "tf-crnn synth --n 20000 --n-eval 500 --out data/my_synthetic --seed 1",
    "tf-crnn synth --n 2000 --out data/my_synthetic --name train --font-dir ~/fonts --binarize 0.8",
    "tf-crnn synth --n 500 --out data/digits --alphabet data/alphabet/lookup_digits.json --max-words 3",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, required=True, help="number of lines")
    parser.add_argument("--out", required=True, help="output folder (images in OUT/NAME/, CSV in OUT/NAME.csv)")
    parser.add_argument("--name", default="train", help="name of the split (default: train)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--n-eval",
        type=int,
        default=0,
        help="also write an evaluation split OUT/eval.csv of this many lines, from a seed of its own (the split "
        "that training configs with synthetic_data use)",
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


def run(args: argparse.Namespace) -> Outcome:
    if args.n < 1 or args.max_words < 1 or args.max_chars < 1 or args.n_eval < 0:
        raise UsageError("--n, --max-words and --max-chars must be at least 1, --n-eval at least 0")
    if not 0.0 <= args.binarize <= 1.0 or not 0.0 <= args.rare_share <= 1.0:
        raise UsageError("--binarize and --rare-share are shares between 0 and 1")
    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.synth.dataset import generate_dataset
    from tf_crnn.synth.generator import EVAL_SEED_OFFSET

    options = dict(
        max_words=args.max_words,
        max_chars=args.max_chars,
        font_dir=args.font_dir,
        builtin_fonts=not args.no_builtin_fonts,
        binarize=args.binarize,
        rare_share=args.rare_share,
        workers=args.workers,
    )
    units = Alphabet(args.alphabet).alphabet_units
    written = {args.name: generate_dataset(args.out, args.n, units, args.seed, args.name, **options)}
    if args.n_eval:
        eval_seed = args.seed + EVAL_SEED_OFFSET
        written["eval"] = generate_dataset(args.out, args.n_eval, units, eval_seed, "eval", **options)
    document = {"csv": str(written[args.name]), "lines": args.n}
    if args.n_eval:
        document.update(eval_csv=str(written["eval"]), eval_lines=args.n_eval)
    return Outcome(document, [str(path) for path in written.values()])
