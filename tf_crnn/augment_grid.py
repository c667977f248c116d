"""A picture of what the model trains on: training lines after augmentation, with their labels.

``python -m tf_crnn.augment_grid --config config.json --out grid.png [--n 16] [--variants 3]
[--set augmentation.blur=1.5 ...]`` writes a PNG of ``n`` training lines, each as the original
preprocessed line followed by ``variants`` augmented draws, label above. The images are the
network's input exactly (the same tf.data graph as training: resizing, augmentation, padding to a
multiple of the width reduction), shown as the network reads them: ink high (white) on 0 (black),
magnified without interpolation. :func:`augmentation_grid` returns the picture for other tools.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from tf_crnn.config import Params  # noqa: E402
from tf_crnn.data_handler import IMAGES, WIDTHS, decoded_lines, lines_to_batches  # noqa: E402
from tf_crnn.errors import ConfigError, DataError, TfCrnnError  # noqa: E402
from tf_crnn.io.csv_rows import LabelledRow  # noqa: E402
from tf_crnn.io.rows import detect_format, expand_sources, read_rows  # noqa: E402
from tf_crnn.io.tfrecords import load_index  # noqa: E402
from tf_crnn.preprocessing import PreparedData, image_size  # noqa: E402

LOGGER = logging.getLogger(__name__)
LABEL_HEIGHT = 18
GAP = 6


def sample_rows(params: Params, n: int, seed: int = 0) -> list[LabelledRow]:
    """``n`` readable rows of the training data (any input format), drawn at random (reproducibly from ``seed``).

    Unreadable rows and images are skipped and counted in the log, as the picture is a check, not
    training (training reports them by file and line).
    """
    if not params.csv_files_train:
        raise ConfigError("csv_files_train is empty: there are no training lines to show")
    rows: list[LabelledRow] = []
    bad_rows = 0
    for source in expand_sources(params.csv_files_train):
        if detect_format(source, params.input_format) == "tfrecord":  # one shard is sample enough
            source = load_index(source).files[0]
        reading = (params.text, params.input_format, params.csv_delimiter, params.string_split_delimiter)
        file_rows, problems = read_rows(source, *reading)
        rows += file_rows
        bad_rows += len(problems)
    order = np.random.default_rng(seed).permutation(len(rows))
    chosen: list[LabelledRow] = []
    for index in order:
        try:
            image_size(rows[index].path, rows[index].image)
        except ValueError as error:
            bad_rows += 1
            LOGGER.debug("skipped %s: %s", rows[index].where, error)
            continue
        chosen.append(rows[index])
        if len(chosen) == n:
            break
    if bad_rows:
        LOGGER.warning("skipped %d unreadable rows or images of the training CSVs", bad_rows)
    if not chosen:
        raise DataError(f"no readable training line in {', '.join(params.csv_files_train)}")
    return chosen


def model_inputs(params: Params, rows: Sequence[LabelledRow], augment: bool, seed: int = 0) -> list[np.ndarray]:
    """The network's input for each row ([H, W, C] float32, cut at its true width), through the training
    pipeline; ``augment`` applies ``params``' augmentation (one draw per row from ``seed``)."""
    data = PreparedData(rows=list(rows))
    lines = decoded_lines(data, params, use_labels=False, shuffle=False)
    batches = lines_to_batches(lines, params, use_labels=False, batch_size=1, data_augmentation=augment, seed=seed)
    return [batch[IMAGES][0, :, : int(batch[WIDTHS][0])].numpy() for batch in batches]


def render_grid(
    labels: Sequence[str], columns: Sequence[Sequence[np.ndarray]], titles: Sequence[str], zoom: int = 2
) -> Image.Image:
    """Lines as rows: each label, then one image per column side by side (values in [0, 1], 1 = white)."""
    font = _font(LABEL_HEIGHT - 4)
    cell_widths = [max(image.shape[1] for image in column) * zoom for column in columns]
    height = columns[0][0].shape[0] * zoom
    width = sum(cell_widths) + GAP * (len(columns) + 1)
    row_height = LABEL_HEIGHT + height + GAP
    canvas = Image.new("RGB", (width, LABEL_HEIGHT + len(labels) * row_height + GAP), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    x = GAP
    for title, cell in zip(titles, cell_widths):
        draw.text((x, 2), title, fill=(90, 90, 90), font=font)
        x += cell + GAP
    for i, label in enumerate(labels):
        top = LABEL_HEIGHT + i * row_height
        draw.text((GAP, top + 1), label, fill=(0, 0, 0), font=font)
        x = GAP
        for column, cell in zip(columns, cell_widths):
            canvas.paste(_to_pil(column[i], zoom), (x, top + LABEL_HEIGHT))
            x += cell + GAP
    return canvas


def augmentation_grid(params: Params, n: int = 16, variants: int = 1, seed: int = 0, zoom: int = 2) -> Image.Image:
    """Picture of ``n`` training lines: preprocessed without augmentation, then ``variants`` augmented draws.

    With ``data_augmentation`` false the augmented columns are left out (there is nothing to show).
    """
    rows = sample_rows(params, n, seed)
    columns = [model_inputs(params, rows, augment=False)]
    titles = ["preprocessed"]
    if params.data_augmentation:
        for variant in range(variants):
            columns.append(model_inputs(params, rows, augment=True, seed=seed + variant))
            titles.append(f"augmented ({variant + 1})")
    return render_grid([row.text for row in rows], columns, titles, zoom)


def _to_pil(image: np.ndarray, zoom: int) -> Image.Image:
    pixels = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
    pixels = pixels[..., 0] if pixels.shape[2] == 1 else pixels
    picture = Image.fromarray(pixels).convert("RGB")
    return picture.resize((picture.width * zoom, picture.height * zoom), Image.Resampling.NEAREST)


def _font(size: int) -> ImageFont.ImageFont:
    """DejaVu Sans (shipped with matplotlib): it covers historical characters like ſ, ꝛ, ꝑ and ⁊."""
    from matplotlib import font_manager

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)


def apply_overrides(values: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """``key=value`` or ``section.key=value`` (values read as JSON, else as text) applied to a config dict."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        target = values
        *sections, name = key.split(".")
        for section in sections:
            target = target.setdefault(section, {})
            if not isinstance(target, dict):
                raise ConfigError(f"--set {item!r}: {section} is not a section")
        target[name] = value
    return values


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="the experiment's JSON config (as for training.py)")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--n", type=int, default=16, help="number of training lines (default 16)")
    parser.add_argument("--variants", type=int, default=1, help="augmented draws per line (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="which lines and draws (default 0)")
    parser.add_argument("--zoom", type=int, default=2, help="pixel magnification (default 2)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        if args.n < 1 or args.variants < 0 or args.zoom < 1:
            raise ConfigError("--n and --zoom must be positive and --variants non-negative")
        try:
            values = json.loads(Path(args.config).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigError(f"cannot read the config {args.config}: {error}") from None
        params = Params.from_dict(apply_overrides(values, args.set))
        from tf_crnn.trainer import ensure_data

        ensure_data(params)  # the default experiment's synthetic lines, generated as training would
        picture = augmentation_grid(params, args.n, args.variants, args.seed, args.zoom)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        picture.save(args.out)
    except (TfCrnnError, tf.errors.OpError, OSError) as error:
        LOGGER.error("%s", getattr(error, "message", None) or error)
        return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
