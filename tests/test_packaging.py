"""The built wheel: it carries the models of tf_crnn/pretrained/ as package data, stays small, and a clean
install reads them by name without the training code (tf_crnn.train, .model, .synth blocked)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import REPO
from tf_crnn.layout import ExportLayout

#: The wheel with both shipped models (a few MB each) must stay below this.
MAX_WHEEL_MB = 40
TRIAL = "trial-digits"
CLEAN_INSTALL = """
import sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[:2] in (["tf_crnn", "train"], ["tf_crnn", "model"], ["tf_crnn", "synth"]):
            raise ImportError(f"{name} is training code")
sys.meta_path.insert(0, Blocked())
import numpy as np
from tf_crnn.serve.predictor import PredictionModel
import tf_crnn
assert tf_crnn.__file__.startswith(sys.argv[1]), tf_crnn.__file__
for name in sys.argv[2:]:
    print(name, repr(PredictionModel.from_pretrained(name).predict(np.full((32, 120), 255, np.uint8)).texts[0]))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, random_export):
    """The wheel built from a copy of the package, with a trial model added to its pretrained/ folder."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "tf_crnn", source / "tf_crnn", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(random_export[3], source / "tf_crnn" / "pretrained" / TRIAL)
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), "."]
    done = subprocess.run(command, cwd=source, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return next(out.glob("tf_crnn-*.whl"))


def shipped_names() -> list[str]:
    folder = REPO / "tf_crnn" / "pretrained"
    return sorted(p.name for p in folder.iterdir() if ExportLayout(p).is_export)


def test_the_wheel_holds_every_model_of_the_package_folder_and_stays_small(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for model in [TRIAL, *shipped_names()]:
        for part in ("saved_model.pb", "params.json", "alphabet.json", "export_info.json", "MODEL_CARD.md"):
            assert f"tf_crnn/pretrained/{model}/{part}" in names
        assert any(n.startswith(f"tf_crnn/pretrained/{model}/variables/variables.data") for n in names)
    assert not any(n.startswith(("tests/", "bench/", "models/", "data/")) for n in names)
    assert wheel.stat().st_size / 1e6 < MAX_WHEEL_MB


def test_a_clean_install_reads_the_models_by_name_without_the_training_code(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("TF_CRNN_MODELS", None)
    names = [TRIAL, *shipped_names()]
    done = subprocess.run(
        [sys.executable, "-c", CLEAN_INSTALL, str(site), *names], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert [line.split()[0] for line in done.stdout.splitlines()] == names
