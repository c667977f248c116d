"""A training run's output folder belongs to one experiment: checks before anything is written to it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.errors import ConfigError, TfCrnnError
from tf_crnn.layout import OutputLayout
from tf_crnn.params.params import Params


def check_output_dir(params: Params, alphabet: Alphabet) -> None:
    """Refuse to mix experiments in one output folder.

    A folder holding checkpoints or exports belongs to a run: a new run (``restore_model=false``)
    may not write into it, and resuming needs the saved params.json and alphabet.json to say the
    architecture and alphabet are the same.
    """
    layout = OutputLayout(params.output_model_dir)
    output = layout.root
    if output.exists() and not output.is_dir():
        raise ConfigError(f"output_model_dir {output} is a file, not a folder")
    has_checkpoints, has_exports = layout.has_checkpoints, layout.has_exports
    if (has_checkpoints or has_exports) and not params.restore_model:
        what = "checkpoints" if has_checkpoints else "exported models"
        raise ConfigError(
            f"{output} already holds {what} of a training run; set restore_model=true to continue it, "
            "or choose another output_model_dir"
        )
    if not (has_checkpoints or has_exports):
        return
    _check_same_architecture(layout, params)
    _check_same_alphabet(layout, params, alphabet)


def _saved(path: Path, load: Any) -> Any:
    """Read a file a run saved in its output folder; its absence or damage is a user-facing error."""
    output, name = path.parent, path.name
    if not path.is_file():
        raise ConfigError(
            f"cannot restore {output}: it holds a training run but no {name}, so it cannot be checked that the "
            "run belongs to this experiment; use another output_model_dir"
        )
    try:
        return load(path)
    except (TfCrnnError, ValueError, OSError) as error:
        raise ConfigError(f"cannot restore {output}: its {name} is unreadable ({error})") from None


def _check_same_architecture(layout: OutputLayout, params: Params) -> None:
    output = layout.root
    saved = _saved(layout.params, lambda path: Params.from_dict(json.loads(path.read_text("utf-8"))))
    differences = [
        f"{name}: saved {saved.architecture[name]!r}, now {value!r}"
        for name, value in params.architecture.items()
        if saved.architecture[name] != value
    ]
    if differences:
        raise ConfigError(
            f"cannot restore {output}: the architecture changed ({'; '.join(differences)}); "
            "use the saved values or another output_model_dir"
        )


def _check_same_alphabet(layout: OutputLayout, params: Params, alphabet: Alphabet) -> None:
    output = layout.root
    saved_alphabet = _saved(layout.alphabet, lambda path: Alphabet(path, params.blank_symbol))
    if saved_alphabet != alphabet:
        added = sorted(set(alphabet.alphabet_units) - set(saved_alphabet.alphabet_units))
        removed = sorted(set(saved_alphabet.alphabet_units) - set(alphabet.alphabet_units))
        raise ConfigError(
            f"cannot restore {output}: the alphabet changed (added {added}, removed {removed}, or codes reordered)"
        )
