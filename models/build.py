"""Make a shipped model from its recipe: install its fonts, train it (resuming), measure it, package it.

Usage:
    python models/build.py all historical-latin          # fonts, train, evaluate, package: what make models runs
    python models/build.py train printed-latin           # again after an interruption: resumes from its checkpoint
    python models/build.py evaluate printed-latin        # CER on the real lines of ../shared/data (the card's figures)
    python models/build.py package printed-latin         # copy the export into tf_crnn/pretrained/printed-latin/
    python models/build.py all printed-latin --smoke --output /tmp/trial --into /tmp/trial/models   # the chain, tiny

The recipe ``models/NAME.json`` is a training config (synthetic lines only, rendered on the fly with the
fonts of ``models/fonts.json``). ``train`` runs ``python training.py with models/NAME.json`` in a child
process; the config has ``restore_model: true``, so running it again continues from the last checkpoint
(a run stops after ``max_training_minutes``; run ``train`` again to go on, or raise it). Each run's wall
and CPU time, date, machine and device are appended to ``OUTPUT/build_log.json``; the card sums them.
``evaluate`` reads the real lines of ``models/real_lines.py`` with the best export (chosen on the
synthetic evaluation lines, never on real ones); ``package`` copies that export into the package with a
``pretrained`` section in its card (recipe, command, training time and machine, fonts, figures).
``--smoke`` trains a tiny model for one epoch on a handful of lines, installing no fonts: it checks the
chain, nothing more.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from models import fonts, real_lines  # noqa: E402
from tf_crnn.errors import TfCrnnError  # noqa: E402
from tf_crnn.layout import SHIPPED_MODELS, ExportLayout, OutputLayout, best_export  # noqa: E402
from tf_crnn.serve.pretrained import CATALOG  # noqa: E402
from tf_crnn.utils.files import replaced_folder, write_json  # noqa: E402

RECIPES = Path(__file__).resolve().parent
BUILD_LOG = "build_log.json"
REAL_FIGURES = "real_figures.json"
#: What --smoke trains instead of the recipe's model: seconds, not hours.
SMOKE = [
    "n_epochs=1", "cnn_features_list=[8, 16]", "cnn_kernel_size=[3, 3]", "cnn_stride_size=[[1, 1], [1, 1]]",
    "cnn_pool_size=[[2, 2], [2, 2]]", "cnn_batch_norm=[true, true]", "rnn_units=[16]", "train_batch_size=4",
    "synthetic_data.n_train=16", "synthetic_data.n_eval=8", "synthetic_data.max_words=3", "max_training_minutes=0",
    "n_shown_predictions=0",
]  # fmt: skip
SMOKE_REAL_LINES = 8


def recipe(name: str) -> dict:
    if name not in CATALOG:
        raise TfCrnnError(f"no recipe for {name!r}: the shipped models are {', '.join(CATALOG)}")
    return json.loads((RECIPES / f"{name}.json").read_text(encoding="utf-8"))


def output_dir(name: str, args: argparse.Namespace) -> Path:
    return Path(args.output) if args.output else REPO / recipe(name)["output_model_dir"]


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        cpu = next(
            (ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")), cpu
        )
    gpus = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True) if shutil.which("nvidia-smi") else None
    device = gpus.stdout.strip().splitlines()[0] if gpus and gpus.returncode == 0 and gpus.stdout.strip() else "CPU"
    import os

    return {"cpu": f"{cpu}, {os.cpu_count()} cores", "device": device, "python": platform.python_version()}


def train(name: str, args: argparse.Namespace) -> Path:
    """Train (or resume) the model of recipe ``name``; returns its output folder."""
    output = output_dir(name, args)
    overrides = [f"output_model_dir={output}"]
    if args.smoke or args.output:
        data = output / "data"
        overrides.append(f"csv_files_eval=['{data / 'eval.csv'}']")
    if args.smoke:
        overrides += SMOKE
        if not (REPO / recipe(name)["synthetic_data"]["font_dir"]).is_dir():
            # A clean checkout has no recipe fonts (fonts installs them): the chain is checked with built-in ones.
            overrides += ["synthetic_data.font_dir=''", "synthetic_data.builtin_fonts=true"]
    command = [sys.executable, "training.py", "with", str(RECIPES / f"{name}.json"), *overrides]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, date = time.perf_counter(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    code = subprocess.run(command, cwd=REPO).returncode
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    record = {
        "date": date,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        "exit": code,
        **machine(),
    }
    log = output / BUILD_LOG
    runs = json.loads(log.read_text(encoding="utf-8")) if log.is_file() else []
    write_json(log, [*runs, record])
    if code != 0:
        raise TfCrnnError(f"training {name} stopped with status {code}; run the same command again to resume")
    return output


def shipped_export(output: Path) -> Path:
    results = OutputLayout(output).results
    chosen = json.loads(results.read_text(encoding="utf-8")).get("best_export") if results.is_file() else None
    chosen = Path(chosen) if chosen else best_export(output)
    if chosen is None or not ExportLayout(chosen).is_export:
        raise TfCrnnError(f"{output}: no export yet; train it first (python models/build.py train ...)")
    return chosen


def evaluate(name: str, args: argparse.Namespace) -> list[dict]:
    """CER, WER and line accuracy of the model on its real line sets (those of ../shared/data present)."""
    from tf_crnn.serve.evaluate import evaluate_csv

    output = output_dir(name, args)
    export = shipped_export(output)
    figures = []
    with tempfile.TemporaryDirectory() as work:
        for set_name in real_lines.MODEL_SETS[name]:
            if not real_lines.available(set_name):
                print(f"{set_name}: not in {real_lines.SHARED_DATA}, not measured")
                continue
            lines = real_lines.line_set(set_name, Path(work), SMOKE_REAL_LINES if args.smoke else None)
            metrics, _ = evaluate_csv(str(lines.csv), str(export), progress=False)
            figures.append(
                {
                    "data": lines.description,
                    "lines": lines.lines,
                    "cer": round(metrics["cer"], 5),
                    "wer": round(metrics["wer"], 5),
                    "line_accuracy": round(metrics["line_accuracy"], 5),
                }
            )
            print(f"{name} on {lines.lines} lines of {lines.description}: CER {metrics['cer']:.2%}")
    write_json(output / REAL_FIGURES, {"export": export.name, "figures": figures})
    return figures


def pretrained_section(name: str, output: Path, export: Path) -> dict:
    runs = json.loads((output / BUILD_LOG).read_text(encoding="utf-8")) if (output / BUILD_LOG).is_file() else []
    results_file = OutputLayout(output).results
    results = json.loads(results_file.read_text(encoding="utf-8")) if results_file.is_file() else {}
    config = recipe(name)
    figures_file = output / REAL_FIGURES
    measured = json.loads(figures_file.read_text(encoding="utf-8")) if figures_file.is_file() else {}
    if measured and measured.get("export") != export.name:
        raise TfCrnnError(
            f"{figures_file} holds the figures of export {measured.get('export')}, not of {export.name}: "
            f"run python models/build.py evaluate {name} first"
        )
    return {
        "name": name,
        "summary": CATALOG[name],
        "recipe": f"models/{name}.json",
        "command": f"make models MODELS={name}",
        "training_data": (
            f"synthetic lines only, rendered on the fly by tf_crnn.synth ({config['synthetic_data']['n_train']:,} new "
            f"lines per epoch, {config['synthetic_data'].get('orthography', 'modern')} orthography) with the built-in "
            f"fonts and {', '.join(fonts.manifest(name))}"
        ),
        "training": {
            "epochs": results.get("epochs"),
            "wall_minutes": round(sum(r["wall_seconds"] for r in runs) / 60, 1),
            "cpu_minutes": round(sum(r["cpu_seconds"] for r in runs) / 60, 1),
            "runs": len(runs),
            "dates": sorted({r["date"][:10] for r in runs}),
            "machines": sorted({f"{r['cpu']}; {r['device']}" for r in runs}),
            "synthetic_eval_cer": results.get("cer"),
        },
        "evaluation": measured.get("figures", []),
        "export": export.name,
    }


def package(name: str, args: argparse.Namespace) -> Path:
    """Copy the model's export into ``--into`` (default: the package's tf_crnn/pretrained/) with its card."""
    from tf_crnn.layout import read_export_info
    from tf_crnn.serve.model_card import write_model_card

    output = output_dir(name, args)
    export = shipped_export(output)
    target = Path(args.into or SHIPPED_MODELS) / name
    card = read_export_info(export) | {"pretrained": pretrained_section(name, output, export)}
    with replaced_folder(target) as tmp:
        shutil.copytree(export, tmp, dirs_exist_ok=True)
        layout = ExportLayout(tmp)
        write_json(layout.info, card, indent=2)
        write_model_card(layout.model_card, card)
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) / 1e6
    print(f"packaged {export} as {target} ({size:.1f} MB)")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("fonts", "train", "evaluate", "package", "all"))
    parser.add_argument("name", help=f"the model: {', '.join(CATALOG)}")
    parser.add_argument("--output", help="training output folder (default: the recipe's output_model_dir)")
    parser.add_argument("--into", help=f"package into this folder instead of {SHIPPED_MODELS}")
    parser.add_argument("--smoke", action="store_true", help="a tiny model, one epoch, a few lines: checks the chain")
    args = parser.parse_args(argv)
    if args.smoke and args.action == "fonts":
        parser.error("--smoke installs no fonts: it trains with the built-in ones where the recipe's are absent")
    if args.smoke and not (args.output and args.into):
        parser.error("--smoke needs --output and --into (a trial never replaces the recipe's run or a shipped model)")
    steps = ("fonts", "train", "evaluate", "package") if args.action == "all" else (args.action,)
    if args.smoke:  # a trial installs nothing: it trains with the built-in fonts where the recipe's are absent
        steps = tuple(step for step in steps if step != "fonts")
    try:
        recipe(args.name)
        for step in steps:
            if step == "fonts":
                print(fonts.install(args.name))
            elif step == "train":
                train(args.name, args)
            elif step == "evaluate":
                evaluate(args.name, args)
            else:
                package(args.name, args)
    except TfCrnnError as error:
        print(f"models/build.py: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
