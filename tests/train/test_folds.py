"""Cross-fold training: the split, the manifest, resuming, folds in parallel or on a cluster, the ensemble."""

import dataclasses
import json
from collections import Counter
from pathlib import Path

import pytest

from tf_crnn.data.formats.csv_rows import read_csv_rows, write_csv_rows
from tf_crnn.data.rows import LabelledRow
from tf_crnn.errors import ConfigError, DataError, TrainingError
from tf_crnn.layout import FoldsLayout, best_export
from tf_crnn.params.sections import Distribution, SyntheticData, WarmStart
from tf_crnn.serve.predictor import PredictionModel
from tf_crnn.train import fold_runs
from tf_crnn.train.fold_runs import train_folds
from tf_crnn.train.folds import prepare_plan, split_rows

BOOKS = {"1476": 120, "1509": 37, "1572": 5, "tiny": 3}


def book_rows(books: dict[str, int]) -> list[LabelledRow]:
    return [
        LabelledRow(f"/data/{book}/{i:04d}.png", ("a",), "train.csv", i) for book, n in books.items() for i in range(n)
    ]


def test_folds_are_disjoint_cover_every_line_and_hold_every_book_in_equal_shares():
    rows = book_rows(BOOKS)
    split = split_rows(rows, 5, seed=7)
    flat = [i for fold in split.folds for i in fold]
    assert sorted(flat) == list(range(len(rows)))  # disjoint and covering
    sizes = [len(fold) for fold in split.folds]
    assert max(sizes) - min(sizes) <= 1
    for fold in split.folds:
        per_book = Counter(Path(rows[i].path).parent.name for i in fold)
        for book, n in BOOKS.items():
            assert n // 5 <= per_book[book] <= -(-n // 5), (book, per_book)
    assert split.groups["train.csv:/data/1476"] == [24] * 5
    assert split_rows(rows, 5, seed=7) == split
    assert split_rows(rows, 5, seed=8).folds != split.folds


def test_too_few_lines_for_the_folds_or_too_few_folds_are_refused():
    with pytest.raises(DataError, match=r"3 usable training line\(s\) cannot make 5 folds.*use 3 folds or fewer"):
        split_rows(book_rows({"a": 3}), 5, seed=0)
    with pytest.raises(ConfigError, match="needs 2 folds or more, got 1"):
        split_rows(book_rows(BOOKS), 1, seed=0)


@pytest.fixture
def folds_params(tiny_experiment, tmp_path):
    return dataclasses.replace(tiny_experiment, output_model_dir=str(tmp_path / "folds"), n_shown_predictions=0)


def test_the_plan_is_written_once_and_a_rerun_with_another_split_is_refused(folds_params, tiny_dataset, tmp_path):
    plan = prepare_plan(folds_params, 3)
    layout = FoldsLayout(folds_params.output_model_dir)
    manifest = json.loads(layout.manifest.read_text(encoding="utf-8"))
    assert manifest["folds"] == 3 and manifest["lines"] == 48
    assert [m["validation_lines"] for m in manifest["members"]] == [16, 16, 16]
    validation = [row.path for fold in plan.folds for row in read_csv_rows(layout.split(fold, "validation"))[0]]
    assert sorted(validation) == sorted(row.path for row in read_csv_rows(tiny_dataset["train"])[0])
    for fold in plan.folds:
        params = plan.fold_params(fold)
        training = {row.path for row in read_csv_rows(params.csv_files_train[0])[0]}
        assert training.isdisjoint(row.path for row in read_csv_rows(params.csv_files_eval[0])[0])
        assert len(training) == 32 and params.seed == folds_params.seed + fold - 1 and params.restore_model
    assert prepare_plan(folds_params, 3).manifest == manifest  # read back

    with pytest.raises(ConfigError, match=r"holds folds split otherwise \(3 folds then, 4 now\)"):
        prepare_plan(folds_params, 4)
    fewer = tmp_path / "fewer.csv"
    write_csv_rows(
        fewer, [(row.path, row.units) for row in read_csv_rows(tiny_dataset["train"])[0][:40]], relative=False
    )
    with pytest.raises(ConfigError, match=r"other training lines \(48 then, 40 now\)"):
        prepare_plan(dataclasses.replace(folds_params, csv_files_train=[str(fewer)]), 3)
    layout.split(2, "validation").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match=r"fold 2: its validation lines .*fold_2_validation.csv are missing or empty"):
        prepare_plan(folds_params, 3)


def test_what_cannot_be_split_is_refused(folds_params, tmp_path):
    on_the_fly = SyntheticData(n_train=10, n_eval=4, on_the_fly=True)
    with pytest.raises(ConfigError, match="synthetic_data.on_the_fly renders new lines every epoch"):
        prepare_plan(dataclasses.replace(folds_params, csv_files_train=[], synthetic_data=on_the_fly), 3)
    with pytest.raises(ConfigError, match="multi_worker.*use --cluster"):
        prepare_plan(dataclasses.replace(folds_params, distribution=Distribution(strategy="multi_worker")), 3)
    with pytest.raises(DataError, match=r"48 usable training line\(s\) cannot make 60 folds"):
        prepare_plan(folds_params, 60)


def test_folds_train_warm_started_their_ensemble_is_the_best_export_and_a_rerun_resumes(
    folds_params, random_export, monkeypatch
):
    params = dataclasses.replace(folds_params, warm_start=WarmStart(model=str(random_export[3])))
    result = train_folds(params, 3, jobs=1)
    layout = FoldsLayout(params.output_model_dir)
    for fold in (1, 2, 3):
        fold_result = json.loads(layout.fold(fold).results.read_text(encoding="utf-8"))
        assert fold_result["warm_start"]["source"] == str(random_export[3])
    assert json.loads(layout.results.read_text(encoding="utf-8")) == result
    ensemble = result["ensemble"]
    assert ensemble["voting"] == "frames" and ensemble["lines"] == 12 and ensemble["cer"] >= 0
    assert [m["fold"] for m in result["members"]] == [1, 2, 3]
    assert all(m["evaluation"]["lines"] == 12 and m["cpu_seconds"] > 0 for m in result["members"])
    assert best_export(layout.root) == Path(ensemble["export"])
    model = PredictionModel(layout.root)
    assert model.export_dir == Path(ensemble["export"]) and model.info["metrics"]["cer"] == ensemble["cer"]

    monkeypatch.setattr(fold_runs, "train", lambda params: pytest.fail(f"{params.output_model_dir} trained again"))
    assert train_folds(params, 3, jobs=1) == result  # nothing trained, nor exported again
    monkeypatch.undo()

    layout.fold(2).results.unlink()  # fold 2 stopped after its checkpoint of epoch 1
    finished = {fold: layout.fold(fold).results.stat().st_mtime_ns for fold in (1, 3)}
    again = train_folds(dataclasses.replace(params, n_epochs=2), 3, jobs=1)
    state = json.loads(layout.fold(2).training_state.read_text(encoding="utf-8"))
    assert state["epoch"] == 2  # resumed after epoch 1, not started over (nor warm-started again)
    assert "warm_start" not in json.loads(layout.fold(2).results.read_text(encoding="utf-8"))
    assert {fold: layout.fold(fold).results.stat().st_mtime_ns for fold in (1, 3)} == finished
    assert again["ensemble"]["export"] != ensemble["export"] and again["members"][1]["epochs"] == 2


def test_folds_in_processes_of_their_own_log_apart_and_report_a_failure_with_its_reason(folds_params):
    result = train_folds(folds_params, 2, jobs=2)
    layout = FoldsLayout(folds_params.output_model_dir)
    for fold in (1, 2):
        assert "Exported SavedModel" in layout.fold_log(fold).read_text(encoding="utf-8")
    assert all(m["cpu_seconds"] > 0 for m in result["members"])

    broken = dataclasses.replace(folds_params, output_model_dir=str(Path(folds_params.output_model_dir) / "x"))
    plan = prepare_plan(broken, 2)
    fold = plan.layout.fold(1)  # holds a run of another architecture: the fold cannot resume it
    fold.checkpoints.mkdir(parents=True)
    (fold.checkpoints / "checkpoint").write_text("garbage", encoding="utf-8")
    fold.params.write_text(json.dumps({**plan.fold_params(1).to_dict(), "rnn_units": [8]}), encoding="utf-8")
    with pytest.raises(TrainingError, match=r"1 fold\(s\) failed: fold 1 \(exit status 4: .*architecture changed"):
        fold_runs.run_in_processes(plan, [1], jobs=2)
    assert "architecture changed" in plan.layout.fold_failure(1).read_text(encoding="utf-8")


def test_the_workers_of_a_cluster_share_the_folds_and_the_chief_stops_on_a_failure(folds_params, monkeypatch):
    plan = prepare_plan(folds_params, 3)  # the chief's split
    cluster = {"cluster": {"worker": ["host0:1", "host1:1"]}, "task": {"type": "worker", "index": 1}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    result = train_folds(folds_params, 3, jobs=1, cluster=True)
    assert result == {"worker": "worker:1", "folds": [2], "cpu_seconds": {2: result["cpu_seconds"][2]}}
    assert [plan.is_done(fold) for fold in (1, 2, 3)] == [False, True, False]

    plan.layout.fold(3).root.mkdir(parents=True)
    plan.layout.fold_failure(3).write_text("units not in the alphabet\n", encoding="utf-8")
    monkeypatch.setattr(fold_runs, "CLUSTER_POLL_SECONDS", 0.01)
    with pytest.raises(TrainingError, match="another worker failed: fold 3: units not in the alphabet"):
        fold_runs._wait_for_folds(plan)
