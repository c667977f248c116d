"""Where things are: the output folder's names come from one object, and the docs show the same tree."""

import json
import re

from tests.conftest import REPO
from tf_crnn import layout
from tf_crnn.layout import ExportLayout, OutputLayout, best_export, list_exports


def tree(text: str) -> list[str]:
    """The first column of the ``<output_model_dir>/`` tree of a Markdown or docstring text."""
    block = re.search(r"```\n<output_model_dir>/\n(.*?)```", text, re.S).group(1)
    return [line.split()[0].rstrip(",") for line in block.splitlines() if line.strip()]


def test_the_documented_tree_is_the_layouts():
    documented = tree((REPO / "docs" / "training.md").read_text(encoding="utf-8"))
    assert documented == tree(layout.__doc__)
    output = OutputLayout("out")
    named = {output.params.name, output.checkpoints.name, output.exports.name, output.predictions.name,
             output.training_state.name, output.results.name, output.curves.name, output.tensorboard.name,
             output.sacred.name, output.preprocessed.name}  # fmt: skip
    assert all(any(entry.startswith(name) for entry in documented) for name in named)


def test_paths_of_a_run():
    output = OutputLayout("runs/a")
    assert output.epoch_predictions(7).as_posix() == "runs/a/predictions/epoch_007.csv"
    assert output.checkpoint(3).as_posix() == "runs/a/checkpoints/ckpt-3"
    assert output.best_checkpoints.as_posix() == "runs/a/checkpoints/best"
    assert output.kept_rows("eval").as_posix() == "runs/a/preprocessed/eval.csv"
    assert output.dropped_rows("train").as_posix() == "runs/a/preprocessed/train_dropped.tsv"
    assert ExportLayout("e").onnx.as_posix() == "e/network.onnx"


def test_the_best_export_has_the_lowest_cer_and_the_newest_wins_ties(tmp_path):
    for name, cer in (("20260101-000000", 0.3), ("20260102-000000", 0.2), ("20260103-000000", 0.2), (".tmp", 0.0)):
        folder = tmp_path / "export" / name
        folder.mkdir(parents=True)
        (folder / "saved_model.pb").write_bytes(b"")
        (folder / "export_info.json").write_text(json.dumps({"metrics": {"cer": cer}}))
    assert [p.name for p in list_exports(tmp_path)] == ["20260101-000000", "20260102-000000", "20260103-000000"]
    assert best_export(tmp_path).name == "20260103-000000"
    assert best_export(tmp_path / "nothing") is None
