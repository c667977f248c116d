"""tf.data input pipeline: decode, normalise, resize, pad and batch line images.

The same graph functions preprocess images in training and inside the exported SavedModel, so a
deployed model sees exactly what it was trained on. Images are inverted (ink high, paper 0) so that
padding with zeros is padding with paper, which is also what the convolutions' zero padding adds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from tf_crnn import geometry
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.augment import augment_data
from tf_crnn.data.checks import PreparedData
from tf_crnn.data.features import CODES, IMAGE, IMAGES, LABEL_LENGTH, LABELS, PATHS, WIDTHS
from tf_crnn.data.formats import tfrecords
from tf_crnn.data.page_images import CONVERTED_HEADS, tensorflow_readable
from tf_crnn.params.params import Params


def _decode_as_float(image_bytes: tf.Tensor, channels: int) -> tf.Tensor:
    image = tf.io.decode_image(image_bytes, channels=channels, expand_animations=False)
    return tf.image.convert_image_dtype(image, tf.float32)


def _is_cmyk_jpeg(image_bytes: tf.Tensor) -> tf.Tensor:
    return tf.cond(
        tf.io.is_jpeg(image_bytes),
        lambda: tf.io.extract_jpeg_shape(image_bytes)[2] == 4,
        lambda: tf.constant(False),
    )


def decode_image(image_bytes: tf.Tensor, channels: int) -> tf.Tensor:
    """Encoded PNG/JPEG/BMP/GIF bytes (8 or 16 bits, palette, alpha, CMYK) -> float32 [H, W, channels]
    in [0, 1], ink high.

    Transparent pixels are laid onto white paper first, so a PNG whose ink is only in its alpha channel
    (its colour all black) reads as ink on paper rather than as a black page. libjpeg cannot turn CMYK
    into grayscale directly, so CMYK JPEGs go through RGB.
    """

    def jpeg() -> tf.Tensor:
        if channels != 1:
            return _decode_as_float(image_bytes, channels)
        return tf.cond(
            _is_cmyk_jpeg(image_bytes),
            lambda: _grayscale(_decode_as_float(image_bytes, 3)),
            lambda: _decode_as_float(image_bytes, 1),
        )

    image = tf.cond(tf.io.is_jpeg(image_bytes), jpeg, lambda: _decode_onto_white(image_bytes, channels))
    image.set_shape([None, None, channels])
    return 1.0 - image


def _grayscale(rgb: tf.Tensor) -> tf.Tensor:
    """Luma of RGB in [0, 1] (ITU-R BT.601, weights summing to 1, so white paper stays exactly white;
    ``tf.image.rgb_to_grayscale``'s weights sum to 0.9999)."""
    return tf.clip_by_value(tf.tensordot(rgb, tf.constant([0.299, 0.587, 0.114]), axes=1)[..., None], 0.0, 1.0)


def _decode_onto_white(image_bytes: tf.Tensor, channels: int) -> tf.Tensor:
    """A PNG, BMP or GIF in its own channels (gray, gray + alpha, RGB, RGBA), alpha laid onto white."""
    image = tf.image.convert_image_dtype(tf.io.decode_image(image_bytes, expand_animations=False), tf.float32)

    def gray(values: tf.Tensor) -> tf.Tensor:
        return values if channels == 1 else tf.tile(values, [1, 1, 3])

    def color(values: tf.Tensor) -> tf.Tensor:
        return _grayscale(values) if channels == 1 else values

    def onto_white(values: tf.Tensor) -> tf.Tensor:
        alpha = values[..., -1:]
        return values[..., :-1] * alpha + (1.0 - alpha)

    return tf.switch_case(
        tf.shape(image)[-1] - 1,
        [
            lambda: gray(image[..., :1]),
            lambda: gray(onto_white(image[..., :2])),
            lambda: color(image[..., :3]),
            lambda: color(onto_white(image[..., :4])),
        ],
    )


def get_resized_width(image: tf.Tensor, target_height: int, max_width: int) -> tf.Tensor:
    """Width after resizing ``image`` to ``target_height`` keeping its aspect ratio, capped at max_width."""
    shape = tf.shape(image)
    return geometry.resized_width_tensor(shape[1], shape[0], target_height, max_width)


def resize_to_height(image: tf.Tensor, target_height: int, max_width: int) -> tf.Tensor:
    """Resize to the target height keeping the aspect ratio; shrink lines wider than max_width."""
    width = get_resized_width(image, target_height, max_width)
    resized = tf.image.resize(image, tf.stack([target_height, width]), method="bilinear", antialias=True)
    return tf.clip_by_value(resized, 0.0, 1.0)


def padding_inputs_width(image: tf.Tensor, increment: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Pad the width (with paper) up to a multiple of ``increment``; return (image, true width)."""
    width = tf.shape(image)[1]
    padded = geometry.time_steps(width, increment) * increment
    image = tf.pad(image, [[0, 0], [0, padded - width], [0, 0]])
    return image, width


def preprocess_image(image: tf.Tensor, params: Params) -> tuple[tf.Tensor, tf.Tensor]:
    """Decoded image -> (model-ready image [H, W', C], true width before padding)."""
    height, max_width = params.input_shape
    image = resize_to_height(image, height, max_width)
    image.set_shape([height, None, params.input_channels])
    return padding_inputs_width(image, params.width_reduction)


ENCODED = "encoded"
#: Serialized records a TFRecord stream shuffles at a time (each holds an encoded line image, a few kB).
SHUFFLE_BUFFER = 4096
#: TFRecord shards read at once, their records interleaved.
INTERLEAVED_SHARDS = 8


def _row_tensors(data: PreparedData, use_labels: bool) -> dict[str, tf.Tensor]:
    """The paths (and codes, as one flat ragged tensor) of all rows: a few bytes per row.

    Built from flat numpy arrays, not ``tf.ragged.constant`` of Python lists (which took seconds and
    hundreds of MB per 100,000 rows).
    """
    tensors = {PATHS: tf.constant(np.array(data.paths, dtype=object), dtype=tf.string)}
    if data.rows and data.rows[0].image is not None:  # rows read from TFRecord shards hold their images
        tensors[ENCODED] = tf.constant(np.array([row.image for row in data.rows], dtype=object), dtype=tf.string)
    if use_labels:
        lengths = np.fromiter((len(c) for c in data.codes), np.int64, len(data.codes))
        flat = np.fromiter(itertools.chain.from_iterable(data.codes), np.int32, int(lengths.sum()))
        tensors[CODES] = tf.RaggedTensor.from_row_lengths(flat, lengths)
    return tensors


def row_order(n_rows: int, shuffle: bool, seed: int) -> tf.data.Dataset:
    """Row indices of one pass: ``0..n-1``, or a permutation drawn anew (reproducibly from ``seed``) on
    every iteration of the dataset, i.e. every epoch.

    A permutation costs 4 bytes per row, where ``Dataset.shuffle`` over the whole set kept every
    element (path string and codes tensors) in its buffer, about a hundred bytes per row.
    """
    if not shuffle:
        return tf.data.Dataset.range(n_rows)
    indices = tf.range(n_rows, dtype=tf.int64)
    draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    return draws.flat_map(
        lambda draw: tf.data.Dataset.from_tensor_slices(
            tf.random.experimental.stateless_shuffle(indices, seed=tf.stack([draw, tf.constant(seed, tf.int64)]))
        )
    )


def decoded_lines(
    data: PreparedData, params: Params, use_labels: bool = True, shuffle: bool = True, seed: int = 0
) -> tf.data.Dataset:
    """The line source of a set of checked rows: ``{path, image[, codes]}`` elements.

    ``image`` is decoded (float32 [H, W, C], ink high) at its original size. Shuffling draws a new
    order every pass, reproducibly from ``seed``. Other sources (TFRecord shards, lines rendered on
    the fly) yield the same elements and go through :func:`lines_to_batches` the same way.
    Memory grows by a few bytes per row only (paths, codes, one permutation); images are read lazily.
    """
    rows = _row_tensors(data, use_labels)
    channels = params.input_channels

    def load(index: tf.Tensor) -> dict[str, tf.Tensor]:
        element = {name: values[index] for name, values in rows.items()}
        encoded = element.pop(ENCODED) if ENCODED in element else readable_file(element[PATHS])
        return {**element, IMAGE: decode_image(encoded, channels)}

    return row_order(len(data), shuffle, seed).map(load, num_parallel_calls=tf.data.AUTOTUNE)


def readable_file(path: tf.Tensor) -> tf.Tensor:
    """The bytes of an image file, TIFF and JPEG 2000 turned into PNG (which tf.io.decode_image reads).

    Pillow converts them outside the graph (``tf.py_function``): the training input reads TIFF
    lines, while exports keep a graph of TensorFlow ops only (the predictor converts TIFF itself).
    """
    data = tf.io.read_file(path)
    head = tf.strings.substr(data, 0, 4)
    convert = tf.reduce_any(tf.equal(head, tf.constant(list(CONVERTED_HEADS))))
    return tf.cond(
        convert,
        lambda: tf.reshape(tf.py_function(_readable, [data], tf.string), []),
        lambda: data,
    )


def _readable(data: tf.Tensor) -> bytes:
    return tensorflow_readable(data.numpy())


def read_records(files: tf.data.Dataset, shuffle: bool = True, seed: int = 0) -> tf.data.Dataset:
    """Serialized records of a dataset of TFRecord file names: the files in a new order every pass
    (when shuffling), ``INTERLEAVED_SHARDS`` of them read at once."""
    if shuffle:
        files = files.shuffle(1 << 16, seed=seed, reshuffle_each_iteration=True)
    if not shuffle:
        return files.interleave(tf.data.TFRecordDataset, cycle_length=1)
    return files.interleave(
        tf.data.TFRecordDataset,
        cycle_length=INTERLEAVED_SHARDS,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )


def record_lines(
    records: tf.data.Dataset,
    params: Params,
    alphabet: Alphabet,
    shuffle: bool = True,
    seed: int = 0,
    drop_unknown: bool = False,
) -> tf.data.Dataset:
    """The line source of a stream of TFRecord records: the elements of :func:`decoded_lines`.

    Lines that :func:`tf_crnn.data.checks.prepare_streamed` counted as unusable for CTC (label
    longer than ``max_chars_per_string``, too few time steps) are skipped here, from the recorded
    image size, before any image is decoded; so are lines with units the alphabet lacks when
    ``drop_unknown`` (otherwise their units map to code -1 and the check before training has
    refused the data already). Only ``SHUFFLE_BUFFER`` records are held in memory.
    """
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(alphabet.alphabet_units, tf.string), tf.constant(alphabet.codes, tf.int32)
        ),
        default_value=-1,
    )
    spec = tfrecords.feature_spec()

    def parse(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        record = tf.io.parse_single_example(serialized, spec)
        codes = table.lookup(record[tfrecords.UNITS].values)
        width = geometry.resized_width_tensor(record[tfrecords.WIDTH], record[tfrecords.HEIGHT], *params.input_shape)
        steps = geometry.time_steps(width, params.width_reduction)
        needed = geometry.needed_time_steps_tensor(codes)
        usable = tf.logical_and(tf.size(codes) <= params.max_label_units, steps >= needed)
        if drop_unknown:
            usable = tf.logical_and(usable, tf.reduce_all(codes > 0))
        return {PATHS: record[tfrecords.PATH], CODES: codes, ENCODED: record[tfrecords.IMAGE], "usable": usable}

    def decode(element: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        return {
            PATHS: element[PATHS],
            CODES: element[CODES],
            IMAGE: decode_image(element[ENCODED], params.input_channels),
        }

    if shuffle:
        records = records.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    lines = records.map(parse, num_parallel_calls=tf.data.AUTOTUNE).filter(lambda element: element["usable"])
    return lines.map(decode, num_parallel_calls=tf.data.AUTOTUNE)


def augment_and_preprocess(
    image: tf.Tensor, params: Params, augment_seed: tf.Tensor | None = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """Decoded line -> (model-ready image, true width), augmented when a seed is given.

    Augmentation works on the line resized to the model height, so its pixel strengths mean the
    same for every scan resolution; a line it widens beyond ``input_shape[1]`` is squeezed back.
    """
    if augment_seed is None:
        return preprocess_image(image, params)
    height, max_width = params.input_shape
    image = resize_to_height(image, height, max_width)
    image = augment_data(
        image,
        augment_seed,
        max_rotation=params.data_augmentation_max_rotation,
        max_slant=params.data_augmentation_max_slant,
        settings=params.augmentation,
    )
    image = tf.cond(
        tf.shape(image)[1] > max_width,
        lambda: tf.clip_by_value(tf.image.resize(image, [height, max_width], antialias=True), 0.0, 1.0),
        lambda: image,
    )
    image.set_shape([height, None, params.input_channels])
    return padding_inputs_width(image, params.width_reduction)


def lines_to_batches(
    lines: tf.data.Dataset,
    params: Params,
    use_labels: bool = True,
    batch_size: int = 64,
    data_augmentation: bool = False,
    num_epochs: int | None = 1,
    seed: int = 0,
    bucket_by_width: bool = False,
    include_paths: bool = False,
    bucket_boundaries: Sequence[int] | None = None,
    pad_to_bucket_boundary: bool = False,
) -> tf.data.Dataset:
    """Augment (if asked), resize, pad and batch the elements of a line source.

    Augmentation draws new values every pass, reproducibly from ``seed``. Each batch is padded to
    its own widest line; ``widths`` keeps every line's true width so the CTC loss reads only real
    time steps. ``bucket_by_width`` batches lines of similar widths together (training), so little
    compute is spent on padding: ``bucket_boundaries`` are the buckets' upper widths (see
    :func:`width_bucket_boundaries`; equal steps up to the maximal width when not given). Batches
    then keep the order of arrival in each bucket, which is why evaluation (which must keep row
    order) does not use it; with a finite number of epochs every line still appears once per epoch.
    ``pad_to_bucket_boundary`` pads each batch to its bucket's upper width instead, so XLA sees a
    few shapes only. ``include_paths`` adds each line's image path (``path``), so a skipped batch
    can name its lines.
    """
    if data_augmentation:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        lines = tf.data.Dataset.zip(lines, seeds)
    else:
        lines = lines.map(lambda element: (element, tf.zeros([2], tf.int64)))

    def prepare(element: dict[str, tf.Tensor], augment_seed: tf.Tensor) -> dict[str, tf.Tensor]:
        image, width = augment_and_preprocess(element[IMAGE], params, augment_seed if data_augmentation else None)
        features = {IMAGES: image, WIDTHS: width}
        if use_labels:
            features[LABELS] = element[CODES]
            features[LABEL_LENGTH] = tf.shape(element[CODES])[0]
        if include_paths:
            features[PATHS] = element[PATHS]
        return features

    dataset = lines.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    if num_epochs is None:
        dataset = dataset.repeat()
    elif num_epochs > 1:
        dataset = dataset.repeat(num_epochs)
    channels = params.input_channels
    padded_shapes = {IMAGES: [params.input_shape[0], None, channels], WIDTHS: []}
    if use_labels:
        padded_shapes.update({LABELS: [None], LABEL_LENGTH: []})
    if include_paths:
        padded_shapes[PATHS] = []
    if bucket_by_width or pad_to_bucket_boundary:
        boundaries = list(bucket_boundaries) if bucket_boundaries is not None else width_bucket_boundaries(params)
    if bucket_by_width:
        dataset = dataset.bucket_by_sequence_length(
            lambda features: features[WIDTHS],
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            padded_shapes=padded_shapes,
        )
    else:
        dataset = dataset.padded_batch(batch_size, padded_shapes=padded_shapes)
    if pad_to_bucket_boundary:
        dataset = dataset.map(_padder_to_boundaries(boundaries, params))
    return dataset.prefetch(tf.data.AUTOTUNE)


def _padder_to_boundaries(boundaries: Sequence[int], params: Params):
    """Map function padding a batch's images to the smallest boundary (or the maximal width) it fits."""
    reduction = params.width_reduction
    top = geometry.time_steps(params.input_shape[1], reduction) * reduction
    multiples = {geometry.time_steps(b, reduction) * reduction for b in boundaries}
    targets = tf.constant(sorted(multiples | {top}), tf.int32)

    def pad(features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        width = tf.shape(features[IMAGES])[2]
        target = tf.reduce_min(tf.boolean_mask(targets, targets >= width))
        return {**features, IMAGES: tf.pad(features[IMAGES], [[0, 0], [0, 0], [0, target - width], [0, 0]])}

    return pad


def dataset_generator(
    data: PreparedData,
    params: Params,
    use_labels: bool = True,
    batch_size: int = 64,
    data_augmentation: bool = False,
    num_epochs: int | None = 1,
    shuffle: bool = True,
    seed: int = 0,
    bucket_by_width: bool = False,
    include_paths: bool = False,
    pad_to_bucket_boundary: bool = False,
) -> tf.data.Dataset:
    """Batched dataset of ``{images, widths[, labels, label_length]}`` dicts from checked rows.

    :func:`decoded_lines` followed by :func:`lines_to_batches` (see both for the options); width
    buckets follow the rows' widths (:func:`width_bucket_boundaries`).
    """
    lines = decoded_lines(data, params, use_labels=use_labels, shuffle=shuffle, seed=seed)
    return lines_to_batches(
        lines,
        params,
        use_labels=use_labels,
        batch_size=batch_size,
        data_augmentation=data_augmentation,
        num_epochs=num_epochs,
        seed=seed,
        bucket_by_width=bucket_by_width,
        include_paths=include_paths,
        bucket_boundaries=width_bucket_boundaries(params, data.widths),
        pad_to_bucket_boundary=pad_to_bucket_boundary,
    )


def width_bucket_boundaries(
    params: Params, widths: Sequence[int] | None = None, n_buckets: int | None = None
) -> list[int]:
    """Upper widths of the width buckets, multiples of the width reduction.

    With the data's (resized) ``widths``, the boundaries are their quantiles, so every bucket holds
    about as many lines and a batch spans a narrow range of widths whatever the width distribution
    (docs/speed.md: bucketing cuts the padding of the early printed books tenfold).
    Without, equal steps up to the maximal width. ``n_buckets`` defaults to ``params.n_width_buckets``.
    """
    n_buckets = n_buckets or params.n_width_buckets
    reduction = params.width_reduction
    max_width = params.input_shape[1]
    if widths is not None and len(widths):
        quantiles = np.quantile(np.asarray(widths, np.float64), np.arange(1, n_buckets) / n_buckets)
        rounded = {geometry.time_steps(math.ceil(q), reduction) * reduction for q in quantiles}
        return sorted(b for b in rounded if 0 < b < max_width)
    step = max(reduction, max_width // n_buckets)
    step = geometry.time_steps(step, reduction) * reduction
    return list(range(step, max_width, step))


def images_from_bytes(image_bytes: tf.Tensor, params: Params) -> tuple[tf.Tensor, tf.Tensor]:
    """Batch of encoded images -> (padded batch [B, H, W, C], widths [B]); used by the export."""
    channels = params.input_channels
    height = params.input_shape[0]

    def one(encoded: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image, width = preprocess_image(decode_image(encoded, channels), params)
        return tf.transpose(image, [1, 0, 2]), width

    spec = tf.RaggedTensorSpec(shape=[None, height, channels], dtype=tf.float32, ragged_rank=0)
    columns, widths = tf.map_fn(one, image_bytes, fn_output_signature=(spec, tf.int32))
    images = tf.transpose(columns.to_tensor(default_value=0.0), [0, 2, 1, 3])
    return images, widths
