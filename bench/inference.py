"""Measure inference of an exported model against Tesseract 5, and the effect of lexicon decoding.

Usage: python bench/inference.py --model-dir output/default --csv data/synthetic/eval.csv
           [--lexicon-csv data/synthetic/train.csv] [--real-csv ../shared/data/uw3-lines-train/labels.csv]
           [--no-record]

In one run, on the same line images: the SavedModel through PredictionModel (single-line latency at
batch 1, throughput at batch 1 and 32, peak memory of the process) and Tesseract (`--psm 7`, one
text line per image: one process per line for latency, one process over a list of all lines for
throughput), with the CER of both. Then CER/WER with greedy and lexicon-constrained decoding, the
lexicon holding the evaluation lines' words (the CRNN paper's closed-lexicon setting), alone and with
the words of ``--lexicon-csv`` as distractors; and the same on ``--real-csv`` if given.
"""

from __future__ import annotations

import argparse
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
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.machine import append_section  # noqa: E402
from tf_crnn.io.csv_rows import read_csv_rows  # noqa: E402
from tf_crnn.metrics import compute_metrics  # noqa: E402

LATENCY_LINES = 100


def words_of(texts: list[str]) -> set[str]:
    return {w for t in texts for w in re.findall(r"[^\W\d_]+", t)}


def saved_model_figures(model_dir: str, paths: list[str], references: list[str]) -> dict[str, float]:
    from tf_crnn.loader import PredictionModel

    before_kb = _resident_kb("VmRSS")
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


def _resident_kb(field: str, pid: int | str = "self") -> int:
    """VmRSS (now) or VmHWM (peak) of a process; a child's VmHWM is not inflated by the fork from here."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tesseract_figures(paths: list[str], references: list[str]) -> dict[str, float]:
    binary = shutil.which("tesseract")
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
            peak_kb = max(peak_kb, _resident_kb("VmHWM", process.pid))
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
    from tf_crnn.evaluate import evaluate_csv

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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True, help="export folder, or output folder (best export)")
    parser.add_argument("--csv", required=True, help="labelled evaluation lines")
    parser.add_argument("--lexicon-csv", help="labelled lines whose words are added to the lexicon as distractors")
    parser.add_argument("--real-csv", help="further labelled lines (e.g. real scans) for the lexicon figures")
    parser.add_argument("--no-record", action="store_true", help="print only, do not append to BENCHMARKS.md")
    args = parser.parse_args()

    rows, _ = read_csv_rows(args.csv)
    paths, references = [r.path for r in rows], [r.text for r in rows]
    ours = saved_model_figures(args.model_dir, paths, references)
    theirs = tesseract_figures(paths, references)
    own_words = words_of(references)
    lexicons = {"evaluation words": own_words}
    if args.lexicon_csv:
        distractors, _ = read_csv_rows(args.lexicon_csv)
        lexicons["evaluation words + distractors"] = own_words | words_of([r.text for r in distractors])
    lexicon_table = lexicon_rows(args.model_dir, args.csv, lexicons)
    if args.real_csv and Path(args.real_csv).is_file():
        real, _ = read_csv_rows(args.real_csv)
        lexicon_table += lexicon_rows(
            args.model_dir, args.real_csv, {"its lines' words": words_of([r.text for r in real])}
        )

    body = "\n".join(
        [
            f"{len(paths)} line images of `{args.csv}`, model `{args.model_dir}`; {theirs['version']} (`--psm 7`, "
            "eng, its default threads).",
            "",
            "| figure | tf-crnn SavedModel | Tesseract |",
            "| --- | --- | --- |",
            f"| single-line latency, median (p90) | {ours['latency_ms']:.1f} ms ({ours['latency_p90_ms']:.1f}) "
            f"| {theirs['latency_ms']:.1f} ms ({theirs['latency_p90_ms']:.1f}), one process per line |",
            f"| throughput, batch 1 | {ours['batch1']:.0f} lines/s | - |",
            f"| throughput, batch 32 / Tesseract over a list of all lines | {ours['batch32']:.0f} lines/s "
            f"| {theirs['batch']:.1f} lines/s |",
            f"| peak resident memory | {ours['peak_rss_mb']:.0f} MB (Python process; {ours['before_model_mb']:.0f} MB "
            "with TensorFlow imported, before loading the model) "
            f"| {theirs['peak_rss_mb']:.0f} MB (over the list of lines) |",
            f"| CER on these lines | {ours['cer']:.2%} | {theirs['cer']:.2%} |",
            "",
            "Lexicon-constrained decoding (`PredictionModel(..., lexicon=words)`, max 3 edits from the greedy word):",
            "",
            "| lines | decoding | lexicon words | CER | WER | speed (evaluate_csv, batch 32) |",
            "| --- | --- | --- | --- | --- | --- |",
            *lexicon_table,
        ]
    )
    print(body)
    if not args.no_record:
        command = "python bench/inference.py " + " ".join(sys.argv[1:])
        append_section("Inference vs Tesseract, lexicon decoding", command, body)


if __name__ == "__main__":
    main()
