"""The models that ship in the package: each loads by name and reads clean generated lines with the expected
text. They skip, saying why, while tf_crnn/pretrained/ holds no export of them (before make models)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tf_crnn.layout import SHIPPED_MODELS, ExportLayout
from tf_crnn.metrics import compute_metrics
from tf_crnn.serve.predictor import PredictionModel
from tf_crnn.serve.pretrained import CATALOG
from tf_crnn.synth.fonts import REGULAR, builtin_families

#: Clean lines every shipped model must read: plain printed text in a Times-like face (STIX).
LINES = {
    "printed-latin": [
        "The quick brown fox jumps over the lazy dog.",
        "Invoice No. 1234 dated 12 March 2021",
        "Café à la carte",
    ],
    "historical-latin": ["Von der Freyheit eines Christen", "Anno Domini 1572 in Venetia", "Die Sonne scheinet"],
}


def shipped(name: str):
    if not ExportLayout(SHIPPED_MODELS / name).is_export:
        pytest.skip(f"{SHIPPED_MODELS / name} holds no export yet: make models trains and packages it")
    return PredictionModel.from_pretrained(name)


def rendered(text: str, height: int = 64) -> np.ndarray:
    font = next(f for f in builtin_families() if f.name == "STIX").face(REGULAR).pil_font(height // 2)
    width = int(font.getlength(text)) + 24
    image = Image.new("L", (width, height), 255)
    ImageDraw.Draw(image).text((12, height * 0.7), text, font=font, fill=0, anchor="ls")
    return np.asarray(image)


@pytest.mark.parametrize("name", list(CATALOG))
def test_each_shipped_model_reads_clean_lines(name):
    model = shipped(name)
    assert model.export_dir == SHIPPED_MODELS / name and model.info["pretrained"]["name"] == name
    result = model.predict([rendered(text) for text in LINES[name]])
    assert compute_metrics(LINES[name], result.texts)["cer"] <= 0.02, result.texts
    assert sum(text == expected for text, expected in zip(result.texts, LINES[name])) >= 2, result.texts


@pytest.mark.parametrize("name", list(CATALOG))
def test_each_shipped_model_has_a_card_with_its_training_and_figures(name):
    model = shipped(name)
    card = model.info["pretrained"]
    assert card["recipe"] == f"models/{name}.json" and card["training"]["wall_minutes"] > 0
    assert card["training"]["machines"] and card["evaluation"], "package it where ../shared/data is present"
    assert set(model.info["alphabet"]) >= set(CATALOG_UNITS[name]())


def _units(alphabet: str):
    import json

    from tests.conftest import REPO

    return lambda: list(json.loads((REPO / "data" / "alphabet" / alphabet).read_text(encoding="utf-8")))


CATALOG_UNITS = {
    "printed-latin": _units("lookup_latin_accents.json"),
    "historical-latin": _units("lookup_historical_latin.json"),
}
