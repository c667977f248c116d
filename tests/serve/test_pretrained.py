"""Models by name: ``PredictionModel.from_pretrained``, ``tf-crnn models``, ``predict/evaluate --model`` and
``warm_start.model=NAME``, on a tiny export kept in a ``$TF_CRNN_MODELS`` folder (the shipped models
themselves are tested in test_shipped_models.py)."""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import numpy as np
import pytest

from tf_crnn.cli import main
from tf_crnn.errors import ConfigError, ModelError, TfCrnnError
from tf_crnn.layout import MODELS_ENV, SHIPPED_MODELS, model_folders, named_model
from tf_crnn.params.resolve import resolve
from tf_crnn.serve.predictor import PredictionModel
from tf_crnn.serve.pretrained import CATALOG, available_models, get_model
from tf_crnn.train.warm_start import load_source

NAME = "tiny-digits"


@pytest.fixture
def models_folder(tmp_path, random_export, monkeypatch):
    """A $TF_CRNN_MODELS folder holding the random tiny export as ``tiny-digits``."""
    folder = tmp_path / "my_models"
    shutil.copytree(random_export[3], folder / NAME)
    monkeypatch.setenv(MODELS_ENV, str(folder))
    return folder


def run_cli(*argv: str) -> tuple[int, str]:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(list(argv))
    return code, stdout.getvalue()


def test_the_env_folders_come_before_the_shipped_ones(models_folder):
    assert model_folders() == [models_folder, SHIPPED_MODELS]
    assert named_model(NAME) == models_folder / NAME
    assert named_model("../my_models") is None and named_model("") is None and named_model(".hidden") is None


def test_from_pretrained_reads_as_the_export_folder_does(models_folder, tiny_dataset):
    from tf_crnn.data.formats.csv_rows import read_csv_rows

    paths = [row.path for row in read_csv_rows(tiny_dataset["eval"])[0][:4]]
    by_name = PredictionModel.from_pretrained(NAME, batch_size=2)
    assert by_name.export_dir == models_folder / NAME and by_name.batch_size == 2
    assert by_name.predict(paths).texts == PredictionModel(models_folder / NAME).predict(paths).texts


def test_an_unknown_name_is_refused_with_the_names_and_the_closest_one(models_folder):
    expected = r"no model named 'tiny-digit' \(did you mean 'tiny-digits'\?\).*printed-latin"
    with pytest.raises(TfCrnnError, match=expected):
        PredictionModel.from_pretrained("tiny-digit")


def test_a_shipped_model_missing_from_this_copy_says_how_it_is_made(monkeypatch):
    missing = [name for name in CATALOG if named_model(name) is None]
    if not missing:
        pytest.skip("every shipped model is installed in this copy")
    with pytest.raises(TfCrnnError, match=rf"model '{missing[0]}' is not installed.*make models"):
        get_model(missing[0])


def test_models_lists_the_catalog_and_the_folders_models(models_folder):
    code, stdout = run_cli("models", "--json")
    assert code == 0
    records = {record["name"]: record for record in json.loads(stdout)["models"]}
    assert list(records)[: len(CATALOG)] == list(CATALOG)
    mine = records[NAME]
    assert mine["installed"] and not mine["shipped"] and mine["path"] == str(models_folder / NAME)
    assert mine["alphabet_units"] == 17 and mine["input_height"] == 16 and mine["size_mb"] > 0
    code, stdout = run_cli("models")
    assert code == 0 and f"{NAME}: a model of $TF_CRNN_MODELS" in stdout and "17 units, input height 16 px" in stdout


def test_models_name_shows_the_card(models_folder):
    code, stdout = run_cli("models", NAME)
    assert code == 0 and stdout.startswith(f"{NAME}: {models_folder / NAME}") and "# tf-crnn model card" in stdout
    code, stdout = run_cli("models", NAME, "--json")
    assert json.loads(stdout)["card"]["input_height"] == 16


def test_models_with_an_unknown_name_is_a_one_line_error(models_folder, capsys):
    assert main(["models", "nope"]) == ModelError.exit_status
    assert capsys.readouterr().err.startswith("tf-crnn models: error: no model named 'nope'")


def test_a_model_with_a_damaged_card_is_flagged_and_the_others_still_listed(models_folder, capsys):
    shutil.copytree(models_folder / NAME, models_folder / "broken")
    (models_folder / "broken" / "export_info.json").write_text("{", encoding="utf-8")
    code, stdout = run_cli("models")
    assert code == 0 and "17 units, input height 16 px" in stdout
    assert "broken: a model of $TF_CRNN_MODELS" in stdout and "unreadable model card" in stdout
    assert main(["models", "broken"]) == ModelError.exit_status
    error = capsys.readouterr().err
    assert error.startswith("tf-crnn models: error: ") and "broken/export_info.json: unreadable model card" in error
    assert len(error.strip().splitlines()) == 1


def test_predict_and_evaluate_take_a_model_name(models_folder, tiny_dataset):
    code, stdout = run_cli("predict", "--model", NAME, "--csv", str(tiny_dataset["eval"]), "--json")
    assert code == 0 and json.loads(stdout)["lines"] == 12
    code, stdout = run_cli("evaluate", "--model", NAME, "--csv", str(tiny_dataset["eval"]), "--json")
    assert code == 0 and json.loads(stdout)["lines"] == 12


def test_predict_needs_exactly_one_of_model_and_model_dir(models_folder, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["predict", "--model", NAME, "--model-dir", str(models_folder / NAME), "x.png"])
    assert stop.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["predict", "x.png"])
    assert stop.value.code == 2 and "one of the arguments --model-dir --model is required" in capsys.readouterr().err


def test_a_warm_start_reads_a_model_by_name(models_folder, random_export):
    source = load_source(NAME)
    assert source.origin == str(models_folder / NAME)
    assert source.alphabet.alphabet_units == random_export[1].alphabet_units
    original = random_export[2].get_layer("logits").kernel.numpy()
    np.testing.assert_array_equal(source.model.get_layer("logits").kernel.numpy(), original)


def test_a_warm_start_from_an_unknown_name_lists_the_names(models_folder):
    with pytest.raises(ConfigError, match=r"warm_start.model nope: not an export folder.*a model name \(printed-latin"):
        load_source("nope")


def test_the_architecture_a_config_leaves_out_is_the_sources(models_folder, tmp_path):
    params = resolve(updates={"warm_start": {"model": NAME}, "max_chars_per_string": 20})
    source = json.loads((models_folder / NAME / "params.json").read_text(encoding="utf-8"))
    assert params.architecture == {name: source[name] for name in params.architecture}
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"rnn_units": [32], "warm_start": {"model": NAME}}), encoding="utf-8")
    mixed = resolve([config], {"input_shape": [16, 512], "max_chars_per_string": 20})
    assert mixed.rnn_units == [32] and list(mixed.input_shape) == [16, 512]  # given: kept (and refused later)
    assert mixed.cnn_features_list == source["cnn_features_list"]  # not given: the source's


def test_the_architecture_of_an_export_folder_or_a_checkpoint_is_found_too(random_export, tmp_path):
    export = random_export[3]
    short = {"max_chars_per_string": 20}
    assert resolve(updates={"warm_start": {"model": str(export)}, **short}).rnn_units == [16]
    checkpoint = tmp_path / "run" / "checkpoints" / "ckpt-3"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.with_name("ckpt-3.index").write_bytes(b"")
    shutil.copy(export / "params.json", tmp_path / "run" / "params.json")
    assert resolve(updates={"warm_start": {"model": str(checkpoint)}, **short}).cnn_features_list == [8, 16]


def test_available_models_skip_folders_that_are_not_exports(models_folder):
    (models_folder / "notes").mkdir()
    (models_folder / ".tmp-export").mkdir()
    names = [model.name for model in available_models()]
    assert NAME in names and "notes" not in names and ".tmp-export" not in names
