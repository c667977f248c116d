"""One configuration resolution for every command: config files and ``field=value`` updates -> Params.

``tf-crnn train``, ``python training.py``, ``tf-crnn grid`` and the fold trainer all resolve their
configuration here, the same way:

1. the defaults of :class:`~tf_crnn.params.params.Params`;
2. each JSON config file in the order given, section by section (a file that sets
   ``synthetic_data.n_train`` keeps the section's other entries);
3. the ``field=value`` updates, which win over every file. A dotted field (``synthetic_data.n_train=50``)
   changes one entry of a section. Values are JSON (``restore_model=true``, ``'input_shape=[48, 1024]'``)
   or Python literals (``restore_model=True``); anything else is a string (``optimizer=rms``);
4. with ``warm_start.model``, the architecture fields that no file and no update set are the source
   model's (its ``params.json``), so fine-tuning a shipped model needs only its name.

The word ``with`` (sacred's syntax) may come before them and is ignored. The result is validated once,
by Params; the sacred experiment receives the resolved values as its configuration.
"""

from __future__ import annotations

import ast
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tf_crnn.errors import ConfigError
from tf_crnn.layout import PARAMS_FILENAME, named_model
from tf_crnn.params.params import Params, load_config_file

LOGGER = logging.getLogger(__name__)
#: How many folders above a checkpoint its run's params.json may lie (checkpoints/ckpt-N, checkpoints/best/ckpt-N).
CHECKPOINT_DEPTH = 3


@dataclass
class ConfigArguments:
    """Config files and updates, as given on a command line."""

    files: list[Path] = field(default_factory=list)
    updates: dict[str, Any] = field(default_factory=dict)

    def resolve(self) -> Params:
        return resolve(self.files, self.updates)


def parse_value(text: str) -> Any:
    """A command-line value: JSON, else a Python literal, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_arguments(arguments: Sequence[str]) -> ConfigArguments:
    """Split ``[with] FILE.json ... field=value ...`` into files (which must exist) and nested updates."""
    parsed = ConfigArguments()
    for argument in arguments:
        if argument == "with":
            continue
        name, equals, value = argument.partition("=")
        if equals and name and not Path(argument).is_file():
            _set_dotted(parsed.updates, name.strip(), parse_value(value))
        elif Path(argument).is_file():
            parsed.files.append(Path(argument))
        else:
            raise ConfigError(
                f"config file not found: {argument} (after 'with' come JSON config files and field=value updates)"
            )
    return parsed


def _set_dotted(updates: dict[str, Any], name: str, value: Any) -> None:
    *sections, last = name.split(".")
    target = updates
    for section in sections:
        target = target.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{name}: {section} is given a value and entries at once")
    target[last] = value


def merge(values: dict[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    """``updates`` written into ``values``, section by section (a section's other entries stay)."""
    for key, value in updates.items():
        if isinstance(value, Mapping) and isinstance(values.get(key), dict):
            merge(values[key], value)
        else:
            values[key] = value
    return values


def resolve(files: Sequence[str | os.PathLike] = (), updates: Mapping[str, Any] | None = None) -> Params:
    """The Params of the defaults, then ``files`` in order, then ``updates``, then the warm start's architecture."""
    values, given = Params().to_dict(), set(updates or {})
    for config_file in files:
        loaded = load_config_file(config_file)
        given |= set(loaded)
        merge(values, loaded)
    merge(values, updates or {})
    warm_start = values.get("warm_start")
    if isinstance(warm_start, dict) and isinstance(warm_start.get("model"), str) and warm_start["model"]:
        inherit_architecture(values, given, warm_start["model"])
    return Params.from_dict(values)


def source_params_file(model: str) -> Path | None:
    """The ``params.json`` of a warm start's source: a named model, an export or output folder, or the run
    of a checkpoint."""
    named = named_model(model)
    if named is not None:
        return named / PARAMS_FILENAME
    path = Path(model)
    folders = [path, *path.parents[:CHECKPOINT_DEPTH]] if Path(f"{model}.index").is_file() else [path]
    return next((folder / PARAMS_FILENAME for folder in folders if (folder / PARAMS_FILENAME).is_file()), None)


def inherit_architecture(values: dict[str, Any], given: set[str], model: str) -> None:
    """Set the architecture fields absent from ``given`` to those of the source ``model`` (left alone when
    its params.json cannot be read: the warm start itself then says why)."""
    params_file = source_params_file(model)
    if params_file is None:
        return
    try:
        source = json.loads(params_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    inherited = [name for name in Params().architecture if name not in given and name in source]
    for name in inherited:
        values[name] = source[name]
    if inherited:
        LOGGER.info("warm_start.model %s: %s as the source model has them", model, ", ".join(inherited))


def resolve_arguments(arguments: Sequence[str]) -> Params:
    """:func:`resolve` of a command line's ``[with] FILE.json ... field=value ...``."""
    return parse_arguments(arguments).resolve()
