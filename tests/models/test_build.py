"""make models' chain (models/build.py, models/fonts.py) at its smallest: fonts listed for every recipe, a tiny
trial trained, measured and packaged into a temporary models folder, then read by name."""

from __future__ import annotations

import json

import pytest

from models import build, fonts
from tests.conftest import REPO
from tf_crnn.layout import MODELS_ENV, ExportLayout
from tf_crnn.params.params import Params
from tf_crnn.serve.pretrained import CATALOG, get_model


@pytest.mark.parametrize("name", list(CATALOG))
def test_every_shipped_model_has_a_valid_recipe_and_its_fonts(name):
    recipe = json.loads((REPO / "models" / f"{name}.json").read_text(encoding="utf-8"))
    params = Params.from_dict(recipe)
    assert params.restore_model and params.synthetic_data.on_the_fly  # resumes; synthetic lines only
    assert params.synthetic_data.font_dir == f"data/fonts/{name}"
    families = fonts.manifest(name)
    assert families and all(("debian" in f) != ("npm" in f) and f["files"] and f["licence"] for f in families.values())


def test_an_unknown_model_is_named(capsys):
    assert build.main(["train", "latin-ish"]) == 1
    assert "no recipe for 'latin-ish'" in capsys.readouterr().err
    assert fonts.main(["coverage", "latin-ish"]) == 1


def test_smoke_never_touches_the_recipe_run_or_the_shipped_models():
    with pytest.raises(SystemExit):
        build.main(["all", "printed-latin", "--smoke"])


def test_the_chain_trains_measures_and_packages_a_model_that_loads_by_name(tmp_path, monkeypatch, tiny_dataset, capsys):
    output, into = tmp_path / "run", tmp_path / "models"
    monkeypatch.setattr(fonts, "install", lambda name: pytest.fail("a trial installs no fonts"))
    assert build.main(["all", "printed-latin", "--smoke", "--output", str(output), "--into", str(into)]) == 0
    packaged = into / "printed-latin"
    assert ExportLayout(packaged).is_export
    card = json.loads(ExportLayout(packaged).info.read_text(encoding="utf-8"))["pretrained"]
    assert card["recipe"] == "models/printed-latin.json" and card["training"]["runs"] == 1
    assert card["training"]["wall_minutes"] > 0 and card["training"]["machines"]
    assert "## `printed-latin`: a model that ships with tf-crnn" in ExportLayout(packaged).model_card.read_text()
    log = json.loads((output / build.BUILD_LOG).read_text(encoding="utf-8"))
    assert len(log) == 1 and log[0]["exit"] == 0
    monkeypatch.setenv(MODELS_ENV, str(into))
    model = get_model("printed-latin")
    assert model.path == packaged and not model.shipped and model.summary_record()["training"]["runs"] == 1
    measured = json.loads((output / build.REAL_FIGURES).read_text(encoding="utf-8"))
    assert card["evaluation"] == measured["figures"] and card["export"] == measured["export"]
    (output / build.REAL_FIGURES).write_text(json.dumps({"export": "20200101-000000", "figures": []}))
    assert build.main(["package", "printed-latin", "--smoke", "--output", str(output), "--into", str(into)]) == 1
    assert "run python models/build.py evaluate printed-latin first" in capsys.readouterr().err
