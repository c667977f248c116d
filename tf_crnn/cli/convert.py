"""``tf-crnn convert SRC... --out DIR``: labelled lines of any format into sharded TFRecord files."""

from __future__ import annotations

import argparse

from tf_crnn.cli.common import Outcome, UsageError, add_input_arguments, input_options

NAME = "convert"
HELP = "convert labelled lines (CSV, TSV list, .gt.txt folder) into sharded TFRecord files"
DESCRIPTION = (
    "Read labelled lines (tf-crnn CSV, path<TAB>text lists, folders of images with .gt.txt files, or TFRecords), "
    "check every image and label as training would, and write them into TFRecord shards with index.json and "
    "lines.npz beside them. Give the shards' folder as csv_files_train: training streams them with bounded memory, "
    "and multi-worker training splits them by file."
)
EXAMPLES = [
    "tf-crnn convert data/my_lines/train.tsv --out data/my_lines/train_shards --shards 16 --shuffle 1",
    "tf-crnn convert books/1476 books/1488 --out data/books_shards --lines-per-shard 5000 --units grapheme",
    "tf-crnn convert 'scans/*/lines.csv' --out shards/ --alphabet alphabet.json --skip-invalid",
    "tf-crnn train config.json csv_files_train='[\"data/my_lines/train_shards\"]'",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser)
    parser.add_argument("sources", nargs="+", metavar="SRC", help="CSV/TSV files, .gt.txt folders, globs of them")
    parser.add_argument("--out", required=True, help="folder of the shards, index.json and lines.npz")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--shards", type=int, help="number of shards (at least the number of training workers)")
    size.add_argument("--lines-per-shard", type=int, help="lines per shard (default: 10000)")
    parser.add_argument("--shuffle", type=int, metavar="SEED", help="shuffle the lines (seeded) before sharding")
    parser.add_argument("--alphabet", help="alphabet lookup JSON: lines with other units are unusable; its "
                        "several-character units are joined in plain text")  # fmt: skip
    parser.add_argument("--skip-invalid", action="store_true", help="leave unusable lines out (counted) instead of "
                        "stopping")  # fmt: skip


def run(args: argparse.Namespace) -> Outcome:
    for name in ("shards", "lines_per_shard"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    from tf_crnn.data.convert import convert

    document = convert(
        args.sources,
        args.out,
        alphabet_file=args.alphabet,
        n_shards=args.shards,
        lines_per_shard=args.lines_per_shard,
        shuffle_seed=args.shuffle,
        skip_invalid=args.skip_invalid,
        **input_options(args),
    )
    summary = {key: document[key] for key in ("lines", "left_out", "shards")}
    summary.update(out=args.out, units=len(document["units"]))
    lines = [f"{document['lines']} lines in {len(document['shards'])} shards: {args.out}"]
    if document["left_out"]:
        lines.append(f"{document['left_out']} unusable lines left out")
    return Outcome(summary, lines)
