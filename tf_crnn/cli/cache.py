"""``tf-crnn cache``: what the cache of lines cut from pages holds, and its pruning."""

from __future__ import annotations

import argparse

from tf_crnn.cli.common import Outcome, UsageError

NAME = "cache"
HELP = "show the size of the cache of lines cut from page scans, and prune it"
DESCRIPTION = (
    "Lines cut from PAGE-XML/ALTO pages are kept as PNG files so each page is decoded once per data set, not "
    "every epoch; the cache grows with every collection read. Without options, show where it is, how many "
    "pages and how many bytes it holds, and how long ago the least recently read page was used. "
    "--prune DAYS removes the pages no run has read for DAYS days (0: all; a later run cuts them again). "
    "Only the cache's own folders are removed, never other files in the cache folder."
)
EXAMPLES = [
    "tf-crnn cache                            # folder, pages, size, oldest use",
    "tf-crnn cache --prune 30                 # remove pages not read for 30 days",
    "tf-crnn cache --prune 0 --cache-dir /scratch/lines   # empty the cache that pages.cache_dir names",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache-dir", default="", help="the cache folder (default: $TF_CRNN_CACHE_DIR or ~/.cache/tf-crnn/lines)"
    )
    parser.add_argument("--prune", type=float, metavar="DAYS", help="remove the pages not read for DAYS days")


def run(args: argparse.Namespace) -> Outcome:
    from dataclasses import asdict

    from tf_crnn.data.formats import line_cache
    from tf_crnn.data.formats.page_options import PageOptions

    if args.prune is not None and args.prune < 0:
        raise UsageError(f"--prune takes a number of days >= 0, got {args.prune:g}")
    root = PageOptions(cache_dir=args.cache_dir).cache
    document: dict = {}
    lines = []
    if args.prune is not None:
        removed = line_cache.prune(root, args.prune)
        document["removed"] = asdict(removed)
        lines.append(f"removed {removed.pages} page(s), {removed.files} files, {_size(removed.bytes)}")
    kept = line_cache.usage(root)
    document["cache"] = asdict(kept)
    lines.append(f"{root}: {kept.pages} page(s), {kept.files} files, {_size(kept.bytes)}")
    if kept.pages:
        lines.append(f"least recently read page: {kept.oldest_use_days:.1f} days ago")
    return Outcome(document, lines)


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB"
