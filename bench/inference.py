"""Measure inference of an exported model against Tesseract 5, and the effect of lexicon decoding.

Usage: python bench/inference.py --model-dir output/default --csv data/synthetic/eval.csv
           [--lexicon-csv data/synthetic/train.csv] [--real-csv ../shared/data/uw3-lines-train/labels.csv]
           [--smoke] [--no-record]

In one run, on the same line images: the SavedModel through PredictionModel (single-line latency at
batch 1, throughput at batch 1 and 32, peak memory of the process) and Tesseract (`--psm 7`, one
text line per image: one process per line for latency, one process over a list of all lines for
throughput), with the CER of both. Then CER/WER with greedy and lexicon-constrained decoding, the
lexicon holding the evaluation lines' words (the CRNN paper's closed-lexicon setting), alone and with
the words of ``--lexicon-csv`` as distractors; and the same on ``--real-csv`` if given. ``--smoke``
reads a few lines with a tiny model trained for the purpose (unless ``--model-dir`` and ``--csv`` are
given), and leaves Tesseract out where it is not installed.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from tf_crnn.data.formats.csv_rows import read_csv_rows  # noqa: E402
from tf_crnn.metrics import compute_metrics  # noqa: E402

LATENCY_LINES = 100


def words_of(texts: list[str]) -> set[str]:
    return {w for t in texts for w in re.findall(r"[^\W\d_]+", t)}


def saved_model_figures(model_dir: str, paths: list[str], references: list[str]) -> dict[str, float]:
    from tf_crnn.serve.predictor import PredictionModel

    before_kb = resident_kb("VmRSS")
    model = PredictionModel(model_dir)
    model.predict(paths[:64], batch_size=1)  # warm-up: trace every signature shape once
    model.predict(paths[:64], batch_size=32)
    latencies = []
    for path in paths[:LATENCY_LINES]:
        started = time.perf_counter()
        model.predict([path], batch_size=1)
        latencies.append(time.perf_counter() - started)
    started = time.perf_counter()
    model.predict(paths, batch_size=1)
    batch1 = len(paths) / (time.perf_counter() - started)
    started = time.perf_counter()
    texts = model.predict(paths, batch_size=32).texts
    batch32 = len(paths) / (time.perf_counter() - started)
    return {
        "latency_ms": 1000 * statistics.median(latencies),
        "latency_p90_ms": 1000 * statistics.quantiles(latencies, n=10)[-1],
        "batch1": batch1,
        "batch32": batch32,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "before_model_mb": before_kb / 1024,
        "cer": compute_metrics(references, texts)["cer"],
    }


def resident_kb(field: str, pid: int | str = "self") -> int:
    """VmRSS (now) or VmHWM (peak) of a process; a child's VmHWM is not inflated by the fork from here."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tesseract_figures(paths: list[str], references: list[str], smoke: bool) -> dict[str, float] | None:
    """Tesseract's figures on the same lines; None at --smoke without Tesseract."""
    binary = shutil.which("tesseract")
    if binary is None and smoke:
        print("tesseract not found: --smoke leaves its column out")
        return None
    if binary is None:
        raise SystemExit("tesseract not found: apt-get install tesseract-ocr")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    latencies = []
    for path in paths[:LATENCY_LINES]:
        started = time.perf_counter()
        subprocess.run([binary, path, "stdout", "--psm", "7"], capture_output=True, check=True)
        latencies.append(time.perf_counter() - started)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(paths) + "\n")
    with tempfile.TemporaryFile() as stdout:
        started = time.perf_counter()
        process = subprocess.Popen(
            [binary, listing.name, "stdout", "--psm", "7"], stdout=stdout, stderr=subprocess.DEVNULL
        )
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, resident_kb("VmHWM", process.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        stdout.seek(0)
        output = stdout.read().decode("utf-8")
    os.unlink(listing.name)
    texts = [page.strip() for page in output.split("\f")][: len(paths)]
    return {
        "version": version,
        "latency_ms": 1000 * statistics.median(latencies),
        "latency_p90_ms": 1000 * statistics.quantiles(latencies, n=10)[-1],
        "batch": len(paths) / seconds,
        "peak_rss_mb": peak_kb / 1024,
        "cer": compute_metrics(references, texts)["cer"] if len(texts) == len(paths) else float("nan"),
    }


def lexicon_rows(model_dir: str, csv_file: str, lexicons: dict[str, set[str]]) -> list[str]:
    from tf_crnn.serve.evaluate import evaluate_csv

    rows = []
    greedy, _ = evaluate_csv(csv_file, model_dir, progress=False)
    rows.append(f"| {Path(csv_file).name} | greedy | - | {greedy['cer']:.2%} | {greedy['wer']:.2%} | - |")
    for name, words in lexicons.items():
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
            handle.write("\n".join(sorted(words)) + "\n")
        started = time.perf_counter()
        figures, table = evaluate_csv(csv_file, model_dir, progress=False, lexicon=handle.name)
        seconds = time.perf_counter() - started
        os.unlink(handle.name)
        rows.append(
            f"| {Path(csv_file).name} | lexicon: {name} | {len(words)} | {figures['cer']:.2%} | {figures['wer']:.2%} "
            f"| {len(table) / seconds:.0f} lines/s |"
        )
    return rows


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--model-dir", help="export folder, or output folder (best export)")
    parser.add_argument("--csv", help="labelled evaluation lines")
    parser.add_argument("--lexicon-csv", help="labelled lines whose words are added to the lexicon as distractors")
    parser.add_argument("--real-csv", help="further labelled lines (e.g. real scans) for the lexicon figures")
    args = parser.parse_args()
    model_dir, csv_file = args.model_dir, args.csv
    if args.smoke and not (model_dir and csv_file):
        trained = common.smoke_model(common.workdir(args))
        model_dir, csv_file = trained["best_export"], trained["eval_csv"]
    if not (model_dir and csv_file):
        parser.error("--model-dir and --csv are required (except with --smoke)")

    rows, _ = read_csv_rows(csv_file)
    paths, references = [r.path for r in rows], [r.text for r in rows]
    ours = saved_model_figures(model_dir, paths, references)
    theirs = tesseract_figures(paths, references, args.smoke)
    own_words = words_of(references)
    lexicons = {"evaluation words": own_words}
    if args.lexicon_csv:
        distractors, _ = read_csv_rows(args.lexicon_csv)
        lexicons["evaluation words + distractors"] = own_words | words_of([r.text for r in distractors])
    lexicon_table = lexicon_rows(model_dir, csv_file, lexicons)
    if args.real_csv and Path(args.real_csv).is_file():
        real, _ = read_csv_rows(args.real_csv)
        lexicon_table += lexicon_rows(model_dir, args.real_csv, {"its lines' words": words_of([r.text for r in real])})

    if theirs is None:
        tesseract = "Tesseract not installed"
        theirs_cells = ["-"] * 4
    else:
        tesseract = f"{theirs['version']} (`--psm 7`, eng, its default threads)"
        theirs_cells = [
            f"{theirs['latency_ms']:.1f} ms ({theirs['latency_p90_ms']:.1f}), one process per line",
            f"{theirs['batch']:.1f} lines/s",
            f"{theirs['peak_rss_mb']:.0f} MB (over the list of lines)",
            f"{theirs['cer']:.2%}",
        ]
    body = "\n".join(
        [
            f"{len(paths)} line images of `{csv_file}`, model `{model_dir}`; {tesseract}.",
            "",
            "| figure | tf-crnn SavedModel | Tesseract |",
            "| --- | --- | --- |",
            f"| single-line latency, median (p90) | {ours['latency_ms']:.1f} ms ({ours['latency_p90_ms']:.1f}) "
            f"| {theirs_cells[0]} |",
            f"| throughput, batch 1 | {ours['batch1']:.0f} lines/s | - |",
            f"| throughput, batch 32 / Tesseract over a list of all lines | {ours['batch32']:.0f} lines/s "
            f"| {theirs_cells[1]} |",
            f"| peak resident memory | {ours['peak_rss_mb']:.0f} MB (Python process; {ours['before_model_mb']:.0f} MB "
            f"with TensorFlow imported, before loading the model) | {theirs_cells[2]} |",
            f"| CER on these lines | {ours['cer']:.2%} | {theirs_cells[3]} |",
            "",
            "Lexicon-constrained decoding (`PredictionModel(..., lexicon=words)`, max 3 edits from the greedy word):",
            "",
            "| lines | decoding | lexicon words | CER | WER | speed (evaluate_csv, batch 32) |",
            "| --- | --- | --- | --- | --- | --- |",
            *lexicon_table,
        ]
    )
    figures = [
        common.Figure("SavedModel single-line latency, median", round(ours["latency_ms"], 1), "ms"),
        common.Figure("SavedModel inference batch 32, PredictionModel on files", round(ours["batch32"]), "lines/s"),
    ]
    if theirs is not None:
        figures.append(
            common.Figure("Tesseract 5 over a list of lines (--psm 7)", round(theirs["batch"], 1), "lines/s")
        )
    common.report(args, "Inference vs Tesseract, lexicon decoding", body, figures)


if __name__ == "__main__":
    main()
