"""A picture of what the model trains on: training lines after augmentation, with their labels.

``tf-crnn grid CONFIG.json [field=value ...] --out grid.png`` (:mod:`tf_crnn.cli.grid`) writes a
PNG of training lines, each as the preprocessed line followed by augmented draws, label above. The
lines are those training reads (rows of the training files, or synthetic lines rendered on the fly)
and the images are the network's input exactly (the same tf.data graph as training: resizing,
augmentation, padding to a multiple of the width reduction), shown as the network reads them: ink
high (white) on 0 (black), magnified without interpolation. :func:`augmentation_grid` returns the
picture for other tools.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.checks import PreparedData
from tf_crnn.data.features import CODES, IMAGES, WIDTHS
from tf_crnn.data.formats.sources import detect_format, expand_sources, read_rows
from tf_crnn.data.formats.tfrecords import load_index
from tf_crnn.data.images import image_size
from tf_crnn.data.pipeline import decoded_lines, lines_to_batches
from tf_crnn.data.rows import LabelledRow
from tf_crnn.errors import ConfigError, DataError
from tf_crnn.params.params import Params
from tf_crnn.synth.generator import LineGenerator
from tf_crnn.synth.source import synthetic_lines

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
        file_rows, problems = read_rows(source, *reading, pages=params.pages)
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


def training_sample(params: Params, n: int, seed: int = 0) -> tuple[list[str], tf.data.Dataset]:
    """``n`` training lines as training reads them: their labels and their line source.

    Rows drawn from the training files (:func:`sample_rows`), or, with ``synthetic_data.on_the_fly``,
    lines ``seed * n`` to ``seed * n + n - 1`` of the training stream (seed 0: the first lines of epoch 0).
    """
    if not params.synthetic_data.on_the_fly:
        rows = sample_rows(params, n, seed)
        return [row.text for row in rows], decoded_lines(
            PreparedData(rows=rows), params, use_labels=False, shuffle=False
        )
    alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
    synthetic = params.synthetic_data
    generator = LineGenerator.from_config(synthetic, alphabet.alphabet_units, params.max_label_units)
    lines = synthetic_lines(
        generator, alphabet, synthetic.seed, seed * n, n, params.input_channels, params=params
    ).cache()  # rendered once, shown in every column
    units = alphabet.code_to_unit
    return ["".join(units[code] for code in line[CODES].numpy()) for line in lines], lines


def model_inputs(params: Params, lines: tf.data.Dataset, augment: bool, seed: int = 0) -> list[np.ndarray]:
    """The network's input for each line of a line source ([H, W, C] float32, cut at its true width),
    through the training pipeline; ``augment`` applies ``params``' augmentation (one draw per line from ``seed``)."""
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


def augmentation_grid(
    params: Params, n: int = 16, variants: int = 1, seed: int = 0, zoom: int = 2
) -> tuple[Image.Image, list[str]]:
    """Picture of ``n`` training lines: preprocessed without augmentation, then ``variants`` augmented
    draws; and the column titles.

    With ``data_augmentation`` false the augmented columns are left out (there is nothing to show).
    """
    labels, lines = training_sample(params, n, seed)
    columns = [model_inputs(params, lines, augment=False)]
    titles = ["preprocessed"]
    if params.data_augmentation:
        for variant in range(variants):
            columns.append(model_inputs(params, lines, augment=True, seed=seed + variant))
            titles.append(f"augmented ({variant + 1})")
    return render_grid(labels, columns, titles, zoom), titles


def _to_pil(image: np.ndarray, zoom: int) -> Image.Image:
    pixels = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
    pixels = pixels[..., 0] if pixels.shape[2] == 1 else pixels
    picture = Image.fromarray(pixels).convert("RGB")
    return picture.resize((picture.width * zoom, picture.height * zoom), Image.Resampling.NEAREST)


def _font(size: int) -> ImageFont.ImageFont:
    """DejaVu Sans (shipped with matplotlib): it covers historical characters like ſ, ꝛ, ꝑ and ⁊."""
    from matplotlib import font_manager

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)
