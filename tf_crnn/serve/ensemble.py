"""Ensembles: several exported models that vote, written as one SavedModel with the usual signatures.

Members are export folders, output folders (their best export) or the folder of ``tf-crnn
train-folds`` (each fold's best export). Two ways to vote:

* ``frames``: the members read the same preprocessed line and emit the same classes on the same
  time steps (same alphabet, input height, maximal width, channels and width reduction; the rest of
  the architecture may differ), so their posteriors are merged frame by frame
  (:mod:`tf_crnn.model.ensemble`, in probability or log space) and decoded once. The export is that
  of a single model whose network is the merged one: every signature (``preprocess`` and ``network``
  too), beam search, lexicons and ONNX/TFLite work as for one model, and per-character confidences
  and positions come from the merged posteriors.
* ``strings``: each member reads the line its own way and decodes it; the transcriptions are
  aligned by their characters' positions and voted by confidence (:mod:`tf_crnn.serve.voting`).
  For members with different alphabets, heights or width reductions. The export has the three
  transcribing signatures; there is no single network, so no ``preprocess``/``network`` signature,
  no decoding options and no ONNX/TFLite.

``auto`` takes frames when the members allow it, else strings. Members must read the same number
of channels and normalise labels alike (their ``text`` settings), so that one image and one reference
mean the same to each.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.features import IMAGES, WIDTHS
from tf_crnn.data.pipeline import decode_image
from tf_crnn.errors import ConfigError, ModelError, TfCrnnError
from tf_crnn.layout import ExportLayout, FoldsLayout, best_export, read_export_info
from tf_crnn.model.crnn import get_model_inference
from tf_crnn.model.ensemble import SPACES, frame_average_network
from tf_crnn.params.params import Params
from tf_crnn.serve.export import (
    SavedModelExporter,
    add_transcribing_endpoints,
    decode_logits,
    preprocess_batch,
    track_weights,
)
from tf_crnn.serve.model_card import write_model_card
from tf_crnn.serve.voting import MAX_STRING_VOTERS, member_chars, union_matrix, vote
from tf_crnn.utils.files import write_json

LOGGER = logging.getLogger(__name__)

VOTINGS = ("auto", "frames", "strings")
STRING_VOTE_SIGNATURES = ("serving_default", "predict_files", "predict_images")


@dataclass
class Member:
    """One model of an ensemble: where it was read, its configuration, alphabet and rebuilt network."""

    position: int  # 1-based, in the order given
    export_dir: Path
    params: Params
    alphabet: Alphabet
    model: keras.Model
    info: dict[str, Any]

    @property
    def name(self) -> str:
        return f"member {self.position} ({self.export_dir})"


def is_ensemble(export_dir: str | os.PathLike) -> bool:
    return "ensemble" in read_export_info(export_dir)


def member_exports(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The export folder of each member: an export folder is itself, an output folder gives its best
    export, a train-folds folder the best export of each of its folds."""
    if not paths:
        raise ModelError("an ensemble needs members: give export folders, output folders or a train-folds folder")
    exports: list[Path] = []
    for path in map(Path, paths):
        if ExportLayout(path).is_export:
            exports.append(path)
        elif FoldsLayout(path).is_folds:
            exports += _fold_exports(FoldsLayout(path))
        elif not path.exists():
            raise ModelError(f"member {len(exports) + 1}: {path} does not exist")
        else:
            found = best_export(path)
            if found is None:
                raise ModelError(
                    f"member {len(exports) + 1}: {path} holds no exported model (saved_model.pb), here or in its "
                    "export/ folder"
                )
            exports.append(found)
    return exports


def _fold_exports(layout: FoldsLayout) -> list[Path]:
    try:
        manifest = json.loads(layout.manifest.read_text(encoding="utf-8"))
        folds = [int(entry["fold"]) for entry in manifest["members"]]
    except (ValueError, KeyError, TypeError, OSError) as error:
        raise ModelError(f"{layout.manifest}: unreadable manifest ({error}); run tf-crnn train-folds again") from None
    exports = []
    for fold in folds:
        found = best_export(layout.fold(fold).root)
        if found is None:
            raise ModelError(
                f"fold {fold} of {layout.root} has no export: its training has not finished; run the same "
                "tf-crnn train-folds command again to finish it, or name the other folds' folders"
            )
        exports.append(found)
    return exports


def network_of(params: Params, alphabet: Alphabet, name: str) -> keras.Model:
    """The inference network a member's params.json describes (weights to be loaded)."""
    try:
        return get_model_inference(params, alphabet.n_classes)
    except (ValueError, TypeError) as error:
        raise ModelError(f"{name}: its params.json does not describe a network ({error})") from None


def load_member(position: int, export_dir: str | os.PathLike, precision: str | None = None) -> Member:
    """Rebuild a member's network from its export (``precision``: compute in another precision)."""
    export_dir = Path(export_dir)
    name = f"member {position} ({export_dir})"
    layout = ExportLayout(export_dir)
    if not layout.is_export:
        raise ModelError(f"{name}: no saved_model.pb; the member is missing or was not exported completely")
    if is_ensemble(export_dir):
        raise ModelError(f"{name} is an ensemble itself; give its members instead")
    try:
        params = Params.from_json_file(layout.params)
        if precision:
            params = dataclasses.replace(params, precision=precision)
        alphabet = Alphabet(layout.alphabet, params.blank_symbol)
    except (TfCrnnError, ValueError, OSError) as error:
        raise ModelError(f"{name}: cannot read its params.json/alphabet.json ({error})") from None
    model = network_of(params, alphabet, name)
    try:
        saved = tf.saved_model.load(str(export_dir)).variables
    except Exception as error:  # noqa: BLE001 - a damaged SavedModel raises many kinds of errors
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(f"{name}: its SavedModel cannot be read ({reason}); export or train it again") from None
    if [tuple(v.shape) for v in saved] != [tuple(v.shape) for v in model.variables]:
        raise ModelError(
            f"{name}: its weights do not match its params.json ({len(saved)} saved tensors, "
            f"{len(model.variables)} expected); export it again"
        )
    for variable, value in zip(model.variables, saved):
        variable.assign(value)
    return Member(position, export_dir, params, alphabet, model, read_export_info(export_dir))


def load_members(paths: Sequence[str | os.PathLike], precision: str | None = None) -> list[Member]:
    """Every member of :func:`member_exports`, rebuilt."""
    return [load_member(i, path, precision) for i, path in enumerate(member_exports(paths), start=1)]


def _shared_reading_problems(members: Sequence[Member]) -> list[str]:
    """What no ensemble can mix: channels and label normalisation."""
    first, problems = members[0], []
    for member in members[1:]:
        if member.params.input_channels != first.params.input_channels:
            problems.append(
                f"{member.name} reads {member.params.input_channels} channel(s), {first.name} "
                f"{first.params.input_channels}"
            )
        if member.params.text != first.params.text:
            problems.append(f"{member.name} normalises labels otherwise than {first.name} (its text settings)")
    return problems


def frame_problems(members: Sequence[Member]) -> list[str]:
    """Why the members' posteriors cannot be averaged frame by frame (empty when they can)."""
    first, problems = members[0], _shared_reading_problems(members)
    for member in members[1:]:
        mine, theirs = member.params, first.params
        if member.alphabet.code_to_unit[1:] != first.alphabet.code_to_unit[1:]:
            extra = sorted(set(member.alphabet.alphabet_units) - set(first.alphabet.alphabet_units))
            lacks = sorted(set(first.alphabet.alphabet_units) - set(member.alphabet.alphabet_units))
            what = [f"units {extra} that {first.name} lacks"] if extra else []
            what += [f"without units {lacks}"] if lacks else []
            problems.append(f"{member.name} has another alphabet ({'; '.join(what) or 'its units in another order'})")
        if list(mine.input_shape) != list(theirs.input_shape):
            problems.append(
                f"{member.name} reads lines of input_shape {list(mine.input_shape)} [height, max width], "
                f"{first.name} {list(theirs.input_shape)}"
            )
        if mine.width_reduction != theirs.width_reduction:
            problems.append(
                f"{member.name} has a width reduction of {mine.width_reduction}, {first.name} {theirs.width_reduction}"
            )
    return problems


def choose_voting(members: Sequence[Member], voting: str = "auto") -> str:
    """``frames`` or ``strings`` for these members; a voting they cannot do is refused with the reasons."""
    if voting not in VOTINGS:
        raise ConfigError(f"voting must be one of {', '.join(VOTINGS)}, got {voting!r}")
    shared = _shared_reading_problems(members)
    if shared:
        raise ModelError(f"these models cannot vote together: {'; '.join(shared)}")
    problems = frame_problems(members)
    if voting == "frames" and problems:
        raise ModelError(
            f"frame averaging needs members emitting the same classes on the same time steps: {'; '.join(problems)}; "
            "use voting 'strings' (or 'auto')"
        )
    if voting == "frames" or (voting == "auto" and not problems):
        return "frames"
    if len(members) > MAX_STRING_VOTERS:
        raise ModelError(f"string voting takes at most {MAX_STRING_VOTERS} members, got {len(members)}")
    if voting == "auto":
        LOGGER.info("voting over strings: frame averaging is not possible (%s)", "; ".join(problems))
    return "strings"


def union_units(members: Sequence[Member]) -> list[str]:
    """Every member's units, in the first member's order, then each later member's new ones."""
    return list(dict.fromkeys(unit for member in members for unit in member.alphabet.alphabet_units))


class Ensemble:
    """Members and their voting, in memory: :meth:`transcribe` votes, :meth:`export` writes one SavedModel."""

    def __init__(self, members: Sequence[Member], voting: str = "auto", space: str = "prob") -> None:
        if not members:
            raise ModelError("an ensemble needs at least one member")
        if space not in SPACES:
            raise ConfigError(f"space must be one of {', '.join(SPACES)}, got {space!r}")
        self.members = list(members)
        self.voting = choose_voting(self.members, voting)
        self.space = space
        self.params = self.members[0].params
        if self.voting == "frames":
            self.alphabet = self.members[0].alphabet
            self.network = frame_average_network([m.model for m in self.members], self.params, space)
        else:
            units = union_units(self.members)
            lookup = {unit: code for code, unit in enumerate(units, start=1)}
            self.alphabet = Alphabet(lookup=lookup, blank_symbol=self.params.blank_symbol)
            self.units = tf.constant(units)
            self.to_union = [tf.constant(union_matrix(m.alphabet.code_to_unit, units)) for m in self.members]

    def vote_preprocessed(self, *inputs: tf.Tensor) -> dict[str, tf.Tensor]:
        """String voting on each member's preprocessed batch: ``images_1, widths_1, ..., original_widths``."""
        original_widths = inputs[-1]
        chars = []
        for i, (member, to_union) in enumerate(zip(self.members, self.to_union)):
            images, widths = inputs[2 * i], inputs[2 * i + 1]
            logits = member.model({IMAGES: images, WIDTHS: widths}, training=False)
            chars.append(member_chars(logits, widths, original_widths, member.params.width_reduction, to_union))
        return vote(chars, self.units)

    def transcribe(self, encoded: Sequence[bytes]) -> dict[str, tf.Tensor]:
        """The transcription outputs of encoded line images, computed here (what the export computes)."""
        elements = tf.constant(list(encoded))
        channels = self.params.input_channels

        def load(element: tf.Tensor) -> tf.Tensor:
            return decode_image(element, channels)

        if self.voting == "frames":
            images, widths, original = preprocess_batch(load, elements, self.params)
            logits = self.network({IMAGES: images, WIDTHS: widths}, training=False)
            code_to_unit = tf.constant(self.alphabet.code_to_unit)
            return decode_logits(logits, widths, original, self.params, code_to_unit)
        inputs = []
        for member in self.members:
            images, widths, original = preprocess_batch(load, elements, member.params)
            inputs += [images, widths]
        return self.vote_preprocessed(*inputs, original)

    def card(self) -> dict[str, Any]:
        """What the export's model card says of the ensemble."""
        members = [
            {
                "export": str(m.export_dir),
                "cer": m.info.get("metrics", {}).get("cer"),
                "input_shape": list(m.params.input_shape),
                "width_reduction": m.params.width_reduction,
                "rnn_units": list(m.params.rnn_units),
                "units": len(m.alphabet),
            }
            for m in self.members
        ]
        card = {"voting": self.voting, "members": members}
        if self.voting == "frames":
            card["space"] = self.space
        return card

    def exporter(self) -> SavedModelExporter:
        if self.voting == "frames":
            return SavedModelExporter(self.network, self.params, self.alphabet)
        return StringVoteExporter(self)

    def export(self, export_dir: str | os.PathLike, info: dict[str, Any] | None = None) -> Path:
        """Write the ensemble as one SavedModel (atomically), with each member's params.json and alphabet.json."""

        def members_files(folder: Path) -> None:
            for member in self.members:
                saved = ExportLayout(folder).member(member.position)
                member.params.to_json_file(saved.params)
                member.alphabet.to_json_file(saved.alphabet)

        datasets = {
            name: sorted({path for m in self.members for path in getattr(m.params, field)})
            for name, field in (("train", "csv_files_train"), ("eval", "csv_files_eval"))
        }
        card = {"reason": f"ensemble of {len(self.members)} models", "datasets": datasets, **(info or {})}
        return self.exporter().write(export_dir, {**card, "ensemble": self.card()}, fill=members_files)


class StringVoteExporter(SavedModelExporter):
    """The transcribing signatures of a string-voting ensemble: each member preprocesses and reads the
    line, then :func:`~tf_crnn.serve.voting.vote` merges their transcriptions."""

    def __init__(self, ensemble: Ensemble) -> None:
        self.params, self.alphabet = ensemble.params, ensemble.alphabet
        members = ensemble.members
        specs = []
        for member in members:
            height, channels = member.params.input_shape[0], member.params.input_channels
            specs += [tf.TensorSpec([None, height, None, channels], tf.float32), tf.TensorSpec([None], tf.int32)]
        voted = tf.function(ensemble.vote_preprocessed, input_signature=[*specs, tf.TensorSpec([None], tf.int32)])

        def transcribe(load, elements):
            inputs = []
            for member in members:
                images, widths, original = preprocess_batch(load, elements, member.params)
                inputs += [images, widths]
            return voted(*inputs, original)

        archive = keras.export.ExportArchive()
        for member in members:
            track_weights(archive, member.model)
        add_transcribing_endpoints(archive, transcribe, ensemble.params.input_channels)
        self.archive = archive
        self.signatures = STRING_VOTE_SIGNATURES


def record_figures(export_dir: str | os.PathLike, metrics: dict[str, float]) -> None:
    """Add evaluation figures to an export's model card (``export_info.json`` and ``MODEL_CARD.md``), so
    that :func:`~tf_crnn.layout.best_export` can weigh it against other exports."""
    layout = ExportLayout(export_dir)
    card = {**read_export_info(export_dir), "metrics": dict(metrics)}
    write_json(layout.info, card, indent=2)
    write_model_card(layout.model_card, card)


def export_ensemble(
    paths: Sequence[str | os.PathLike],
    export_dir: str | os.PathLike,
    voting: str = "auto",
    space: str = "prob",
    info: dict[str, Any] | None = None,
) -> Path:
    """Load the members (see :func:`member_exports`) and write their ensemble to ``export_dir``."""
    return Ensemble(load_members(paths), voting, space).export(export_dir, info)


def ensemble_network(export_dir: str | os.PathLike, precision: str | None = None) -> keras.Model:
    """The frame-averaging network of an ensemble export, rebuilt from its members' params.json (weights
    to be loaded from the SavedModel), for the ONNX and TFLite conversions."""
    export_dir = Path(export_dir)
    card = read_export_info(export_dir)["ensemble"]
    if card["voting"] != "frames":
        raise ModelError(
            f"{export_dir} is an ensemble voting over strings: its members read the line each their own way and "
            "vote on their decoded characters, so there is no single network to convert; convert its members, "
            "or build a frame-averaging ensemble (tf-crnn ensemble --voting frames)"
        )
    layout = ExportLayout(export_dir)
    shared = Params.from_json_file(layout.params)
    networks = []
    for position in range(1, len(card["members"]) + 1):
        folder = layout.member(position)
        params = Params.from_json_file(folder.params)
        if precision:
            params = dataclasses.replace(params, precision=precision)
        networks.append(network_of(params, Alphabet(folder.alphabet, params.blank_symbol), f"member {position}"))
    return frame_average_network(networks, shared, card.get("space", "prob"))
