"""Models by name: the recognizers that ship with tf-crnn, and any the user keeps in ``$TF_CRNN_MODELS``.

A named model is an ordinary export folder (SavedModel, ``params.json``, ``alphabet.json``, model card)
whose folder name is the model's name; :func:`tf_crnn.layout.model_folders` says where they are looked
up. :data:`CATALOG` describes the models tf-crnn ships, so that a copy that does not hold one (a source
checkout before ``make models``) says how it is made instead of only that it is missing. The card of
a shipped model (``export_info.json``) has a ``pretrained`` section, written when it was packaged
(``models/build.py``): its recipe, the training time and machine, and its figures on real scans.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tf_crnn.errors import ModelError
from tf_crnn.layout import SHIPPED_MODELS, ExportLayout, model_folders, named_model, read_export_info

#: The models tf-crnn ships: name -> what it reads.
CATALOG = {
    "printed-latin": (
        "modern printed Latin-script text: printable ASCII plus the accented letters and punctuation of "
        "Western European languages"
    ),
    "historical-latin": (
        "historical Latin-script prints of the 15th to 19th centuries, Antiqua and blackletter (Fraktur, "
        "Schwabacher, Textura), with long s, r rotunda, abbreviation marks, combining letters and MUFI characters"
    ),
}
HOW_TO_MAKE = "`make models` in a source checkout trains and packages it (docs/pretrained.md)"


@dataclass
class NamedModel:
    """One named model: where its export is (None: not in this copy), what it reads and its card."""

    name: str
    path: Path | None
    summary: str
    card: dict[str, Any] = field(default_factory=dict)
    problem: str = ""

    @property
    def installed(self) -> bool:
        return self.path is not None

    @property
    def shipped(self) -> bool:
        return self.path is not None and self.path.parent == SHIPPED_MODELS

    @property
    def size_bytes(self) -> int:
        if self.path is None:
            return 0
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    @property
    def pretrained(self) -> dict[str, Any]:
        """The card's ``pretrained`` section (recipe, training, figures on real lines); {} if it has none."""
        return self.card.get("pretrained", {})

    def summary_record(self) -> dict[str, Any]:
        """What ``tf-crnn models`` shows of it (also its ``--json`` entry)."""
        record: dict[str, Any] = {
            "name": self.name,
            "installed": self.installed,
            "shipped": self.shipped,
            "path": str(self.path) if self.path else None,
            "summary": self.summary,
        }
        if self.problem:
            record["problem"] = self.problem
        if self.installed:
            record.update(
                alphabet_units=len(self.card.get("alphabet", [])),
                input_height=self.card.get("input_height"),
                size_mb=round(self.size_bytes / 1e6, 1),
                training_data=self.pretrained.get("training_data") or self.card.get("datasets", {}).get("train"),
                training=self.pretrained.get("training", {}),
                evaluation=self.pretrained.get("evaluation", []),
            )
        return record


def _read(name: str, path: Path | None) -> NamedModel:
    """The model's entry; a card that cannot be read is its ``problem``, so one damaged model of
    ``$TF_CRNN_MODELS`` does not hide the others from the listing."""
    try:
        card, problem = read_export_info(path) if path is not None else {}, ""
    except ModelError as error:
        card, problem = {}, str(error)
    summary = CATALOG.get(name) or card.get("pretrained", {}).get("summary") or "a model of $TF_CRNN_MODELS"
    return NamedModel(name, path, summary, card, problem)


def available_models() -> list[NamedModel]:
    """The shipped models (installed or not), then the other named models found, by name."""
    names = list(CATALOG)
    for folder in model_folders():
        if folder.is_dir():
            found = (p.name for p in folder.iterdir() if ExportLayout(p).is_export and not p.name.startswith("."))
            names += sorted(name for name in found if name not in names)
    return [_read(name, named_model(name)) for name in names]


def get_model(name: str) -> NamedModel:
    """The model called ``name``; a ModelError says what the names are, or how a shipped one is made."""
    path = named_model(name)
    if path is not None:
        model = _read(name, path)
        if model.problem:
            raise ModelError(model.problem)
        return model
    if name in CATALOG:
        raise ModelError(
            f"model {name!r} is not installed in this copy of tf-crnn ({SHIPPED_MODELS} holds no export of it); "
            + HOW_TO_MAKE
        )
    known = [model.name for model in available_models()]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ModelError(
        f"no model named {name!r}{hint}: the named models are {', '.join(known)} (`tf-crnn models` lists them)"
    )


def model_path(name: str) -> Path:
    """The export folder of the model called ``name`` (see :func:`get_model`)."""
    return get_model(name).path
