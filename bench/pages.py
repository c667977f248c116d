"""Pages: fine-tune the default model on PAGE-XML pages, compare with Tesseract, and time the page path.

Usage:
    python bench/pages.py --source output/default --minutes 15
    python bench/pages.py --smoke   # checks the script: a tiny model, one page, one epoch

Reads ``../shared/data/page-xml/`` (its README's suggested split): training pages clauren 0023-0050
and bebel 0146 and 0168 (265 lines), test pages clauren 0122 and 0146 and bebel 0176 and 0186 (105
lines), given as ``image<TAB>xml`` lists (the clauren PAGE files name a JPEG that is not shipped; the
binarised TIFF is the image, as the book's mets.xml says). Three parts, in one run:

1. Fine-tuning: the model of ``--source`` (config.json's architecture: input_shape [32, 1600], one
   BiLSTM of 128 units) warm-started on the training pages with an alphabet built from them, for
   ``--minutes`` of training; the final export's CER/WER on the test pages, and the wall time.
2. Tesseract's ``Fraktur`` script model (Debian ``tesseract-ocr-script-frak``) on the same test lines,
   cut the same way, each read as one line (``--psm 7``): its CER beside the model's.
3. Speed: the test pages transcribed through the page path (read XML, find and decode the page, cut,
   predict, write PAGE-XML) against the same lines already cut, predicted from their files: pages/s,
   lines/s and the ratio, measured side by side in this run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.machine import describe_machine  # noqa: E402

PAGES = common.SHARED_DATA / "page-xml" / "gt_structure_text"
TRAIN = [("clauren_mimil_1815", n) for n in ("0023", "0031", "0038", "0040", "0041", "0043", "0050")] + [
    ("bebel_frau_1879", n) for n in ("0146", "0168")
]
TEST = [("clauren_mimil_1815", "0122"), ("clauren_mimil_1815", "0146"), ("bebel_frau_1879", "0176"),
        ("bebel_frau_1879", "0186")]  # fmt: skip
SMOKE_PAGES = [("bebel_frau_1879", "0186")]


def pairs_list(pages: list[tuple[str, str]], target: Path) -> Path:
    """An ``image<TAB>xml`` list of the pages (absolute paths)."""
    lines = []
    for book, number in pages:
        folder = PAGES / book / "GT-PAGE"
        image = folder / (f"{book}_{number}_B.tif" if book.startswith("clauren") else f"{book}_{number}.tif")
        lines.append(f"{image}\t{folder / f'{book}_{number}.xml'}\n")
    target.write_text("".join(lines), encoding="utf-8")
    return target


def fine_tune(args, folder: Path, train: Path, test: Path, source: str) -> dict:
    from tf_crnn.data.alphabet import build_alphabet
    from tf_crnn.train.trainer import train as run_training

    alphabet = folder / "alphabet.json"
    build_alphabet([str(train), str(test)] if args.smoke else [str(train)], alphabet)
    params = common.default_params(
        folder / "finetuned",
        smoke=args.smoke,
        csv_files_train=[str(train)],
        csv_files_eval=[str(test)],
        lookup_alphabet_file=str(alphabet),
        warm_start={"model": source, "freeze_cnn_steps": 0 if args.smoke else 50},
        n_epochs=1 if args.smoke else 1000,
        max_training_minutes=args.minutes,
        train_batch_size=16,
        data_augmentation=not args.smoke,
        on_invalid_rows="drop",
        n_shown_predictions=0,
    )
    started = time.perf_counter()
    results = run_training(params)
    return {**results, "wall_seconds": time.perf_counter() - started}


def tesseract_cer(rows, limit: int | None) -> tuple[float | None, int]:
    """CER of Tesseract's Fraktur model on the cut test lines (None when tesseract is not installed)."""
    from tf_crnn.metrics import TextMetrics

    binary = shutil.which("tesseract")
    if binary is None:
        return None, 0
    langs = subprocess.run([binary, "--list-langs"], capture_output=True, text=True).stdout.split()
    model = next((name for name in ("Fraktur", "frk") if name in langs), None)
    if model is None:
        return None, 0
    metrics = TextMetrics()
    for row in rows[:limit]:
        read = subprocess.run([binary, row.path, "stdout", "-l", model, "--psm", "7"], capture_output=True, text=True)
        metrics.update([row.text], [" ".join(read.stdout.split())])
    return metrics.cer, metrics.lines


def speed(model, test: Path, rows, folder: Path, repeats: int) -> dict:
    """Seconds of the page path and of the line path for the same lines, best of ``repeats``."""
    from tf_crnn.serve.pages import transcribe_pages

    paths = [row.path for row in rows]
    model.predict(paths[:4])  # warm up both paths' graphs
    page_times, line_times = [], []
    for repeat in range(repeats):
        out = folder / f"transcribed_{repeat}"
        started = time.perf_counter()
        summary = transcribe_pages(model, [str(test)], out)
        page_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        model.predict(paths)
        line_times.append(time.perf_counter() - started)
    return {
        "pages": summary.pages,
        "lines": summary.lines,
        "page_s": min(page_times),
        "line_s": min(line_times),
        "decode_s": decode_seconds(test, model.input_channels == 1, repeats),
    }


def decode_seconds(test: Path, gray: bool, repeats: int) -> float:
    """Seconds to decode the test pages' scans as the page path does: the part of its cost that
    transcribing lines already cut (and stored) does not have."""
    from tf_crnn.data.formats.page_options import PageOptions
    from tf_crnn.data.formats.pages import open_page, page_entries
    from tf_crnn.data.page_images import read_image

    images = [open_page(entry).image_path for entry in page_entries(test, PageOptions())]
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for image in images:
            read_image(image, gray)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = common.parser(__doc__.split("\n")[0])
    parser.add_argument("--source", help="export or output folder to fine-tune (default: output/default)")
    parser.add_argument("--minutes", type=float, default=15.0, help="training budget (default: 15)")
    parser.add_argument(
        "--model-dir", help="measure this export (or output folder) instead of fine-tuning one: no training"
    )
    parser.add_argument("--repeats", type=common.positive_int, default=3, help="timed repetitions of the speed part")
    args = parser.parse_args()
    common.require(args, PAGES)
    folder = common.workdir(args)
    import os

    os.environ.setdefault("TF_CRNN_CACHE_DIR", str(folder / "line_cache"))
    pages = SMOKE_PAGES if args.smoke else None
    train = pairs_list(pages or TRAIN, folder / "train_pages.tsv")
    test = pairs_list(pages or TEST, folder / "test_pages.tsv")
    source = args.source or ("" if args.smoke else str(common.REPO / "output" / "default"))
    if args.smoke and not source:
        source = common.smoke_model(folder)["output_dir"]
    if args.smoke:
        args.minutes = 1.0
    from tf_crnn.data.formats.sources import read_rows
    from tf_crnn.serve.evaluate import evaluate_csv
    from tf_crnn.serve.predictor import PredictionModel, find_export

    if args.model_dir:
        trained, source = None, args.model_dir
        export = str(find_export(Path(args.model_dir)))
    else:
        trained = fine_tune(args, folder, train, test, source)
        export = trained["final_export"]
    figures, _ = evaluate_csv(str(test), export, progress=False)
    rows, _ = read_rows(test)
    tess_cer, tess_lines = tesseract_cer(rows, 2 if args.smoke else None)
    timing = speed(PredictionModel(export), test, rows, folder, 1 if args.smoke else args.repeats)
    overhead = timing["page_s"] / timing["line_s"] - 1
    decoding = timing["decode_s"] / timing["line_s"]
    wall = f"{trained['wall_seconds'] / 60:.1f} min" if trained else "not trained here (--model-dir)"
    tess = f"{tess_cer:.2%} on {tess_lines} lines" if tess_cer is not None else "not installed"
    body = "\n".join(
        [
            f"{describe_machine()}. {common.load_note()}",
            "",
            "| what | figure |",
            "| --- | --- |",
            f"| training lines / test lines | {len(read_rows(train)[0])} / {figures['lines']} |",
            f"| fine-tuned test CER / WER | {figures['cer']:.2%} / {figures['wer']:.2%} |",
            f"| training wall time (budget {args.minutes:g} min) | {wall} |",
            f"| Tesseract Fraktur test CER | {tess} |",
            f"| page path: pages/s, lines/s | {timing['pages'] / timing['page_s']:.2f}, "
            f"{timing['lines'] / timing['page_s']:.1f} |",
            f"| same lines already cut: lines/s | {len(rows) / timing['line_s']:.1f} |",
            f"| the page path adds (decoding the scans, cutting, writing XML) | {overhead:.0%} |",
            f"| of which decoding the scans alone | {decoding:.0%} |",
            "",
            f"- source model: {source}; {'the given' if args.model_dir else 'final'} export evaluated "
            "(nothing selected on the test pages)",
            "- the page path decodes each scan (the line path reads lines cut and stored beforehand), cuts its "
            "lines and writes the XML; the next page is decoded and cut while the model reads the current one",
        ]
    )
    results = [
        common.Figure("pages: fine-tuned test CER", round(100 * figures["cer"], 2), "%"),
        common.Figure(
            "pages: page path time over cut lines' (decoding, cutting, writing XML)", round(1 + overhead, 2), "x"
        ),
        common.Figure("pages: decoding the scans alone, over cut lines' time", round(decoding, 2), "x"),
    ]
    if tess_cer is not None:
        results.append(common.Figure("pages: Tesseract Fraktur test CER", round(100 * tess_cer, 2), "%"))
    common.report(args, "Pages: fine-tuning on PAGE-XML pages, Tesseract, page path speed", body, results)
    print(json.dumps({"cer": figures["cer"], "tesseract_cer": tess_cer, **timing}))


if __name__ == "__main__":
    main()
