"""Warm start (fine-tuning): a new model starts from another model's weights, even with another alphabet.

The source is an export folder, an output folder (its best export, else its latest checkpoint), a
checkpoint, or a named model (one that ships with tf-crnn, ``historical-latin``, or one of
``$TF_CRNN_MODELS``); its ``params.json`` and ``alphabet.json`` lie beside it. Every layer but the output
Dense must have the same shape in both models, so the architectures are compared first and a
difference is refused naming the fields. The output layer is mapped unit by unit: the CTC blank
(class 0) and the units both alphabets share keep their weights exactly, units new to the target
alphabet keep the fresh initialisation of the new model, units the target alphabet lacks are
dropped. :class:`FreezeConvLayers` keeps the convolutional layers fixed for the first steps of
fine-tuning.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.errors import ConfigError, TfCrnnError
from tf_crnn.layout import (
    ALPHABET_FILENAME,
    PARAMS_FILENAME,
    ExportLayout,
    OutputLayout,
    best_export,
    named_model,
    read_export_info,
)
from tf_crnn.model.crnn import LOGITS, get_model_inference
from tf_crnn.model.layers import ConvBlock
from tf_crnn.model.training import get_model_train
from tf_crnn.params.params import Params
from tf_crnn.params.resolve import CHECKPOINT_DEPTH
from tf_crnn.serve.predictor import load_saved_model
from tf_crnn.serve.pretrained import CATALOG, available_models, get_model

LOGGER = logging.getLogger(__name__)

MAX_LISTED_UNITS = 40


@dataclass
class SourceModel:
    """The model a warm start copies from: where it was read, its configuration, alphabet and weights."""

    origin: str
    params: Params
    alphabet: Alphabet
    model: keras.Model


@dataclass
class Transfer:
    """What a warm start did with the output units (the CTC blank is always kept)."""

    source: str
    kept: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        def listed(units: list[str]) -> str:
            shown = " ".join(repr(u) for u in units[:MAX_LISTED_UNITS])
            return shown + (f" ... ({len(units) - MAX_LISTED_UNITS} more)" if len(units) > MAX_LISTED_UNITS else "")

        text = (
            f"warm start from {self.source}: every layer but the output copied; output units: {len(self.kept)} kept, "
            f"{len(self.added)} new (fresh weights), {len(self.dropped)} dropped"
        )
        if self.added:
            text += f"; new: {listed(self.added)}"
        if self.dropped:
            text += f"; dropped: {listed(self.dropped)}"
        return text


def architecture_differences(source: Params, target: Params) -> list[str]:
    """The fields (besides the alphabet) whose values change the shape of a weight: 'name: source x, now y'.

    The maximal width (``input_shape[1]``) shapes no weight, so it may differ.
    """
    before, now = source.architecture, target.architecture
    before["input_shape"], now["input_shape"] = before["input_shape"][0], now["input_shape"][0]
    names = {"input_shape": "input_shape[0] (height)"}
    changed = [name for name in now if before[name] != now[name]]
    return [f"{names.get(name, name)}: source {before[name]!r}, now {now[name]!r}" for name in changed]


def _read_saved(folder: Path, origin: str) -> tuple[Params, Alphabet]:
    for name in (PARAMS_FILENAME, ALPHABET_FILENAME):
        if not (folder / name).is_file():
            raise ConfigError(f"warm_start.model {origin}: no {name} in {folder}, so the model cannot be rebuilt")
    try:
        params = Params.from_dict(json.loads((folder / PARAMS_FILENAME).read_text(encoding="utf-8")))
        alphabet = Alphabet(folder / ALPHABET_FILENAME, params.blank_symbol)
    except (TfCrnnError, ValueError, OSError) as error:
        what = f"{PARAMS_FILENAME}/{ALPHABET_FILENAME}"
        raise ConfigError(f"warm_start.model {origin}: cannot read its {what} ({error})") from None
    return params, alphabet


def _from_export(folder: Path) -> SourceModel:
    if "ensemble" in read_export_info(folder):
        raise ConfigError(
            f"warm_start.model {folder} is an ensemble of several models; start from one of its members "
            "(listed in its MODEL_CARD.md)"
        )
    params, alphabet = _read_saved(folder, str(folder))
    model = get_model_inference(params, alphabet.n_classes)
    saved = load_saved_model(folder).variables  # the inference model's variables, in their order
    if len(saved) != len(model.variables) or any(
        tuple(s.shape) != tuple(v.shape) for s, v in zip(saved, model.variables)
    ):
        raise ConfigError(
            f"warm_start.model {folder}: the export's weights do not match its {PARAMS_FILENAME} "
            f"({len(saved)} saved tensors, {len(model.variables)} expected); export the model again"
        )
    for variable, value in zip(model.variables, saved):
        variable.assign(value)
    return SourceModel(str(folder), params, alphabet, model)


def _from_checkpoint(checkpoint: str) -> SourceModel:
    folder = Path(checkpoint).parent
    for _ in range(CHECKPOINT_DEPTH):
        if (folder / PARAMS_FILENAME).is_file():
            break
        folder = folder.parent
    params, alphabet = _read_saved(folder, checkpoint)
    model = get_model_inference(params, alphabet.n_classes)
    reader = tf.train.Checkpoint(model=get_model_train(params, model))
    try:
        reader.read(checkpoint).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as error:
        raise ConfigError(
            f"warm_start.model {checkpoint} does not match {folder / PARAMS_FILENAME} ({error})"
        ) from None
    return SourceModel(checkpoint, params, alphabet, model)


def load_source(path: str | os.PathLike) -> SourceModel:
    """Read the model to start from: an export folder, an output folder, a checkpoint path or a model name
    (a path that exists wins over a name)."""
    source = Path(path)
    is_path = source.exists() or Path(f"{source}.index").is_file()
    if not is_path and (named_model(str(path)) is not None or str(path) in CATALOG):
        try:
            source = get_model(str(path)).path
        except TfCrnnError as error:
            raise ConfigError(f"warm_start.model {path}: {error}") from None
    if ExportLayout(source).is_export:
        return _from_export(source)
    if Path(f"{source}.index").is_file():
        return _from_checkpoint(str(source))
    if source.is_dir():
        export = best_export(source)
        if export is not None:
            return _from_export(export)
        checkpoint = tf.train.latest_checkpoint(str(OutputLayout(source).checkpoints))
        if checkpoint is not None:
            return _from_checkpoint(checkpoint)
    names = ", ".join(model.name for model in available_models())
    raise ConfigError(
        f"warm_start.model {path}: not an export folder (saved_model.pb), an output folder with exports or "
        f"checkpoints, a model name ({names}), nor a checkpoint (a path whose .index file exists)"
    )


def transfer_weights(source: SourceModel, target: keras.Model, alphabet: Alphabet) -> Transfer:
    """Copy ``source``'s weights into the inference model ``target`` (built for ``alphabet``), unit by unit
    in the output layer; the target's new units keep their initialisation."""
    output = target.get_layer(LOGITS)
    output_variables = {id(v) for v in output.variables}
    source_output = source.model.get_layer(LOGITS)
    for mine, theirs in zip(target.weights, source.model.weights, strict=True):  # not the random seed states
        if id(mine) in output_variables:
            continue
        if tuple(mine.shape) != tuple(theirs.shape):
            raise ConfigError(
                f"warm_start.model {source.origin}: weight {theirs.path} {tuple(theirs.shape)} cannot initialise "
                f"{mine.path} {tuple(mine.shape)}"
            )
        mine.assign(theirs)
    lookup = source.alphabet.lookup
    units = alphabet.alphabet_units
    pairs = [(0, 0)] + [(code, lookup[unit]) for code, unit in enumerate(units, start=1) if unit in lookup]
    mine_columns, their_columns = (np.array(c) for c in zip(*pairs))
    for mine, theirs in ((output.kernel, source_output.kernel), (output.bias, source_output.bias)):
        values = np.array(mine.numpy())
        values[..., mine_columns] = theirs.numpy()[..., their_columns]
        mine.assign(values)
    shared = set(lookup).intersection(units)
    return Transfer(
        source=source.origin,
        kept=[u for u in units if u in shared],
        added=[u for u in units if u not in shared],
        dropped=[u for u in source.alphabet.alphabet_units if u not in shared],
    )


def warm_start(params: Params, alphabet: Alphabet, target: keras.Model) -> Transfer:
    """Initialise ``target`` from ``params.warm_start.model``; refuse another architecture, naming what differs."""
    source = load_source(params.warm_start.model)
    differences = architecture_differences(source.params, params)
    if differences:
        raise ConfigError(
            f"warm_start.model {source.origin} has another architecture ({'; '.join(differences)}); only the "
            "alphabet may differ: use the source's values (its params.json) or train from scratch"
        )
    transfer = transfer_weights(source, target, alphabet)
    LOGGER.info("%s", transfer.summary())
    return transfer


def conv_blocks(model: keras.Model) -> list[ConvBlock]:
    """The ConvBlocks of a model, looked up in nested models too (the training model wraps the inference one)."""
    blocks = []
    for layer in model.layers:
        if isinstance(layer, ConvBlock):
            blocks.append(layer)
        elif isinstance(layer, keras.Model):
            blocks += conv_blocks(layer)
    return blocks


class FreezeConvLayers(keras.callbacks.Callback):
    """Keeps every ConvBlock (weights and BatchNormalization statistics) fixed for the first ``steps`` steps.

    Frozen BatchNormalization normalises with its moving statistics, as at inference. The training
    step is traced again on each change, so that it sees the new set of trainable weights.
    """

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.steps = steps
        self.done = 0
        self.frozen = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.steps > 0:
            if not self.model.optimizer.built:  # built on every weight, so that it can update them once unfrozen
                self.model.optimizer.build(self.model.trainable_variables)
            self._set_frozen(True)
            LOGGER.info("convolutional layers frozen for the first %d training steps", self.steps)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.done += 1
        if self.frozen and self.done >= self.steps:
            self._set_frozen(False)
            LOGGER.info("convolutional layers unfrozen at step %d", self.done)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.frozen:
            self._set_frozen(False)

    def _set_frozen(self, frozen: bool) -> None:
        for block in conv_blocks(self.model):
            block.trainable = not frozen
        self.frozen = frozen
        self.model.retrace_train_step()
