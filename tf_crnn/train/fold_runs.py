"""Cross-fold training: each fold's model trained, one after another or several at once, then their ensemble.

:func:`train_folds` (``tf-crnn train-folds``) runs the plan of :mod:`tf_crnn.train.folds`:

* ``jobs`` 1: the folds one after another in this process;
* ``jobs`` > 1: that many child processes at once (``python -m tf_crnn.train.fold_runs``), each training
  one fold at a time and writing its log to the fold's ``training.log``. With several GPUs visible,
  child i sees only GPU i (``CUDA_VISIBLE_DEVICES``): one fold per GPU. On a CPU the cores are shared
  out among the children (``TF_NUM_INTRAOP_THREADS``);
* ``cluster``: the machines of ``TF_CONFIG`` (the conventions of multi-worker training) share the
  folds, fold j going to the worker of rank (j - 1) mod n, each training its own alone. The output
  folder must be on storage every machine sees: the chief splits the lines, the others wait for its
  manifest; the chief waits for every fold, then builds the ensemble.

A fold whose ``results.json`` exists is finished and is not trained again; one that was interrupted
resumes from its last checkpoint. Then the folds' best exports (each chosen on its validation fold)
become one ensemble export in ``export/`` (:mod:`tf_crnn.serve.ensemble`); it and each member are
evaluated on the user's evaluation lines, which no fold has seen, and ``results.json`` gets the figures.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from tf_crnn.data.formats.sources import expand_sources
from tf_crnn.errors import ConfigError, TfCrnnError, TrainingError
from tf_crnn.layout import FOLD_FAILURE_FILENAME, read_export_info
from tf_crnn.metrics import TextMetrics
from tf_crnn.params.params import Params
from tf_crnn.serve.ensemble import Ensemble, load_members, member_exports, record_figures
from tf_crnn.serve.evaluate import evaluate_csv
from tf_crnn.train.distribute import cluster_role
from tf_crnn.train.folds import FoldPlan, prepare_plan, read_manifest
from tf_crnn.train.interrupts import signals_as_interrupt
from tf_crnn.train.trainer import train
from tf_crnn.utils.files import atomic_write_text, write_json

LOGGER = logging.getLogger(__name__)

#: How often the chief of a cluster, or a child process's parent, looks again (seconds).
POLL_SECONDS = 1.0
CLUSTER_POLL_SECONDS = 30.0
#: How long a worker waits for the chief's manifest before it says the storage may not be shared.
MANIFEST_WAIT_SECONDS = 600.0


def default_jobs() -> int:
    """One process per GPU when several are visible; otherwise one fold at a time (on a CPU, a fold
    already keeps every core busy)."""
    gpus = len(tf.config.list_physical_devices("GPU"))
    return gpus if gpus > 1 else 1


def train_folds(
    params: Params,
    folds: int = 5,
    jobs: int | None = None,
    cluster: bool = False,
    voting: str = "auto",
    space: str = "prob",
) -> dict[str, Any]:
    """Train a model per fold of ``params.csv_files_train`` into ``params.output_model_dir``, then export
    and evaluate their ensemble; return the figures (``results.json``). ``jobs`` None: :func:`default_jobs`."""
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1, got {jobs}")
    role = cluster_role() if cluster else None
    plan = prepare_plan(params, folds) if role is None or role.is_chief else _wait_for_plan(params, folds)
    mine = [f for f in plan.folds if role is None or (f - 1) % role.num_workers == role.rank]
    pending = [fold for fold in mine if not plan.is_done(fold)]
    if role is not None:
        LOGGER.info("%s (rank %d of %d): folds %s", role.name, role.rank, role.num_workers, mine)
    cpu = run_sequentially(plan, pending) if jobs == 1 else run_in_processes(plan, pending, jobs)
    if role is not None and not role.is_chief:
        return {"worker": role.name, "folds": mine, "cpu_seconds": cpu}
    if role is not None:
        _wait_for_folds(plan)
    return finish(plan, cpu, voting, space)


def _fold_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_sequentially(plan: FoldPlan, pending: Sequence[int]) -> dict[int, float]:
    """Train the ``pending`` folds one after another in this process; their CPU seconds."""
    cpu = {}
    for fold in pending:
        LOGGER.info("fold %d of %d", fold, plan.k)
        plan.layout.fold_failure(fold).unlink(missing_ok=True)
        started = _fold_cpu()
        try:
            train(plan.fold_params(fold))
        except Exception as error:
            _report_failure(plan.fold_params(fold), str(error) or type(error).__name__)
            raise
        finally:
            keras.backend.clear_session()
        cpu[fold] = round(_fold_cpu() - started, 1)
    return cpu


def _report_failure(params: Params, reason: str) -> None:
    """Leave the reason beside the fold, where the chief of a cluster looks for it."""
    failure = Path(params.output_model_dir) / FOLD_FAILURE_FILENAME
    if failure.parent.is_dir():
        atomic_write_text(failure, reason.strip() + "\n")


def _child_environment(slot: int, jobs: int, gpus: Sequence[str]) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != "TF_CONFIG"}
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]
    else:
        env["TF_NUM_INTRAOP_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))
    return env


def run_in_processes(plan: FoldPlan, pending: Sequence[int], jobs: int) -> dict[int, float]:
    """Train the ``pending`` folds in up to ``jobs`` child processes at once; their CPU seconds.

    A fold that fails does not stop the others; the failures are reported together at the end. On
    Ctrl-C or SIGTERM every child is interrupted (each saves a checkpoint) before this one stops.
    """
    jobs = min(jobs, len(pending))
    gpus = [str(i) for i in range(len(tf.config.list_physical_devices("GPU")))]
    queue, running, cpu, failed = list(pending), {}, {}, []
    interrupted = False
    with signals_as_interrupt() as watch:
        try:
            while queue or running:
                watch.check()
                free = [slot for slot in range(jobs) if slot not in {s for s, _ in running.values()}]
                while queue and free:
                    fold, slot = queue.pop(0), free.pop(0)
                    running[fold] = (slot, _start_child(plan, fold, _child_environment(slot, jobs, gpus)))
                time.sleep(POLL_SECONDS)
                for fold, (_, child) in list(running.items()):
                    pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                    if pid == 0:
                        continue
                    child.returncode = os.waitstatus_to_exitcode(status)
                    del running[fold]
                    if child.returncode == 0 and plan.is_done(fold):
                        cpu[fold] = round(usage.ru_utime + usage.ru_stime, 1)
                        LOGGER.info("fold %d finished (%.0f CPU seconds)", fold, cpu[fold])
                    elif child.returncode in (130, 143):
                        interrupted = True
                    else:
                        failed.append(_failure(plan, fold, child.returncode))
                        _report_failure(plan.fold_params(fold), failed[-1])
        except KeyboardInterrupt:
            interrupted = True
            for _, child in running.values():
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signal.SIGINT)
            for _, child in running.values():
                child.wait()
    if interrupted:
        raise KeyboardInterrupt
    if failed:
        raise TrainingError(
            f"{len(failed)} fold(s) failed: {'; '.join(failed)}; the other folds are kept: run the same command "
            "again to retry"
        )
    return cpu


def _start_child(plan: FoldPlan, fold: int, env: dict[str, str]) -> subprocess.Popen:
    layout = plan.layout
    layout.fold_failure(fold).unlink(missing_ok=True)
    plan.fold_params(fold).to_json_file(layout.fold_config(fold))
    layout.fold(fold).root.mkdir(parents=True, exist_ok=True)
    LOGGER.info("fold %d of %d: training in a process of its own, log %s", fold, plan.k, layout.fold_log(fold))
    with open(layout.fold_log(fold), "a", encoding="utf-8") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tf_crnn.train.fold_runs", str(layout.fold_config(fold))],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _failure(plan: FoldPlan, fold: int, code: int) -> str:
    log = plan.layout.fold_log(fold)
    lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return f"fold {fold} (exit status {code}: {lines[-1].strip() if lines else 'no output'}; log {log})"


def _wait_for_plan(params: Params, k: int) -> FoldPlan:
    """A worker other than the chief: the chief's manifest, once written."""
    layout = FoldPlan(params, k, {}).layout
    waited = 0.0
    while not layout.is_folds:
        if waited >= MANIFEST_WAIT_SECONDS:
            raise TrainingError(
                f"waited {waited / 60:.0f} minutes for the chief's {layout.manifest}: is output_model_dir on storage "
                "that every worker of the cluster shares?"
            )
        time.sleep(min(CLUSTER_POLL_SECONDS, MANIFEST_WAIT_SECONDS))
        waited += CLUSTER_POLL_SECONDS
    plan = FoldPlan(params, k, read_manifest(layout))
    if plan.manifest.get("folds") != k:
        raise ConfigError(f"the chief split the lines into {plan.manifest.get('folds')} folds, this worker into {k}")
    return plan


def _wait_for_folds(plan: FoldPlan) -> None:
    """The chief of a cluster: wait until every fold is finished; stop if a worker reported a failure."""
    reported = 0.0
    while True:
        waiting = [fold for fold in plan.folds if not plan.is_done(fold)]
        if not waiting:
            return
        failures = [fold for fold in waiting if plan.layout.fold_failure(fold).is_file()]
        if failures:
            reasons = [f"fold {f}: {plan.layout.fold_failure(f).read_text(encoding='utf-8').strip()}" for f in failures]
            raise TrainingError(f"another worker failed: {'; '.join(reasons)}; run the same command again to retry")
        if time.monotonic() - reported > 600:
            LOGGER.info("waiting for fold(s) %s of the other workers", ", ".join(map(str, waiting)))
            reported = time.monotonic()
        time.sleep(CLUSTER_POLL_SECONDS)


def evaluate_lines(export: Path, sources: Sequence[str], params: Params) -> dict[str, float]:
    """CER, WER and line accuracy of an export over every evaluation input of ``params``."""
    metrics = TextMetrics()
    for source in expand_sources(sources):
        _, table = evaluate_csv(
            source, str(export), params.eval_batch_size, params.csv_delimiter, params.string_split_delimiter,
            progress=False,
        )  # fmt: skip
        metrics.update(list(table["reference"]), list(table["prediction"]))
    figures = metrics.result()
    return {name: round(float(figures[name]), 6) for name in ("cer", "wer", "line_accuracy")} | {"lines": metrics.lines}


def finish(plan: FoldPlan, cpu: dict[int, float], voting: str, space: str) -> dict[str, Any]:
    """Export the ensemble of the folds' best exports, evaluate it and each member on the user's evaluation
    lines, write ``results.json``; unless ``results.json`` already describes that ensemble of these folds."""
    layout, params = plan.layout, plan.params
    exports = member_exports([layout.root])
    previous = json.loads(layout.results.read_text(encoding="utf-8")) if layout.results.is_file() else {}
    same = previous.get("ensemble", {})
    newest_fold = max(layout.fold(fold).results.stat().st_mtime_ns for fold in plan.folds)
    if (
        [m.get("export") for m in previous.get("members", [])] == [str(e) for e in exports]
        and (same.get("voting_asked"), same.get("space")) == (voting, space)
        and previous.get("evaluation_data") == list(params.csv_files_eval)
        and Path(same.get("export", "")).is_dir()
        and layout.results.stat().st_mtime_ns > newest_fold
    ):
        LOGGER.info("the ensemble of these folds is exported already: %s", same["export"])
        return previous
    ensemble = Ensemble(load_members(exports), voting, space)
    export = ensemble.export(layout.export(time.strftime("%Y%m%d-%H%M%S")), {"folds": plan.k})
    members = []
    for fold, member_export in zip(plan.folds, exports):
        fold_results = json.loads(layout.fold(fold).results.read_text(encoding="utf-8"))
        validation = read_export_info(member_export)
        members.append(
            {
                "fold": fold,
                "export": str(member_export),
                "validation_cer": validation.get("metrics", {}).get("cer"),
                "epochs": fold_results.get("epochs"),
                "train_seconds": fold_results.get("train_seconds"),
                "cpu_seconds": cpu.get(fold),
            }
        )
    summary = {"export": str(export), "voting": ensemble.voting, "voting_asked": voting, "space": space}
    if params.csv_files_eval:
        LOGGER.info("evaluating the ensemble and its %d members on %s", len(members), params.csv_files_eval)
        summary.update(evaluate_lines(export, params.csv_files_eval, params))
        record_figures(export, {k: summary[k] for k in ("cer", "wer", "line_accuracy")})
        for member in members:
            member["evaluation"] = evaluate_lines(Path(member["export"]), params.csv_files_eval, params)
    result = {"folds": plan.k, "evaluation_data": list(params.csv_files_eval), "members": members, "ensemble": summary}
    write_json(layout.results, result, indent=2)
    return result


@contextlib.contextmanager
def _exit_status() -> Iterator[None]:
    """A child process's exit: 0, the error's status with one line for a user error (docs/reliability.md),
    130/143 after an interruption."""
    try:
        yield
    except TfCrnnError as error:
        LOGGER.error("%s", error)
        raise SystemExit(error.exit_status) from None
    except KeyboardInterrupt as interrupt:
        raise SystemExit(128 + getattr(interrupt, "signal", signal.SIGINT)) from None


def main(argv: Sequence[str]) -> None:
    """``python -m tf_crnn.train.fold_runs PARAMS.json``: train one fold (the child process of a parallel run)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with _exit_status():
        params = Params.from_json_file(argv[0])
        train(params)


if __name__ == "__main__":
    main(sys.argv[1:])
