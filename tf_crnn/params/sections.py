"""The nested sections of :class:`~tf_crnn.params.params.Params`: synthetic lines, augmentation
strengths, distribution, warm start. (The ``text`` section, how labels become units, lives with the
code that applies it: :class:`tf_crnn.data.text.TextOptions`.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tf_crnn.errors import ConfigError
from tf_crnn.params.fields import Boolean, Choice, Integer, Kind, Number, Strings, Text, setting, validate


@dataclass(frozen=True)
class FontSizes(Kind):
    """[smallest, largest] font sizes in pixels."""

    def check(self, name: str, value: Any, owner: Any) -> list[int]:
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or not 8 <= value[0] <= value[1] <= 200
        ):
            raise ConfigError(
                f"{name} must be [smallest, largest] pixel sizes with 8 <= smallest <= largest <= 200, got {value!r}"
            )
        return list(value)

    def describe(self) -> str:
        return "[smallest, largest] px, 8 to 200"


SHARE = Number(0.0, 1.0, phrase="a share between 0 and 1")
ORTHOGRAPHIES = ("modern", "historical")


@dataclass
class SyntheticData:
    """Synthetic training lines (``tf_crnn.synth``): generated CSVs, or a stream rendered on the fly.

    ``n_train = 0`` (the default) turns generation off: missing CSVs are then an error. With
    ``on_the_fly``, training reads ``n_train`` fresh lines per epoch from the generator (no
    training CSV); the evaluation lines are still written to ``csv_files_eval`` once.
    """

    n_train: int = setting(0, Integer(0), "training lines to generate (0 = off); on the fly: lines per epoch")
    n_eval: int = setting(0, Integer(0), "evaluation lines to generate (written once, also on the fly)")
    seed: int = setting(1, Integer(), "seed of the training lines; the evaluation lines use seed + 1000003")
    max_words: int = setting(6, Integer(0), "words per line, at most")
    max_chars: int = setting(40, Integer(0), "units per line, at most (capped at max_chars_per_string)")
    on_the_fly: bool = setting(False, Boolean(), "render fresh training lines every epoch instead of writing a CSV")
    font_dir: str = setting(
        "", Text("a folder path (string)"), "a folder of extra .ttf/.otf fonts; half of the lines use them"
    )
    builtin_fonts: bool = setting(True, Boolean(), "use DejaVu, STIX, Computer Modern, Pillow's and OpenCV's fonts")
    font_sizes: list[int] = setting([20, 48], FontSizes(), "[smallest, largest] font size in pixels")
    binarize: float = setting(0.5, SHARE, "share of lines binarised like many archive scans")
    rare_share: float = setting(0.3, SHARE, "share of lines with units drawn uniformly from the alphabet")
    font_dir_share: float = setting(
        0.5, SHARE, "share of lines drawn with the font_dir fonts when the built-in fonts are on too"
    )
    languages: list[str] = setting(
        [], Strings("a list of wordfreq language codes (e.g. ['de', 'fr'])", nonempty_items=True, empty_is_none=False),
        "languages of the line texts (wordfreq codes); empty: English plus those whose letters the alphabet has",
    )  # fmt: skip
    orthography: str = setting(
        "modern", Choice(ORTHOGRAPHIES),
        "historical: long s, r rotunda, umlauts as a small e above, u/v by position and abbreviations, "
        "as the prints of the 15th-19th centuries set them (tf_crnn.synth.historical)",
    )  # fmt: skip

    def __post_init__(self) -> None:
        validate(self, "synthetic_data.")
        if self.enabled and (self.n_eval < 1 or self.max_words < 1 or self.max_chars < 1):
            raise ConfigError("synthetic_data: n_eval, max_words and max_chars must be positive when n_train > 0")
        if self.on_the_fly and not self.enabled:
            raise ConfigError("synthetic_data.on_the_fly needs synthetic_data.n_train > 0 (lines per epoch)")
        if not self.builtin_fonts and not self.font_dir:
            raise ConfigError("synthetic_data.builtin_fonts is false but no synthetic_data.font_dir is given: no fonts")

    @property
    def enabled(self) -> bool:
        return self.n_train > 0


OFF = Number(0.0, phrase="a number >= 0 (0 = off)")


def _below(limit: float, reason: str) -> Number:
    return Number(0.0, limit, phrase="a number >= 0 (0 = off)", maximum_reason=reason)


@dataclass
class Augmentation:
    """Strengths of the training-time augmentations besides rotation and slant; 0 turns one off.

    Pixel strengths are in model-input pixels (after resizing to ``input_shape[0]``), so they mean
    the same for scans of any resolution. Every value is the largest one drawn: each line draws
    its own strength uniformly up to it (symmetrically for signed effects).
    """

    brightness: float = setting(0.1, OFF, "intensity shift in [-b, b]")
    contrast: float = setting(
        0.3, _below(1.0, "a factor of 1 - contrast must stay positive"),
        "ink-to-background difference scaled by a factor in [1 - c, 1 + c]",
    )  # fmt: skip
    gamma: float = setting(0.3, OFF, "ink intensities raised to a power in [exp(-g), exp(g)]")
    noise: float = setting(0.03, OFF, "Gaussian noise of standard deviation in [0, n]")
    blur: float = setting(0.5, OFF, "Gaussian blur of sigma in [0, b] px")
    erosion_dilation: float = setting(
        0.5, _below(3.0, "strokes would vanish or merge"), "strokes thinned or thickened by up to this many px"
    )
    elastic: float = setting(0.0, OFF, "smooth random displacements of up to this many px")
    perspective: float = setting(
        0.0, _below(0.5, "corners would cross"), "corners moved by up to this fraction of the line height"
    )
    pad_left_right: int = setting(
        8, Integer(0, phrase="a whole number of pixels >= 0 (0 = off)"), "background columns added on each side, 0..p"
    )
    shift_vertical: float = setting(2.0, OFF, "vertical shift in [-s, s] px")

    def __post_init__(self) -> None:
        validate(self, "augmentation.")


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

    strategy: str = setting(
        "none", Choice(STRATEGIES),
        "none (one device), mirrored (the local GPUs), multi_worker (the machines of TF_CONFIG)",
    )  # fmt: skip
    devices: list[str] = setting(
        [], Strings("a list of device names (e.g. '/gpu:0')", nonempty_items=True, empty_is_none=False),
        "mirrored: the devices to use (default: every local GPU)",
    )  # fmt: skip
    lr_scaling: str = setting(
        "none", Choice(LR_SCALING_RULES), "scale learning_rate from base_batch_size to train_batch_size"
    )
    base_batch_size: int = setting(0, Integer(0), "the global batch size learning_rate was tuned for")
    sync_batch_norm: bool = setting(
        True, Boolean(), "BatchNormalization statistics over the global batch, not per replica"
    )
    communication: str = setting(
        "auto", Choice(COMMUNICATIONS), "multi_worker all-reduce: ring (gRPC), nccl (NVIDIA GPUs), auto"
    )

    def __post_init__(self) -> None:
        validate(self, "distribution.")
        if self.devices and self.strategy != "mirrored":
            raise ConfigError(
                f"distribution.devices lists devices for the 'mirrored' strategy only (strategy is {self.strategy!r}); "
                "for multi_worker, choose each machine's GPUs with CUDA_VISIBLE_DEVICES"
            )
        if len(set(self.devices)) != len(self.devices):
            raise ConfigError(f"distribution.devices lists a device twice: {self.devices}")
        if self.lr_scaling != "none" and self.base_batch_size == 0:
            raise ConfigError(
                f"distribution.lr_scaling {self.lr_scaling!r} needs distribution.base_batch_size: the global batch "
                "size that learning_rate was tuned for (e.g. 32)"
            )
        if self.communication != "auto" and self.strategy != "multi_worker":
            raise ConfigError(
                f"distribution.communication applies to the multi_worker strategy only (strategy is {self.strategy!r})"
            )


@dataclass
class WarmStart:
    """Start training from another model's weights (fine-tuning), possibly with another alphabet.

    ``model``: an export folder, an output folder (its best export, else its latest checkpoint), a
    checkpoint (``.../checkpoints/ckpt-7``) or the name of a model that ships with tf-crnn
    (``historical-latin``; ``tf-crnn models`` lists them); "" (the default) trains from scratch. The
    architecture fields a config does not set are the source's; everything but the output layer must
    have the same architecture; output units the two alphabets share keep
    their weights, new units start fresh, dropped units are removed. ``freeze_cnn_steps`` keeps the
    convolutional layers (and their BatchNormalization statistics) fixed for the first that many
    training steps, so the fresh output units do not pull the features apart; 0 = never frozen.
    """

    model: str = setting(
        "", Text("the path of an export folder, an output folder or a checkpoint, or a model name"),
        "an export folder, an output folder (its best export, else its latest checkpoint), a checkpoint or a "
        "shipped model's name (tf-crnn models) to start from; the architecture fields not set are the source's; "
        "empty: train from scratch",
    )  # fmt: skip
    freeze_cnn_steps: int = setting(
        0, Integer(0, note="0 = off"), "keep the convolutional layers fixed for the first that many training steps"
    )

    def __post_init__(self) -> None:
        validate(self, "warm_start.")
        if self.freeze_cnn_steps and not self.model:
            raise ConfigError(
                "warm_start.freeze_cnn_steps freezes the layers of a warm-started model: set warm_start.model too"
            )

    @property
    def enabled(self) -> bool:
        return bool(self.model)
