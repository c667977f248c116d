"""``tf-crnn grid CONFIG.json [field=value ...] --out grid.png``: training lines as the network sees them."""

from __future__ import annotations

import argparse

from tf_crnn.cli.common import Outcome, UsageError

NAME = "grid"
HELP = "draw training lines as the network sees them (preprocessed, augmented) with their labels into a PNG"
DESCRIPTION = (
    "A visual check of the input pipeline before a long training: reads the training lines of the experiment "
    "exactly as `tf-crnn train` with the same arguments would (rows of the training files, or synthetic lines "
    "rendered on the fly), and draws each one as the network receives it (resized, padded, ink white on "
    "black), once without augmentation and then --variants augmented draws side by side, its label above. "
    "With data_augmentation false only the preprocessed column is drawn: add data_augmentation=true to see "
    "what augmentation would do."
)
EXAMPLES = [
    "tf-crnn grid config.json --out grid.png                      # 16 lines of the default experiment",
    "tf-crnn grid config.json data_augmentation=true --variants 3 --out grid.png   # off and 3 draws on",
    "tf-crnn grid data/iam/config_iam.json --lines 8 --seed 2 --out iam_grid.png   # 8 lines drawn with seed 2",
    "tf-crnn grid config.json augmentation.blur=1.5 data_augmentation=true --out blur.png",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config",
        nargs="+",
        metavar="CONFIG.json|field=value",
        help="what `tf-crnn train` takes ('with' optional): config files and field=value updates (the updates "
        "win); give them before or after the options, not around them",
    )
    parser.add_argument("--out", default="grid.png", help="PNG to write (default: %(default)s)")
    parser.add_argument("--lines", type=int, default=16, metavar="N", help="training lines to show (default: 16)")
    parser.add_argument(
        "--variants", type=int, default=1, help="augmented draws per line, when augmentation is on (default: 1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="which lines and which draws (default: 0)")
    parser.add_argument("--zoom", type=int, default=2, help="pixel magnification (default: 2)")


def run(args: argparse.Namespace) -> Outcome:
    if args.lines < 1 or args.variants < 0 or args.zoom < 1 or args.seed < 0:
        raise UsageError("--lines and --zoom must be at least 1, --variants and --seed at least 0")
    from pathlib import Path

    import tensorflow as tf

    from tf_crnn.errors import DataError
    from tf_crnn.params.resolve import resolve_arguments
    from tf_crnn.report.grid import augmentation_grid
    from tf_crnn.train.inputs import ensure_data
    from tf_crnn.utils.files import written_aside

    params = resolve_arguments(args.config)
    if not params.synthetic_data.on_the_fly:
        ensure_data(params)  # synthetic training CSVs are generated once, as training would
    try:
        picture, titles = augmentation_grid(params, args.lines, args.variants, args.seed, args.zoom)
    except tf.errors.OpError as error:
        raise DataError(f"could not read a training line: {error.message}") from None
    out = Path(args.out)
    with written_aside(out) as tmp:
        picture.save(tmp, format="PNG")
    source = "synthetic lines on the fly" if params.synthetic_data.on_the_fly else params.csv_files_train
    document = {"png": str(out), "lines": args.lines, "columns": titles, "training_lines": source}
    return Outcome(document, [str(out)])
