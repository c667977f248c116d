"""Transcribing a whole collection with ``tf-crnn predict``: speed, flat memory, every unreadable file reported.

Usage: python bench/predict_collection.py [--sizes 2000,20000] [--model-dir EXPORT] [--smoke] [--no-record]

A folder of N synthetic line images (config.json's alphabet), one in a hundred of them corrupted in turn
in five ways (a truncated PNG, a text file named .png, an empty file, random bytes, a folder named
.png), goes through ``tf-crnn predict FOLDER --output pred.csv``, each size in a fresh process: lines
per second (model loading included), the process's peak memory, and the images it reports unreadable,
which must be exactly the corrupted ones. Without --model-dir the model is config.json's architecture
with random weights: the speed of prediction does not depend on the weights.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

CORRUPTIONS = ("truncated", "text", "empty", "random bytes", "folder")
#: Runs `tf-crnn predict` in a fresh process and reports its status, time and peak memory.
RUNNER = """
import json, resource, sys, time
from tf_crnn.cli import main
started = time.perf_counter()
status = main(["predict", "--model-dir", sys.argv[1], sys.argv[2], "--output", sys.argv[3], "--quiet"])
seconds = time.perf_counter() - started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"status": status, "seconds": seconds, "peak_mb": peak_mb}))
"""


def corrupt(path: Path, kind: str, original: Path) -> None:
    """Write a broken file of the given kind at ``path`` (never through a link to the original)."""
    if kind == "truncated":
        data = original.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "text":
        path.write_text("this is a text file, not an image\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "random bytes":
        path.write_bytes(os.urandom(2048))
    else:
        path.mkdir()


def collection(folder: Path, images: list[Path], n: int, every: int) -> tuple[Path, list[str]]:
    """A folder of ``n`` line images (hard links to the rendered ones), one in ``every`` replaced by a
    corrupted file; the names of the corrupted ones."""
    target = folder / f"collection_{n}"
    target.mkdir()
    corrupted = []
    for index in range(n):
        name = target / f"{index:06d}.png"
        original = images[index % len(images)]
        if index % every == every // 2:
            corrupt(name, CORRUPTIONS[len(corrupted) % len(CORRUPTIONS)], original)
            corrupted.append(str(name))
        else:
            os.link(original, name)
    return target, corrupted


def random_export(folder: Path, smoke: bool) -> Path:
    """config.json's model (the smoke model at --smoke) with random weights, exported."""
    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.serve.export import export_saved_model

    params = common.default_params(folder / "model", smoke)
    alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
    return export_saved_model(get_model_inference(params, alphabet.n_classes), params, alphabet, folder / "export")


def measure(export: Path, folder: Path, corrupted: list[str]) -> dict:
    out = folder.with_suffix(".csv")
    command = [sys.executable, "-c", RUNNER, str(export), str(folder), str(out)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=common.REPO, check=False)
    if not result.stdout.strip():
        raise SystemExit(f"tf-crnn predict failed:\n{result.stderr[-3000:]}")
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    rows = [line.split(";") for line in out.read_text(encoding="utf-8").splitlines()]
    reported = sorted(fields[0] for fields in rows if fields[-1].startswith("error: "))
    return {**measured, "files": len(rows), "corrupted": len(corrupted), "reported": reported == sorted(corrupted),
            "skipped": len(reported)}  # fmt: skip


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--sizes", type=common.positive_ints, default="2000,20000", help="collection sizes")
    parser.add_argument("--model-dir", help="an export to use (default: config.json's model, random weights)")
    parser.add_argument("--corrupt-every", type=common.positive_int, default=100, help="one corrupted file in N")
    args = parser.parse_args()
    folder = common.workdir(args)
    sizes = [40] if args.smoke else args.sizes
    every = 10 if args.smoke else args.corrupt_every
    rendered = common.synthetic_lines(folder, min(max(sizes), 500 if not args.smoke else common.SMOKE_LINES))
    from tf_crnn.data.formats.csv_rows import read_csv_rows

    images = [Path(row.path) for row in read_csv_rows(rendered)[0]]
    export = Path(args.model_dir) if args.model_dir else random_export(folder, args.smoke)
    results = []
    for n in sizes:
        target, corrupted = collection(folder, images, n, every)
        results.append({"n": n, **measure(export, target, corrupted)})
    rows = [
        [f"{r['n']:,}", r["corrupted"], r["skipped"], "yes" if r["reported"] else "NO", r["status"],
         f"{r['seconds']:.1f}", f"{r['n'] / r['seconds']:.1f}", f"{r['peak_mb']:.0f}"]
        for r in results
    ]  # fmt: skip
    header = ["files", "corrupted", "reported unreadable", "exactly the corrupted ones", "exit status", "seconds"]
    body = common.table([*header, "lines/s", "peak memory MB"], rows)
    architecture = "the smoke model" if args.smoke else "config.json's model"
    model = args.model_dir or f"{architecture} with random weights"
    body += (
        f"\n\nModel: {model}. One file in {every} corrupted ({', '.join(CORRUPTIONS)}, in turn); `tf-crnn predict "
        "FOLDER --output pred.csv --quiet` in a fresh process per size, model loading included. Exit status 10: "
        "some images could not be read, the others were transcribed.\n" + common.load_note()
    )
    first, last = results[0], results[-1]
    figures = [
        common.Figure(f"tf-crnn predict over {last['n']:,} files, 1% corrupted", round(last["n"] / last["seconds"], 1),
                      "lines/s"),
        common.Figure(f"tf-crnn predict peak memory, {last['n']:,} files", round(last["peak_mb"]), "MB"),
        common.Figure(f"tf-crnn predict peak memory, {last['n']:,} vs {first['n']:,} files",
                      round(last["peak_mb"] / first["peak_mb"], 2), "x"),
        common.Figure(f"tf-crnn predict: corrupted files reported, of {last['corrupted']}", last["skipped"], "files"),
    ]  # fmt: skip
    common.report(args, "Transcribing a collection with unreadable files (bench/predict_collection.py)", body, figures)
    if not all(r["reported"] and r["status"] == 10 for r in results):
        raise SystemExit("the unreadable files reported are not exactly the corrupted ones")


if __name__ == "__main__":
    main()
