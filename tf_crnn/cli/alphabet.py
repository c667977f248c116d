"""``tf-crnn alphabet build|merge|report``: alphabet lookups from labelled lines of any format."""

from __future__ import annotations

import argparse
from pathlib import Path

from tf_crnn.cli.common import Outcome, UsageError, add_input_arguments, input_options

NAME = "alphabet"
HELP = "build an alphabet from training lines, merge alphabets, report evaluation units unseen in training"
DESCRIPTION = (
    "build: count the units of training lines (CSV, TSV, .gt.txt folders, TFRecord shards; normalised and split "
    "as training does) and write the lookup {unit: code} with OUT.counts.json beside it; --base keeps the codes "
    "of an existing lookup and appends new units. merge: one lookup of several, the first file's codes kept and "
    "new units appended. report: units of evaluation lines that the training lines (--train) or an alphabet "
    "(--alphabet) lack, with counts and the file:line where each first appears; exit status 3 when there are any."
)
EXAMPLES = [
    "tf-crnn alphabet build data/my_lines/train.tsv --out data/my_lines/alphabet.json",
    "tf-crnn alphabet build books/*/ --out books.json --units grapheme     # .gt.txt folders",
    "tf-crnn alphabet build new.csv --base data/alphabet/lookup_printable_ascii.json --out extended.json",
    "tf-crnn alphabet merge latin.json greek.json --out latin_greek.json",
    "tf-crnn alphabet report data/my_lines/test.tsv --train data/my_lines/train.tsv",
    "tf-crnn alphabet report eval.csv --alphabet output/default/alphabet.json --json",
]
UNSEEN_STATUS = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("build", "merge", "report"), help="what to do")
    parser.add_argument(
        "sources", nargs="+", metavar="SRC", help="build: training lines; merge: lookup JSON files; report: eval lines"
    )
    parser.add_argument("--out", help="build, merge: the lookup JSON to write")
    parser.add_argument("--base", help="build: a lookup whose codes are kept (new units are appended)")
    parser.add_argument("--train", nargs="+", metavar="SRC", help="report: the training lines")
    parser.add_argument("--alphabet", help="report: an alphabet lookup instead of --train")
    add_input_arguments(parser)


def run(args: argparse.Namespace) -> Outcome:
    if args.action in ("build", "merge") and not args.out:
        raise UsageError(f"alphabet {args.action} needs --out, the lookup JSON to write")
    if args.action == "report" and (args.train is None) == (args.alphabet is None):
        raise UsageError("alphabet report needs either --train (training lines) or --alphabet (a lookup)")
    reading = input_options(args)
    from tf_crnn.data import alphabet as tools
    from tf_crnn.data.alphabet import Alphabet

    if args.action == "merge":
        merged = tools.merge_alphabets(args.sources, args.out)
        return Outcome({"out": args.out, "units": len(merged)}, [f"{len(merged)} units: {args.out}"])
    if args.action == "build":
        lookup, found = tools.build_alphabet(args.sources, args.out, args.base, **reading)
        counts = str(Path(args.out).with_suffix(".counts.json"))
        document = {"out": args.out, "counts": counts, "units": len(lookup), "occurrences": sum(found.counts.values())}
        return Outcome(document, [f"{len(lookup)} units: {args.out} (counts: {counts})"])
    if args.alphabet:
        known = Alphabet(args.alphabet).alphabet_units
        multi = [unit for unit in known if len(unit) > 1]
    else:
        known = tools.count_units(args.train, **reading).counts
        multi = []
    evaluation = tools.count_units(args.sources, multi_units=multi, **reading)
    unseen = tools.unseen_units(evaluation, known)
    document = {
        "unseen": [{"unit": u.unit, "count": u.count, "first_seen": u.first_seen} for u in unseen],
        "eval_units": sum(evaluation.counts.values()),
        "unseen_occurrences": sum(u.count for u in unseen),
    }
    against = args.alphabet or "the training lines"
    if not unseen:
        return Outcome(document, [f"every unit of the evaluation lines is in {against}"])
    lines = [f"{len(unseen)} units of the evaluation lines are not in {against} "
             f"({document['unseen_occurrences']} of {document['eval_units']} units):"]  # fmt: skip
    return Outcome(document, lines + [f"  {u}" for u in unseen], UNSEEN_STATUS)
