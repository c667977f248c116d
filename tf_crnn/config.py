"""Experiment configuration (:class:`Params`) and alphabet lookups (:class:`Alphabet`).

``Params`` is one typed dataclass: every field is validated when it is built, with a message that
names the field, the value and what is allowed. ``Alphabet`` maps label units to integer codes;
code 0 is reserved for the CTC blank, so the blank can never collide with a real unit.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tf_crnn.errors import AlphabetError, ConfigError, DataError
from tf_crnn.io.csv_rows import RowProblem, raise_for_problems, read_csv_rows
from tf_crnn.io.json_files import write_json
from tf_crnn.io.rows import INPUT_FORMATS
from tf_crnn.io.text import TextOptions

OPTIMIZERS = ("adam", "rms", "ada")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")
INVALID_ROW_POLICIES = ("error", "drop")
PARAMS_FILENAME = "params.json"
ALPHABET_FILENAME = "alphabet.json"


@dataclass
class SyntheticData:
    """Synthetic training lines (``tf_crnn.synth``): generated CSVs, or a stream rendered on the fly.

    ``n_train = 0`` (the default) turns generation off: missing CSVs are then an error. With
    ``on_the_fly``, training reads ``n_train`` fresh lines per epoch from the generator (no
    training CSV); the evaluation lines are still written to ``csv_files_eval`` once.
    """

    n_train: int = 0
    n_eval: int = 0
    seed: int = 1
    max_words: int = 6
    # -- issue 3: realistic generator ------------------------------------------------------------
    max_chars: int = 40  # units per line, capped at max_chars_per_string
    on_the_fly: bool = False
    font_dir: str = ""  # a folder of extra .ttf/.otf fonts (half of the lines use them)
    builtin_fonts: bool = True  # DejaVu, STIX, Computer Modern, Pillow's and OpenCV's fonts
    font_sizes: list[int] = field(default_factory=lambda: [20, 48])  # [smallest, largest] in pixels
    binarize: float = 0.5  # share of lines binarised like many archive scans
    rare_share: float = 0.3  # share of lines with units drawn uniformly from the alphabet

    def __post_init__(self) -> None:
        for name in ("n_train", "n_eval", "max_words", "max_chars"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"synthetic_data.{name} must be a non-negative integer, got {value!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"synthetic_data.seed must be an integer, got {self.seed!r}")
        for name in ("on_the_fly", "builtin_fonts"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"synthetic_data.{name} must be true or false, got {getattr(self, name)!r}")
        if not isinstance(self.font_dir, str):
            raise ConfigError(f"synthetic_data.font_dir must be a folder path (string), got {self.font_dir!r}")
        for name in ("binarize", "rare_share"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"synthetic_data.{name} must be a share between 0 and 1, got {value!r}")
            setattr(self, name, float(value))
        sizes = self.font_sizes
        if (
            not isinstance(sizes, (list, tuple))
            or len(sizes) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in sizes)
            or not 8 <= sizes[0] <= sizes[1] <= 200
        ):
            raise ConfigError(
                f"synthetic_data.font_sizes must be [smallest, largest] pixel sizes with 8 <= smallest <= largest "
                f"<= 200, got {sizes!r}"
            )
        self.font_sizes = list(sizes)
        if self.enabled and (self.n_eval < 1 or self.max_words < 1 or self.max_chars < 1):
            raise ConfigError("synthetic_data: n_eval, max_words and max_chars must be positive when n_train > 0")
        if self.on_the_fly and not self.enabled:
            raise ConfigError("synthetic_data.on_the_fly needs synthetic_data.n_train > 0 (lines per epoch)")
        if not self.builtin_fonts and not self.font_dir:
            raise ConfigError("synthetic_data.builtin_fonts is false but no synthetic_data.font_dir is given: no fonts")

    @property
    def enabled(self) -> bool:
        return self.n_train > 0


@dataclass
class Augmentation:
    """Strengths of the training-time augmentations besides rotation and slant; 0 turns one off.

    Pixel strengths are in model-input pixels (after resizing to ``input_shape[0]``), so they mean
    the same for scans of any resolution. Every value is the largest one drawn: each line draws
    its own strength uniformly up to it (symmetrically for signed effects).
    """

    brightness: float = 0.1  # intensity shift in [-b, b]
    contrast: float = 0.3  # ink-to-background difference scaled by a factor in [1 - c, 1 + c]
    gamma: float = 0.3  # ink intensities raised to a power in [exp(-g), exp(g)]
    noise: float = 0.03  # Gaussian noise of standard deviation in [0, n]
    blur: float = 0.5  # Gaussian blur of sigma in [0, b] px
    erosion_dilation: float = 0.5  # strokes thinned or thickened by up to this many px
    elastic: float = 0.0  # smooth random displacements of up to this many px
    perspective: float = 0.0  # corners moved by up to this fraction of the line height
    pad_left_right: int = 8  # background columns added on each side, 0..p
    shift_vertical: float = 2.0  # vertical shift in [-s, s] px

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ConfigError(f"augmentation.{item.name} must be a number >= 0 (0 = off), got {value!r}")
        if not isinstance(self.pad_left_right, int):
            raise ConfigError(
                f"augmentation.pad_left_right must be a whole number of pixels, got {self.pad_left_right!r}"
            )
        for item in dataclasses.fields(self):
            if item.type == "float":
                setattr(self, item.name, float(getattr(self, item.name)))
        for name, limit, why in (
            ("contrast", 1.0, "a factor of 1 - contrast must stay positive"),
            ("perspective", 0.5, "corners would cross"),
            ("erosion_dilation", 3.0, "strokes would vanish or merge"),
        ):
            if getattr(self, name) >= limit:
                raise ConfigError(f"augmentation.{name} must be below {limit} ({why}), got {getattr(self, name)!r}")


# -- distribution (issue 8) ------------------------------------------------------------------------

STRATEGIES = ("none", "mirrored", "multi_worker")
LR_SCALING_RULES = ("none", "linear", "sqrt")
COMMUNICATIONS = ("auto", "ring", "nccl")


@dataclass
class Distribution:
    """How training is spread over devices and machines (``tf.distribute``).

    ``strategy``: ``none`` (one device), ``mirrored`` (every local GPU, or the ``devices`` listed,
    e.g. ``["/gpu:0", "/gpu:1"]``), ``multi_worker`` (MultiWorkerMirroredStrategy over the machines
    that the ``TF_CONFIG`` environment variable describes). ``train_batch_size`` is always the
    global batch, split evenly across the replicas. ``lr_scaling`` scales ``learning_rate``, tuned
    for a global batch of ``base_batch_size`` lines, to ``train_batch_size``: ``linear`` multiplies
    it by train_batch_size / base_batch_size, ``sqrt`` by the square root of that. With
    ``sync_batch_norm`` the BatchNormalization statistics of a training batch are computed over the
    global batch (one device's statistics), not per replica. ``communication`` picks the
    multi-worker all-reduce (``ring``: gRPC, ``nccl``: NVIDIA GPUs, ``auto``: TensorFlow's choice).
    """

    strategy: str = "none"
    devices: list[str] = field(default_factory=list)
    lr_scaling: str = "none"
    base_batch_size: int = 0
    sync_batch_norm: bool = True
    communication: str = "auto"

    def __post_init__(self) -> None:
        for name, allowed in (
            ("strategy", STRATEGIES),
            ("lr_scaling", LR_SCALING_RULES),
            ("communication", COMMUNICATIONS),
        ):
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"distribution.{name} must be one of {', '.join(allowed)}, got {value!r}")
        if isinstance(self.devices, str):
            self.devices = [self.devices]
        if not isinstance(self.devices, (list, tuple)) or not all(isinstance(d, str) and d for d in self.devices):
            raise ConfigError(
                f"distribution.devices must be a list of device names (e.g. '/gpu:0'), got {self.devices!r}"
            )
        self.devices = list(self.devices)
        if self.devices and self.strategy != "mirrored":
            raise ConfigError(
                f"distribution.devices lists devices for the 'mirrored' strategy only (strategy is {self.strategy!r}); "
                "for multi_worker, choose each machine's GPUs with CUDA_VISIBLE_DEVICES"
            )
        if len(set(self.devices)) != len(self.devices):
            raise ConfigError(f"distribution.devices lists a device twice: {self.devices}")
        base = self.base_batch_size
        if isinstance(base, bool) or not isinstance(base, int) or base < 0:
            raise ConfigError(f"distribution.base_batch_size must be a non-negative integer, got {base!r}")
        if self.lr_scaling != "none" and base == 0:
            raise ConfigError(
                f"distribution.lr_scaling {self.lr_scaling!r} needs distribution.base_batch_size: the global batch "
                "size that learning_rate was tuned for (e.g. 32)"
            )
        if not isinstance(self.sync_batch_norm, bool):
            raise ConfigError(f"distribution.sync_batch_norm must be true or false, got {self.sync_batch_norm!r}")
        if self.communication != "auto" and self.strategy != "multi_worker":
            raise ConfigError(
                f"distribution.communication applies to the multi_worker strategy only (strategy is {self.strategy!r})"
            )


# -- end of distribution ---------------------------------------------------------------------------


# -- fine-tuning (issue 4) -------------------------------------------------------------------------


@dataclass
class WarmStart:
    """Start training from another model's weights (fine-tuning), possibly with another alphabet.

    ``model``: an export folder, an output folder (its best export, else its latest checkpoint) or
    a checkpoint (``.../checkpoints/ckpt-7``); "" (the default) trains from scratch. Everything but
    the output layer must have the same architecture; output units the two alphabets share keep
    their weights, new units start fresh, dropped units are removed. ``freeze_cnn_steps`` keeps the
    convolutional layers (and their BatchNormalization statistics) fixed for the first that many
    training steps, so the fresh output units do not pull the features apart; 0 = never frozen.
    """

    model: str = ""
    freeze_cnn_steps: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.model, str):
            raise ConfigError(
                f"warm_start.model must be the path of an export folder, an output folder or a checkpoint, got "
                f"{self.model!r}"
            )
        steps = self.freeze_cnn_steps
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ConfigError(f"warm_start.freeze_cnn_steps must be a non-negative integer (0 = off), got {steps!r}")
        if steps and not self.model:
            raise ConfigError(
                "warm_start.freeze_cnn_steps freezes the layers of a warm-started model: set warm_start.model too"
            )

    @property
    def enabled(self) -> bool:
        return bool(self.model)


# -- end of fine-tuning ----------------------------------------------------------------------------


def _pairs(default: Sequence[tuple[int, int]]) -> Any:
    return field(default_factory=lambda: [tuple(p) for p in default])


@dataclass
class Params:
    """Parameters of the model and the experiment (all of the original tf-crnn's, and more).

    Paths are relative to the working directory. ``seed`` is also sacred's seed.
    """

    # Input
    input_shape: tuple[int, int] = (32, 1024)
    input_channels: int = 1
    # CNN, one entry per ConvBlock
    cnn_features_list: list[int] = field(default_factory=lambda: [32, 64, 96, 128, 160])
    cnn_kernel_size: list[int] = field(default_factory=lambda: [3, 3, 3, 3, 3])
    cnn_stride_size: list[tuple[int, int]] = _pairs([(1, 1)] * 5)
    cnn_pool_size: list[tuple[int, int]] = _pairs([(2, 2), (2, 2), (2, 1), (2, 1), (2, 1)])
    cnn_batch_norm: list[bool] = field(default_factory=lambda: [True] * 5)
    cnn_padding: str = "same"
    # Recurrent head
    rnn_units: list[int] = field(default_factory=lambda: [128, 128])
    rnn_dropout: float = 0.2
    # Decoding
    num_beam_paths: int = 1
    beam_width: int = 10
    # Data
    csv_delimiter: str = ";"
    string_split_delimiter: str = "|"
    csv_files_train: list[str] = field(default_factory=list)
    csv_files_eval: list[str] = field(default_factory=list)
    lookup_alphabet_file: str = ""
    blank_symbol: str = "<blank>"
    max_chars_per_string: int = 75
    on_invalid_rows: str = "error"
    # Input formats and label text (issue 4): csv_files_* also take TSV lists, .gt.txt folders, TFRecords
    input_format: str = "auto"
    text: TextOptions = field(default_factory=TextOptions)
    synthetic_data: SyntheticData = field(default_factory=SyntheticData)
    # Augmentation
    data_augmentation: bool = True
    data_augmentation_max_rotation: float = 0.01
    data_augmentation_max_slant: float = 0.2
    # Training
    bucket_by_width: bool = True
    n_epochs: int = 50
    train_batch_size: int = 64
    eval_batch_size: int = 128
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    evaluate_every_epoch: int = 1
    save_interval: int = 5
    keep_max_models: int = 3
    early_stopping_patience: int = 0
    reduce_lr_patience: int = 0
    reduce_lr_factor: float = 0.5
    min_learning_rate: float = 1e-5
    gradient_clipnorm: float = 0.0
    max_bad_batches: int = 20
    seed: int = 0
    tensorboard: bool = True
    n_shown_predictions: int = 5
    # Output
    output_model_dir: str = "output"
    restore_model: bool = False
    # --- Speed (issue 7): augmentation strengths, width bucketing, precision, XLA ---
    augmentation: Augmentation = field(default_factory=Augmentation)
    n_width_buckets: int = 16
    precision: str = "float32"
    jit_compile: bool = False
    # Distribution over devices and machines (issue 8)
    distribution: Distribution = field(default_factory=Distribution)
    # Fine-tuning (issue 4): start from another model; stop before a time budget runs out (0 = none)
    warm_start: WarmStart = field(default_factory=WarmStart)
    max_training_minutes: float = 0.0

    def __post_init__(self) -> None:
        self._build_sections()
        self._coerce_and_check_types()
        self._check_values()
        self._check_architecture()

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Params:
        """Build Params from a plain dict (JSON, sacred config); unknown keys are errors."""
        return _build_dataclass(cls, values)

    @classmethod
    def from_json_file(cls, json_file: str | os.PathLike) -> Params:
        """Given a json file, create a Params object."""
        try:
            with open(json_file, encoding="utf-8") as handle:
                values = json.load(handle)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{json_file}:{error.lineno}: not valid JSON ({error.msg})") from None
        return cls.from_dict(values)

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
        return self.input_shape[1] // self.width_reduction

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

    # -- validation -----------------------------------------------------------------------------

    def _build_sections(self) -> None:
        """Turn the JSON objects of nested sections (``synthetic_data``, ...) into their dataclasses.

        A section is a field whose default is a dataclass; its keys are checked like Params' own.
        """
        for section in dataclasses.fields(self):
            if section.default_factory is dataclasses.MISSING:
                continue
            default = section.default_factory()
            if not dataclasses.is_dataclass(default):
                continue
            value = getattr(self, section.name)
            if isinstance(value, Mapping):
                value = _build_dataclass(type(default), value, f"{section.name}.")
                setattr(self, section.name, value)
            if not isinstance(value, type(default)):
                raise ConfigError(f"{section.name} must be an object, got {value!r}")

    def _coerce_and_check_types(self) -> None:
        def positive_int(name: str, value: Any, allow_zero: bool = False) -> int:
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
                kind = "a non-negative" if allow_zero else "a positive"
                raise ConfigError(f"{name} must be {kind} integer, got {value!r}")
            return value

        def number(name: str, value: Any) -> float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{name} must be a number, got {value!r}")
            return float(value)

        def int_list(name: str, value: Any) -> list[int]:
            if isinstance(value, int) and not isinstance(value, bool):
                value = [value]
            if not isinstance(value, (list, tuple)) or not value:
                raise ConfigError(f"{name} must be a non-empty list of positive integers, got {value!r}")
            return [positive_int(f"{name}[{i}]", v) for i, v in enumerate(value)]

        def pair_list(name: str, value: Any) -> list[tuple[int, int]]:
            if not isinstance(value, (list, tuple)) or not value:
                raise ConfigError(f"{name} must be a non-empty list of [height, width] pairs, got {value!r}")
            pairs = []
            for i, item in enumerate(value):
                if isinstance(item, int) and not isinstance(item, bool):
                    item = (item, item)
                if not isinstance(item, (list, tuple)) or len(item) != 2:
                    raise ConfigError(f"{name}[{i}] must be a [height, width] pair, got {item!r}")
                pairs.append(tuple(positive_int(f"{name}[{i}]", v) for v in item))
            return pairs

        def string_list(name: str, value: Any) -> list[str]:
            if isinstance(value, str):
                value = [value] if value else []
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{name} must be a path or a list of paths, got {value!r}")
            return list(value)

        def boolean(name: str, value: Any) -> bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{name} must be true or false, got {value!r}")
            return value

        def text(name: str, value: Any) -> str:
            if not isinstance(value, str):
                raise ConfigError(f"{name} must be a string, got {value!r}")
            return value

        shape = self.input_shape
        if not isinstance(shape, (list, tuple)) or len(shape) != 2:
            raise ConfigError(f"input_shape must be [height, max_width], got {shape!r}")
        self.input_shape = (positive_int("input_shape[0]", shape[0]), positive_int("input_shape[1]", shape[1]))
        self.cnn_features_list = int_list("cnn_features_list", self.cnn_features_list)
        self.cnn_kernel_size = int_list("cnn_kernel_size", self.cnn_kernel_size)
        self.cnn_stride_size = pair_list("cnn_stride_size", self.cnn_stride_size)
        self.cnn_pool_size = pair_list("cnn_pool_size", self.cnn_pool_size)
        if isinstance(self.cnn_batch_norm, bool):
            self.cnn_batch_norm = [self.cnn_batch_norm] * len(self.cnn_features_list)
        if not isinstance(self.cnn_batch_norm, (list, tuple)):
            raise ConfigError(f"cnn_batch_norm must be a list of true/false, got {self.cnn_batch_norm!r}")
        self.cnn_batch_norm = [boolean(f"cnn_batch_norm[{i}]", v) for i, v in enumerate(self.cnn_batch_norm)]
        self.rnn_units = int_list("rnn_units", self.rnn_units)
        self.csv_files_train = string_list("csv_files_train", self.csv_files_train)
        self.csv_files_eval = string_list("csv_files_eval", self.csv_files_eval)
        for name in ("input_channels", "num_beam_paths", "beam_width", "max_chars_per_string", "n_epochs"):
            setattr(self, name, positive_int(name, getattr(self, name)))
        for name in ("train_batch_size", "eval_batch_size", "evaluate_every_epoch", "save_interval"):
            setattr(self, name, positive_int(name, getattr(self, name)))
        for name in ("keep_max_models", "max_bad_batches"):
            setattr(self, name, positive_int(name, getattr(self, name)))
        for name in ("early_stopping_patience", "reduce_lr_patience", "n_shown_predictions"):
            setattr(self, name, positive_int(name, getattr(self, name), allow_zero=True))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigError(f"seed must be an integer, got {self.seed!r}")
        for name in (
            "rnn_dropout",
            "data_augmentation_max_rotation",
            "data_augmentation_max_slant",
            "learning_rate",
            "reduce_lr_factor",
            "min_learning_rate",
            "gradient_clipnorm",
        ):
            setattr(self, name, number(name, getattr(self, name)))
        for name in ("data_augmentation", "restore_model", "tensorboard", "bucket_by_width"):
            setattr(self, name, boolean(name, getattr(self, name)))
        for name in (
            "cnn_padding",
            "csv_delimiter",
            "string_split_delimiter",
            "lookup_alphabet_file",
            "blank_symbol",
            "optimizer",
            "output_model_dir",
            "on_invalid_rows",
            "input_format",
        ):
            setattr(self, name, text(name, getattr(self, name)))

    def _check_values(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.on_invalid_rows not in INVALID_ROW_POLICIES:
            raise ConfigError(
                f"on_invalid_rows must be one of {', '.join(INVALID_ROW_POLICIES)}, got {self.on_invalid_rows!r}"
            )
        if self.input_format not in INPUT_FORMATS:
            raise ConfigError(
                f"input_format must be one of {', '.join(INPUT_FORMATS)} (auto: from each path's type), "
                f"got {self.input_format!r}"
            )
        if self.cnn_padding not in ("same", "valid"):
            raise ConfigError(f"cnn_padding must be 'same' or 'valid', got {self.cnn_padding!r}")
        if self.input_channels not in (1, 3):
            raise ConfigError(f"input_channels must be 1 (grayscale) or 3 (colour), got {self.input_channels}")
        if len(self.csv_delimiter) != 1 or self.csv_delimiter in "\r\n":
            raise ConfigError(f"csv_delimiter must be one character, got {self.csv_delimiter!r}")
        if not self.string_split_delimiter or self.string_split_delimiter == self.csv_delimiter:
            raise ConfigError("string_split_delimiter must be non-empty and differ from csv_delimiter")
        if not self.blank_symbol:
            raise ConfigError("blank_symbol must be a non-empty string")
        if not 0.0 <= self.rnn_dropout < 1.0:
            raise ConfigError(f"rnn_dropout must be in [0, 1), got {self.rnn_dropout}")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate}")
        if not 0.0 <= self.gradient_clipnorm < math.inf:
            raise ConfigError(f"gradient_clipnorm must be >= 0 (0 = no clipping), got {self.gradient_clipnorm}")
        if not 0.0 < self.reduce_lr_factor < 1.0:
            raise ConfigError(f"reduce_lr_factor must be in (0, 1), got {self.reduce_lr_factor}")
        if self.data_augmentation_max_rotation < 0 or self.data_augmentation_max_slant < 0:
            raise ConfigError("data_augmentation_max_rotation and data_augmentation_max_slant must be >= 0")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if (
            isinstance(self.n_width_buckets, bool)
            or not isinstance(self.n_width_buckets, int)
            or self.n_width_buckets < 1
        ):
            raise ConfigError(
                f"n_width_buckets must be a positive integer (1 = no bucketing), got {self.n_width_buckets!r}"
            )
        if not isinstance(self.jit_compile, bool):
            raise ConfigError(f"jit_compile must be true or false, got {self.jit_compile!r}")
        if self.num_beam_paths > self.beam_width:
            raise ConfigError(f"num_beam_paths ({self.num_beam_paths}) cannot exceed beam_width ({self.beam_width})")
        # -- issue 4: time budget
        minutes = self.max_training_minutes
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0 <= minutes < math.inf:
            raise ConfigError(f"max_training_minutes must be a number of minutes >= 0 (0 = no limit), got {minutes!r}")
        self.max_training_minutes = float(minutes)
        # -- issue 3: synthetic lines on the fly
        if self.synthetic_data.on_the_fly and self.csv_files_train:
            raise ConfigError(
                "synthetic_data.on_the_fly trains on generated lines only: csv_files_train must be empty, got "
                f"{self.csv_files_train!r}"
            )

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


def _build_dataclass(kind: type, values: Mapping[str, Any], prefix: str = "") -> Any:
    """``kind(**values)``, with unknown keys named (and the closest known key suggested)."""
    known = {f.name for f in dataclasses.fields(kind)}
    unknown = [key for key in values if key not in known]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hints.append(f"'{prefix}{key}'" + (f" (did you mean '{prefix}{close[0]}'?)" if close else ""))
        raise ConfigError(f"unknown configuration field(s): {', '.join(hints)}")
    return kind(**values)


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


class _DuplicateKey(Exception):
    """A JSON object names the same key twice (json keeps only the last one, silently)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    counts = Counter(key for key, _ in pairs)
    duplicated = [key for key, n in counts.items() if n > 1]
    if duplicated:
        raise _DuplicateKey(duplicated[0])
    return dict(pairs)


class Alphabet:
    """Label units and their integer codes; code 0 is the CTC blank.

    The lookup file is JSON ``{unit: code}`` with codes >= 1. Codes need not be contiguous in the
    file: they are mapped, in code order, onto 1..N (see :meth:`map_lookup`).
    """

    def __init__(
        self,
        lookup_alphabet_file: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
        blank_symbol: str = "<blank>",
        lookup: Mapping[str, int] | None = None,
    ) -> None:
        if (lookup_alphabet_file is None) == (lookup is None):
            raise AlphabetError("give exactly one of lookup_alphabet_file or lookup")
        raw = self.load_lookup_from_json(lookup_alphabet_file) if lookup is None else dict(lookup)
        self._check_lookup(raw, str(lookup_alphabet_file or "lookup"))
        if blank_symbol in raw:
            raise AlphabetError(
                f"blank_symbol {blank_symbol!r} is also a unit of the alphabet; choose another blank_symbol"
            )
        self._blank_symbol = blank_symbol
        self._lookup = self.map_lookup(raw)
        self._units = sorted(self._lookup, key=self._lookup.__getitem__)

    @staticmethod
    def _check_lookup(lookup: Mapping[str, int], source: str) -> None:
        if not lookup:
            raise AlphabetError(f"{source}: the alphabet is empty")
        codes: dict[int, str] = {}
        for unit, code in lookup.items():
            if not isinstance(unit, str) or unit == "":
                raise AlphabetError(f"{source}: units must be non-empty strings, got {unit!r}")
            if isinstance(code, bool) or not isinstance(code, int):
                raise AlphabetError(f"{source}: code of unit {unit!r} must be an integer, got {code!r}")
            if code <= 0:
                raise AlphabetError(f"{source}: unit {unit!r} has code {code}; codes must be >= 1 (0 is the CTC blank)")
            if code in codes:
                raise AlphabetError(f"{source}: units {codes[code]!r} and {unit!r} share code {code}")
            codes[code] = unit

    @property
    def blank_symbol(self) -> str:
        return self._blank_symbol

    @property
    def alphabet_units(self) -> list[str]:
        return list(self._units)

    @property
    def codes(self) -> list[int]:
        return list(range(1, len(self._units) + 1))

    @property
    def n_classes(self) -> int:
        """Number of model outputs: the units plus the blank."""
        return len(self._units) + 1

    @property
    def lookup(self) -> dict[str, int]:
        return dict(self._lookup)

    @property
    def code_to_unit(self) -> list[str]:
        """Index = code; entry 0 is the blank symbol."""
        return [self._blank_symbol, *self._units]

    def unknown_units(self, units: Iterable[str]) -> list[str]:
        return [u for u in units if u not in self._lookup]

    def encode(self, units: Iterable[str]) -> list[int]:
        try:
            return [self._lookup[u] for u in units]
        except KeyError as error:
            raise AlphabetError(f"unit {error.args[0]!r} is not in the alphabet") from None

    def decode(self, codes: Iterable[int], keep_blank: bool = False) -> str:
        """Codes to text; blanks are dropped unless ``keep_blank`` (then shown as blank_symbol)."""
        table = self.code_to_unit
        return "".join(table[c] for c in codes if keep_blank or c != 0)

    def to_json_file(self, json_file: str | os.PathLike) -> None:
        write_json(json_file, self._lookup)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Alphabet) and self._lookup == other._lookup

    def __len__(self) -> int:
        return len(self._units)

    # -- the original API -----------------------------------------------------------------------

    @classmethod
    def load_lookup_from_json(cls, json_filenames: str | os.PathLike | Sequence[str | os.PathLike]) -> dict[str, int]:
        """Load (and merge, in order) lookup tables from JSON files; later files add new units only."""
        if isinstance(json_filenames, (str, os.PathLike)):
            json_filenames = [json_filenames]
        merged: dict[str, int] = {}
        for filename in json_filenames:
            try:
                with open(filename, encoding="utf-8") as handle:
                    lookup = json.load(handle, object_pairs_hook=_unique_keys)
            except FileNotFoundError:
                raise AlphabetError(f"{filename}: alphabet lookup file not found") from None
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise AlphabetError(f"{filename}: not a JSON {{unit: code}} object ({error})") from None
            except _DuplicateKey as error:
                raise AlphabetError(f"{filename}: unit {error.args[0]!r} is listed more than once") from None
            if not isinstance(lookup, dict):
                raise AlphabetError(f"{filename}: expected a JSON object {{unit: code}}")
            cls._check_lookup(lookup, str(filename))
            offset = max(merged.values(), default=0)
            for unit, code in sorted(lookup.items(), key=lambda item: item[1]):
                if unit not in merged:
                    merged[unit] = offset + code
        return merged

    @classmethod
    def make_json_lookup_alphabet(cls, string_chars: str | None = None) -> dict[str, int]:
        """A lookup for the characters of a string (e.g. ``string.ascii_letters + string.digits``)."""
        chars = string_chars if string_chars is not None else string.ascii_letters + string.digits
        unique = list(dict.fromkeys(chars))
        return {char: code for code, char in enumerate(unique, start=1)}

    @classmethod
    def map_lookup(cls, lookup_table: Mapping[str, int], unique_entry: bool = True) -> dict[str, int]:
        """Map codes onto 1..N keeping their order, so the model has no unused outputs."""
        if not unique_entry:
            raise AlphabetError("only unique (bijective) lookups are supported")
        cls._check_lookup(lookup_table, "lookup")
        ordered = sorted(lookup_table.items(), key=lambda item: item[1])
        return {unit: code for code, (unit, _) in enumerate(ordered, start=1)}

    @classmethod
    def create_lookup_from_labels(
        cls,
        csv_files: str | os.PathLike | Sequence[str | os.PathLike],
        export_lookup_filename: str | os.PathLike,
        original_lookup_filename: str | os.PathLike | None = None,
        csv_delimiter: str = ";",
        split_delimiter: str = "|",
        text: TextOptions | None = None,
    ) -> dict[str, int]:
        """Build a lookup from the labels of (training) CSV files and write it as JSON.

        Units of ``original_lookup_filename`` keep their codes; new units are appended in order of
        decreasing frequency. The counts of every unit are written beside the lookup
        (``<name>.counts.json``) so rare units are visible. Units are normalised as training
        normalises them (``text``, NFC by default). For other input formats, see
        :mod:`tf_crnn.alphabet`.
        """
        if isinstance(csv_files, (str, os.PathLike)):
            csv_files = [csv_files]
        text = text or TextOptions()
        counts: Counter[str] = Counter()
        for csv_file in csv_files:
            rows, problems = read_csv_rows(csv_file, csv_delimiter, split_delimiter)
            raise_for_problems(problems, f"unreadable rows in {csv_file}")
            for row in rows:
                counts.update(text.clean_units(row.units))
        return cls.write_lookup_from_counts(counts, export_lookup_filename, original_lookup_filename)

    @classmethod
    def write_lookup_from_counts(
        cls,
        counts: Mapping[str, int],
        export_lookup_filename: str | os.PathLike,
        original_lookup_filename: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    ) -> dict[str, int]:
        """Write the lookup of counted units, and their counts beside it (``<name>.counts.json``).

        Units of ``original_lookup_filename`` keep their codes; new units are appended in order of
        decreasing frequency (ties in code-point order).
        """
        lookup = cls.load_lookup_from_json(original_lookup_filename) if original_lookup_filename else {}
        ordered = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        cls.extend_lookup(lookup, ordered)
        export = write_json(export_lookup_filename, lookup)
        write_json(export.with_suffix(".counts.json"), ordered)
        return lookup

    @staticmethod
    def extend_lookup(lookup: dict[str, int], units: Iterable[str]) -> dict[str, int]:
        """Append the ``units`` that ``lookup`` lacks, in the order given, with the next free codes;
        codes already given never change, so a model trained with ``lookup`` stays valid."""
        next_code = max(lookup.values(), default=0) + 1
        for unit in units:
            if unit not in lookup:
                lookup[unit] = next_code
                next_code += 1
        return lookup

    def check_input_file_alphabet(
        self,
        csv_filenames: str | os.PathLike | Sequence[str | os.PathLike],
        csv_delimiter: str = ";",
        split_delimiter: str = "|",
        text: TextOptions | None = None,
    ) -> None:
        """Raise DataError naming every unit of the files' labels (normalised as training does,
        ``text``) that the alphabet lacks."""
        if isinstance(csv_filenames, (str, os.PathLike)):
            csv_filenames = [csv_filenames]
        text = text or TextOptions()
        problems: list[RowProblem] = []
        for csv_file in csv_filenames:
            rows, bad = read_csv_rows(csv_file, csv_delimiter, split_delimiter)
            problems.extend(bad)
            for row in rows:
                unknown = self.unknown_units(text.clean_units(row.units))
                if unknown:
                    shown = ", ".join(repr(u) for u in dict.fromkeys(unknown))
                    problems.append(RowProblem(row.source, row.line, f"units not in the alphabet: {shown}"))
        raise_for_problems(problems, "rows that the alphabet cannot encode")


__all__ = [
    "Alphabet",
    "AlphabetError",
    "Augmentation",
    "ConfigError",
    "DataError",
    "Distribution",
    "Params",
    "SyntheticData",
    "TextOptions",
    "WarmStart",
    "import_params_from_json",
]
