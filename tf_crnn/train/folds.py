"""Cross-fold training's plan: the training lines split into k folds, and what each fold's model trains on.

The training lines are checked once, as a training run checks them (the report of kept and dropped
rows goes to ``preprocessed/``), then split. Lines are grouped by where they come from, their input
file and the folder of their image (a book, a scribe, a collection); each group is shuffled with the
seed and dealt to the folds in turn, continuing where the previous group stopped. So every fold
holds about 1/k of every group, each model trains on every group, and the folds differ in size by
one line at most. Fold j's model trains on the other k - 1 folds and validates on fold j: its
evaluation after each epoch, the best export, early stopping and learning-rate plateaus all read
that fold, and the user's own evaluation lines stay untouched for the final figure.

The plan is written to ``folds.json`` (the manifest), with the split lines under ``splits/``. Running
the same command again reads it back, so the split never changes under a fold that is half trained;
a run with other lines, another k or another seed is refused, naming what changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.checks import is_streamed, preprocess_csv
from tf_crnn.data.formats.csv_rows import write_csv_rows
from tf_crnn.data.rows import LabelledRow
from tf_crnn.errors import ConfigError, DataError
from tf_crnn.layout import FoldsLayout, OutputLayout
from tf_crnn.params.params import Params
from tf_crnn.params.sections import SyntheticData
from tf_crnn.train.inputs import ensure_data
from tf_crnn.utils.files import write_json

LOGGER = logging.getLogger(__name__)

MANIFEST_FORMAT = 1


def group_of(row: LabelledRow) -> str:
    """Where a line comes from: its input file, and its image's folder when that file lists several folders."""
    return f"{row.source}:{Path(row.path).parent}"


@dataclass(frozen=True)
class FoldSplit:
    """Row indices of each fold, and how many lines of each group each fold holds."""

    folds: list[list[int]]
    groups: dict[str, list[int]]


def split_rows(rows: Sequence[LabelledRow], k: int, seed: int) -> FoldSplit:
    """Split ``rows`` into ``k`` disjoint folds covering them all, stratified by :func:`group_of`."""
    if k < 2:
        raise ConfigError(f"cross-fold training needs 2 folds or more, got {k}")
    if len(rows) < k:
        raise DataError(
            f"{len(rows)} usable training line(s) cannot make {k} folds: each fold needs one line at least to "
            f"validate on; use {max(len(rows), 2)} folds or fewer, or more lines"
        )
    groups: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(group_of(row), []).append(index)
    shuffler = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    counts: dict[str, list[int]] = {}
    turn = 0
    for name, members in groups.items():
        order = list(members)
        shuffler.shuffle(order)
        counts[name] = [0] * k
        for index in order:
            folds[turn % k].append(index)
            counts[name][turn % k] += 1
            turn += 1
    return FoldSplit([sorted(fold) for fold in folds], counts)


def fingerprint(rows: Sequence[LabelledRow]) -> str:
    """A digest of the lines (image path and units, in order): whether a rerun splits the same lines."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(f"{row.path}\t{chr(31).join(row.units)}\n".encode())
    return digest.hexdigest()


@dataclass
class FoldPlan:
    """The folds of one output folder: ``k``, the manifest's content, and each fold's params."""

    params: Params
    k: int
    manifest: dict[str, Any]

    @property
    def layout(self) -> FoldsLayout:
        return FoldsLayout(self.params.output_model_dir)

    @property
    def folds(self) -> list[int]:
        return [entry["fold"] for entry in self.manifest["members"]]

    def fold_params(self, fold: int) -> Params:
        """Fold ``fold``'s training run: the user's settings, its own lines, folder and seed; it resumes
        its checkpoints when it has some (warm_start applies only to a fold starting afresh)."""
        layout = self.layout
        return dataclasses.replace(
            self.params,
            csv_files_train=[str(layout.split(fold, "train"))],
            csv_files_eval=[str(layout.split(fold, "validation"))],
            input_format="auto",
            synthetic_data=SyntheticData(),
            output_model_dir=str(layout.fold(fold).root),
            restore_model=True,
            seed=self.params.seed + fold - 1,
        )

    def is_done(self, fold: int) -> bool:
        """A fold is done when its training wrote ``results.json`` (after its final export)."""
        return self.layout.fold(fold).results.is_file()


def check_folds_params(params: Params) -> None:
    """What cross-fold training cannot split: lines rendered on the fly, streamed TFRecord shards, a cluster."""
    if params.synthetic_data.on_the_fly:
        raise ConfigError(
            "cross-fold training splits labelled lines; synthetic_data.on_the_fly renders new lines every epoch: "
            "write them to a CSV first (synthetic_data.on_the_fly=false)"
        )
    if params.distribution.strategy == "multi_worker":
        raise ConfigError(
            "distribution.strategy 'multi_worker' makes the machines of TF_CONFIG train one model together; "
            "to give each machine its own folds, set it to none (or mirrored) and use --cluster"
        )
    if not params.csv_files_train:
        raise ConfigError("csv_files_train is empty: cross-fold training splits the training lines")
    if is_streamed(params.csv_files_train, params):
        raise ConfigError(
            "cross-fold training splits lines listed in memory; TFRecord shards are streamed: train on the CSV, "
            "TSV or .gt.txt lines they were converted from"
        )


def prepare_plan(params: Params, k: int) -> FoldPlan:
    """Check the training lines, split them and write the manifest and split lists; or, when the output
    folder holds the folds of an earlier run, read them back after checking it split the same lines."""
    check_folds_params(params)
    layout = FoldsLayout(params.output_model_dir)
    output = OutputLayout(params.output_model_dir)
    if not layout.is_folds and (output.has_checkpoints or output.has_exports):
        raise ConfigError(
            f"{layout.root} holds a training run, not folds; choose another output_model_dir for cross-fold training"
        )
    ensure_data(params)
    alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
    layout.root.mkdir(parents=True, exist_ok=True)
    rows = preprocess_csv(params.csv_files_train, params, alphabet, "train").rows
    if any(row.image is not None for row in rows):
        raise ConfigError(
            "cross-fold training lists each fold's lines by image path; TFRecord shards hold their images: train "
            "on the CSV, TSV or .gt.txt lines they were converted from"
        )
    digest = fingerprint(rows)
    if layout.is_folds:
        plan = FoldPlan(params, k, read_manifest(layout))
        _check_same_split(plan, len(rows), digest)
        return plan
    split = split_rows(rows, k, params.seed)
    members = []
    for fold in range(1, k + 1):
        validation = set(split.folds[fold - 1])
        for name, chosen in (("train", [r for i, r in enumerate(rows) if i not in validation]),
                             ("validation", [rows[i] for i in sorted(validation)])):  # fmt: skip
            write_csv_rows(
                layout.split(fold, name), ((row.path, row.units) for row in chosen),
                params.csv_delimiter, params.string_split_delimiter, relative=False,
            )  # fmt: skip
        members.append(
            {
                "fold": fold,
                "output": layout.fold(fold).root.name,
                "train": layout.split(fold, "train").relative_to(layout.root).as_posix(),
                "validation": layout.split(fold, "validation").relative_to(layout.root).as_posix(),
                "train_lines": len(rows) - len(validation),
                "validation_lines": len(validation),
            }
        )
    thin = {name: sum(1 for n in per_fold if n == 0) for name, per_fold in split.groups.items()}
    for name, missing in thin.items():
        if missing:
            LOGGER.warning(
                "%s has %d line(s), fewer than %d folds: %d fold(s) validate without any of its lines",
                name, sum(split.groups[name]), k, missing,
            )  # fmt: skip
    manifest = {
        "format": MANIFEST_FORMAT,
        "folds": k,
        "seed": params.seed,
        "lines": len(rows),
        "fingerprint": digest,
        "training_data": list(params.csv_files_train),
        "evaluation_data": list(params.csv_files_eval),
        "groups": [{"group": name, "lines": sum(n), "per_fold": n} for name, n in split.groups.items()],
        "members": members,
    }
    write_json(layout.manifest, manifest, indent=2)
    LOGGER.info(
        "%d training lines of %d group(s) split into %d folds of %s lines", len(rows), len(split.groups), k,
        "/".join(str(m["validation_lines"]) for m in members),
    )  # fmt: skip
    return FoldPlan(params, k, manifest)


def read_manifest(layout: FoldsLayout) -> dict[str, Any]:
    """The manifest of an output folder of cross-fold training, checked enough to be used."""
    try:
        manifest = json.loads(layout.manifest.read_text(encoding="utf-8"))
        members = manifest["members"]
        for entry in members:
            int(entry["fold"]), entry["train"], entry["validation"]  # noqa: B018 - the fields must exist
    except (ValueError, KeyError, TypeError, OSError) as error:
        raise ConfigError(
            f"{layout.manifest} is unreadable ({error}); delete {layout.root} to split the lines again"
        ) from None
    for entry in members:
        for name in ("train", "validation"):
            path = layout.root / entry[name]
            if not path.is_file() or not path.read_text(encoding="utf-8").strip():
                raise DataError(
                    f"fold {entry['fold']}: its {name} lines {path} are missing or empty; delete {layout.root} "
                    "to split the lines again"
                )
    return manifest


def _check_same_split(plan: FoldPlan, n_lines: int, digest: str) -> None:
    manifest, root = plan.manifest, plan.layout.root
    changes = []
    if manifest.get("folds") != plan.k:
        changes.append(f"{manifest.get('folds')} folds then, {plan.k} now")
    if manifest.get("seed") != plan.params.seed:
        changes.append(f"seed {manifest.get('seed')} then, {plan.params.seed} now")
    if manifest.get("fingerprint") != digest:
        changes.append(f"other training lines ({manifest.get('lines')} then, {n_lines} now)")
    if changes:
        raise ConfigError(
            f"{root} holds folds split otherwise ({'; '.join(changes)}); use the same settings to resume them, "
            "or another output_model_dir"
        )
    done = [fold for fold in plan.folds if plan.is_done(fold)]
    if done:
        LOGGER.info("resuming the folds of %s: fold(s) %s finished already", root, ", ".join(map(str, done)))
