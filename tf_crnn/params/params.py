"""Experiment configuration: :class:`Params`, one typed dataclass validated when it is built.

Every field declares its kind and help text (:func:`tf_crnn.params.fields.setting`); one validator
checks them all, with a message that names the field, the value and what is allowed. The checks that
relate fields (the CNN lists' lengths, the CTC time steps against ``max_chars_per_string``) follow.
``docs/configuration.md`` is generated from these declarations.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tf_crnn import geometry
from tf_crnn.data.formats.page_options import PageOptions
from tf_crnn.data.formats.sources import INPUT_FORMATS
from tf_crnn.data.text import TextOptions
from tf_crnn.errors import ConfigError
from tf_crnn.layout import PARAMS_FILENAME
from tf_crnn.params.fields import (
    Boolean,
    Booleans,
    Choice,
    Integer,
    Integers,
    Number,
    Pairs,
    Section,
    Shape,
    Strings,
    Text,
    build,
    setting,
    validate,
)
from tf_crnn.params.sections import Augmentation, Distribution, SyntheticData, WarmStart
from tf_crnn.utils.files import write_json

OPTIMIZERS = ("adam", "rms", "ada")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")
INVALID_ROW_POLICIES = ("error", "drop")
POSITIVE, NON_NEGATIVE, OFF = Integer(1), Integer(0), Integer(0, note="0 = off")


def _one_character(value: str) -> bool:
    return len(value) == 1 and value not in "\r\n"


@dataclass
class Params:
    """Parameters of the model and the experiment (all of the original tf-crnn's, and more).

    Paths are relative to the working directory. ``seed`` is also sacred's seed.
    """

    input_shape: tuple[int, int] = setting(
        (32, 1024), Shape(),
        "[height, max width]: lines are resized to the height keeping their aspect ratio, and only shrunk when "
        "wider than max width", "input",
    )  # fmt: skip
    input_channels: int = setting(
        1, Integer(allowed=(1, 3), phrase="1 (grayscale) or 3 (colour)"), "1 (grayscale) or 3 (colour)", "input"
    )
    cnn_features_list: list[int] = setting(
        [32, 64, 96, 128, 160], Integers(), "filters of each ConvBlock (one entry per block)", "CNN"
    )
    cnn_kernel_size: list[int] = setting([3, 3, 3, 3, 3], Integers(), "kernel size of each ConvBlock", "CNN")
    cnn_stride_size: list[tuple[int, int]] = setting([(1, 1)] * 5, Pairs(), "[height, width] strides", "CNN")
    cnn_pool_size: list[tuple[int, int]] = setting(
        [(2, 2), (2, 2), (2, 1), (2, 1), (2, 1)], Pairs(),
        "[height, width] max-pooling of each block ([1, 1]: none); the width pools and strides multiply into "
        "the width reduction (pixels per CTC time step)", "CNN",
    )  # fmt: skip
    cnn_batch_norm: list[bool] = setting(
        [True] * 5, Booleans("cnn_features_list"), "BatchNormalization in each block", "CNN"
    )
    cnn_padding: str = setting("same", Choice(("same", "valid")), "convolution padding ('valid' is refused)", "CNN")
    rnn_units: list[int] = setting([128, 128], Integers(), "units of each stacked BiLSTM", "recurrent head")
    rnn_dropout: float = setting(
        0.2, Number(0.0, 1.0, exclusive_maximum=True), "dropout before each BiLSTM", "recurrent head"
    )
    num_beam_paths: int = setting(
        1, POSITIVE, "above 1, exports also return that many beam-search transcriptions", "decoding"
    )
    beam_width: int = setting(10, POSITIVE, "beam of the beam search", "decoding")
    csv_delimiter: str = setting(
        ";", Text("one character", _one_character), "tf-crnn CSV: between image path and label", "data"
    )
    string_split_delimiter: str = setting("|", Text("a non-empty string", bool), "tf-crnn CSV: around units", "data")
    csv_files_train: list[str] = setting(
        [], Strings(), "training lines: CSV, TSV, .gt.txt folders, TFRecord shards, PAGE/ALTO/METS pages, globs", "data"
    )
    csv_files_eval: list[str] = setting([], Strings(), "evaluation lines, in the same formats", "data")
    lookup_alphabet_file: str = setting("", Text(), "the alphabet: a JSON lookup {unit: code}", "data")
    blank_symbol: str = setting(
        "<blank>", Text("a non-empty string", bool),
        "how the CTC blank is shown in raw paths; may not be a unit", "data",
    )  # fmt: skip
    max_chars_per_string: int = setting(
        0, Integer(0, note="0 = as many as the time steps allow"),
        "training labels with more units are dropped; 0: the most units a line as wide as input_shape can align "
        "(one CTC time step each), so no line the network could learn is dropped", "data",
    )  # fmt: skip
    on_invalid_rows: str = setting(
        "error", Choice(INVALID_ROW_POLICIES), "error: stop on an unusable row; drop: drop and count it", "data"
    )
    input_format: str = setting(
        "auto", Choice(INPUT_FORMATS, "auto: from each path's type"), "the format of every input path", "data"
    )
    text: TextOptions = setting(None, Section(TextOptions), "how labels become units", "data")
    pages: PageOptions = setting(None, Section(PageOptions), "how lines are cut from PAGE-XML/ALTO pages", "data")
    synthetic_data: SyntheticData = setting(
        None, Section(SyntheticData), "generated training lines, as files or on the fly", "data"
    )
    data_augmentation: bool = setting(True, Boolean(), "augment training lines (a real switch)", "augmentation")
    data_augmentation_max_rotation: float = setting(0.01, Number(0.0), "largest rotation, radians", "augmentation")
    data_augmentation_max_slant: float = setting(0.2, Number(0.0), "largest slant, a shear factor", "augmentation")
    bucket_by_width: bool = setting(
        True, Boolean(), "training batches group lines of similar widths, so little time goes into padding", "speed"
    )
    n_epochs: int = setting(50, POSITIVE, "epochs to train", "training")
    train_batch_size: int = setting(64, POSITIVE, "lines per training batch (the global batch)", "training")
    eval_batch_size: int = setting(128, POSITIVE, "lines per evaluation batch", "training")
    learning_rate: float = setting(1e-3, Number(0.0, exclusive_minimum=True), "learning rate", "training")
    optimizer: str = setting("adam", Choice(OPTIMIZERS), "adam, rms (RMSprop) or ada (Adadelta)", "training")
    evaluate_every_epoch: int = setting(1, POSITIVE, "evaluate every that many epochs (and at the last)", "training")
    save_interval: int = setting(5, POSITIVE, "save a checkpoint every that many epochs (and at the end)", "training")
    keep_max_models: int = setting(3, POSITIVE, "checkpoints kept", "training")
    keep_max_exports: int = setting(
        3, POSITIVE, "SavedModel exports kept: the newest ones, and the best (lowest evaluation CER) always",
        "training",
    )  # fmt: skip
    early_stopping_patience: int = setting(0, OFF, "stop after that many evaluations without a better CER", "training")
    reduce_lr_patience: int = setting(
        0, OFF, "lower the learning rate after that many evaluations without a better CER", "training"
    )
    reduce_lr_factor: float = setting(
        0.5, Number(0.0, 1.0, exclusive_minimum=True, exclusive_maximum=True), "factor of each lowering", "training"
    )
    min_learning_rate: float = setting(1e-5, Number(0.0), "the learning rate is never lowered below this", "training")
    gradient_clipnorm: float = setting(
        0.0, Number(0.0, note="0 = no clipping"), "clip the gradient of each weight tensor to this norm",
        "numerical safety",
    )  # fmt: skip
    max_bad_batches: int = setting(
        20, POSITIVE, "stop after that many batches in a row with a NaN or infinite loss or gradient (each is "
        "skipped)", "numerical safety",
    )  # fmt: skip
    seed: int = setting(0, Integer(), "seed of shuffling, augmentation and initial weights (also sacred's)", "training")
    tensorboard: bool = setting(True, Boolean(), "write TensorBoard event files", "output")
    n_shown_predictions: int = setting(
        5, NON_NEGATIVE, "evaluation lines transcribed by the export at the end, as a check", "output"
    )
    output_model_dir: str = setting("output", Text(), "where checkpoints, exports and reports go", "output")
    restore_model: bool = setting(False, Boolean(), "continue after the last checkpoint of output_model_dir", "output")
    augmentation: Augmentation = setting(
        None, Section(Augmentation), "strengths of the other augmentations (0 = off)", "augmentation"
    )
    n_width_buckets: int = setting(
        16, Integer(1, note="1 = no bucketing"), "width buckets, at the quantiles of the training widths", "speed"
    )
    precision: str = setting(
        "float32", Choice(PRECISIONS),
        "Keras dtype policy; auto: 16 bits on GPUs with tensor cores, float32 on CPUs", "speed",
    )  # fmt: skip
    jit_compile: bool = setting(False, Boolean(), "compile the training step with XLA (for GPUs)", "speed")
    distribution: Distribution = setting(
        None, Section(Distribution), "training on several devices and machines", "distribution"
    )
    warm_start: WarmStart = setting(None, Section(WarmStart), "start from another model's weights", "fine-tuning")
    max_training_minutes: float = setting(
        0.0, Number(0.0, phrase="a number of minutes >= 0 (0 = no limit)"),
        "stop after the epoch that leaves no room for another in this many minutes", "fine-tuning",
    )  # fmt: skip

    def __post_init__(self) -> None:
        validate(self)
        if self.string_split_delimiter == self.csv_delimiter:
            raise ConfigError("string_split_delimiter must be non-empty and differ from csv_delimiter")
        if self.num_beam_paths > self.beam_width:
            raise ConfigError(f"num_beam_paths ({self.num_beam_paths}) cannot exceed beam_width ({self.beam_width})")
        if self.synthetic_data.on_the_fly and self.csv_files_train:
            raise ConfigError(
                "synthetic_data.on_the_fly trains on generated lines only: csv_files_train must be empty, got "
                f"{self.csv_files_train!r}"
            )
        self._check_architecture()

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Params:
        """Build Params from a plain dict (JSON, sacred config); unknown keys are errors."""
        return build(cls, values)

    @classmethod
    def from_json_file(cls, json_file: str | os.PathLike) -> Params:
        """Given a json file, create a Params object."""
        return cls.from_dict(load_config_file(json_file))

    def to_dict(self) -> dict[str, Any]:
        """The parameters as JSON-ready values (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def show_experiment_params(self) -> dict[str, Any]:
        """Kept from the original API: same as :meth:`to_dict`."""
        return self.to_dict()

    def to_json_file(self, json_file: str | os.PathLike) -> None:
        write_json(json_file, self.to_dict(), indent=2)

    # -- derived values -------------------------------------------------------------------------

    @property
    def n_conv_layers(self) -> int:
        return len(self.cnn_features_list)

    @property
    def width_reduction(self) -> int:
        """How many input pixels one CTC time step covers horizontally."""
        return math.prod(s[1] * p[1] for s, p in zip(self.cnn_stride_size, self.cnn_pool_size))

    @property
    def output_height(self) -> int:
        """Height of the CNN's feature map, which is folded into the features of each time step."""
        height = self.input_shape[0]
        for stride, pool in zip(self.cnn_stride_size, self.cnn_pool_size):
            height = math.ceil(height / stride[0]) // pool[0]
        return height

    @property
    def max_time_steps(self) -> int:
        """Time steps of a line as wide as ``input_shape`` allows."""
        return geometry.time_steps(self.input_shape[1], self.width_reduction)

    @property
    def max_label_units(self) -> int:
        """The most units a training label may have: ``max_chars_per_string``, or (0) the time steps of a
        line as wide as ``input_shape`` allows (each line is also checked against its own time steps)."""
        return self.max_chars_per_string or self.max_time_steps

    @property
    def architecture(self) -> dict[str, Any]:
        """The fields a checkpoint depends on: restoring with others changes the model."""
        names = (
            "input_shape",
            "input_channels",
            "cnn_features_list",
            "cnn_kernel_size",
            "cnn_stride_size",
            "cnn_pool_size",
            "cnn_batch_norm",
            "cnn_padding",
            "rnn_units",
        )
        full = self.to_dict()
        return {name: full[name] for name in names}

    def _check_architecture(self) -> None:
        lengths = {
            "cnn_features_list": len(self.cnn_features_list),
            "cnn_kernel_size": len(self.cnn_kernel_size),
            "cnn_stride_size": len(self.cnn_stride_size),
            "cnn_pool_size": len(self.cnn_pool_size),
            "cnn_batch_norm": len(self.cnn_batch_norm),
        }
        if len(set(lengths.values())) != 1:
            shown = ", ".join(f"{name}={n}" for name, n in lengths.items())
            raise ConfigError(f"the CNN layer lists must have the same length (one entry per layer); got {shown}")
        if self.cnn_padding == "valid":
            raise ConfigError(
                "cnn_padding 'valid' changes the width reduction with the input width and is not supported; use 'same'"
            )
        if self.output_height < 1:
            raise ConfigError(
                f"input height {self.input_shape[0]} is too small for the CNN: its strides and pools "
                f"reduce the height by {self.input_shape[0] / max(self.output_height, 1e-9):.0f}x or more; "
                "increase input_shape[0] or use fewer/smaller height pools"
            )
        if self.max_time_steps < self.max_chars_per_string:
            raise ConfigError(
                f"input_shape width {self.input_shape[1]} gives only {self.max_time_steps} CTC time steps "
                f"after the CNN's width reduction of {self.width_reduction}, fewer than max_chars_per_string="
                f"{self.max_chars_per_string}; increase input_shape[1] to at least "
                f"{self.max_chars_per_string * self.width_reduction} or lower max_chars_per_string"
            )


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON object of a config file; a missing file or a syntax error is a ConfigError naming
    the file and, for syntax errors, the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the config file ({error})") from None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: a config file holds one JSON object {{field: value, ...}}")
    return values


def import_params_from_json(
    model_directory: str | os.PathLike | None = None, json_filename: str | os.PathLike | None = None
) -> dict[str, Any]:
    """Read the parameters saved with a model (``params.json`` in its folder) as a dict."""
    if json_filename is None:
        if model_directory is None:
            raise ConfigError("give model_directory or json_filename")
        json_filename = Path(model_directory) / PARAMS_FILENAME
    with open(json_filename, encoding="utf-8") as handle:
        return json.load(handle)
