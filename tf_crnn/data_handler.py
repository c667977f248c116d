"""tf.data input pipeline: decode, normalise, resize, pad and batch line images.

The same graph functions preprocess images in training and inside the exported SavedModel, so a
deployed model sees exactly what it was trained on. Images are inverted (ink high, paper 0) so that
padding with zeros is padding with paper, which is also what the convolutions' zero padding adds.
"""

from __future__ import annotations

import tensorflow as tf

from tf_crnn.augment import augment_data
from tf_crnn.config import Params
from tf_crnn.preprocessing import PreparedData

IMAGES = "images"
WIDTHS = "widths"
LABELS = "labels"
LABEL_LENGTH = "label_length"
PATHS = "path"


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

    libjpeg cannot turn CMYK into grayscale directly, so CMYK JPEGs go through RGB.
    """
    if channels == 1:
        image = tf.cond(
            _is_cmyk_jpeg(image_bytes),
            lambda: tf.image.rgb_to_grayscale(_decode_as_float(image_bytes, 3)),
            lambda: _decode_as_float(image_bytes, 1),
        )
    else:
        image = _decode_as_float(image_bytes, channels)
    image.set_shape([None, None, channels])
    return 1.0 - image


def get_resized_width(image: tf.Tensor, target_height: int, max_width: int) -> tf.Tensor:
    """Width after resizing ``image`` to ``target_height`` keeping its aspect ratio, capped at max_width."""
    shape = tf.shape(image)
    height = tf.cast(shape[0], tf.float32)
    width = tf.cast(shape[1], tf.float32)
    resized = tf.cast(tf.round(width * target_height / height), tf.int32)
    return tf.clip_by_value(resized, 1, max_width)


def resize_to_height(image: tf.Tensor, target_height: int, max_width: int) -> tf.Tensor:
    """Resize to the target height keeping the aspect ratio; shrink lines wider than max_width."""
    width = get_resized_width(image, target_height, max_width)
    resized = tf.image.resize(image, tf.stack([target_height, width]), method="bilinear", antialias=True)
    return tf.clip_by_value(resized, 0.0, 1.0)


def padding_inputs_width(image: tf.Tensor, increment: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Pad the width (with paper) up to a multiple of ``increment``; return (image, true width)."""
    width = tf.shape(image)[1]
    padded = (width + increment - 1) // increment * increment
    image = tf.pad(image, [[0, 0], [0, padded - width], [0, 0]])
    return image, width


def preprocess_image(image: tf.Tensor, params: Params) -> tuple[tf.Tensor, tf.Tensor]:
    """Decoded image -> (model-ready image [H, W', C], true width before padding)."""
    height, max_width = params.input_shape
    image = resize_to_height(image, height, max_width)
    image.set_shape([height, None, params.input_channels])
    return padding_inputs_width(image, params.width_reduction)


def time_steps(widths: tf.Tensor, width_reduction: int) -> tf.Tensor:
    """Number of CTC time steps that cover a line of the given (unpadded) width."""
    widths = tf.cast(widths, tf.int32)
    return (widths + width_reduction - 1) // width_reduction


IMAGE = "image"
CODES = "codes"


def decoded_lines(
    data: PreparedData, params: Params, use_labels: bool = True, shuffle: bool = True, seed: int = 0
) -> tf.data.Dataset:
    """The line source of a set of checked rows: ``{path, image[, codes]}`` elements.

    ``image`` is decoded (float32 [H, W, C], ink high) at its original size. Shuffling draws a new
    order every pass, reproducibly from ``seed``. Other sources (TFRecord shards, lines rendered on
    the fly) yield the same elements and go through :func:`lines_to_batches` the same way.
    """
    elements = {PATHS: tf.constant(list(data.paths), dtype=tf.string)}
    if use_labels:
        elements[CODES] = tf.ragged.constant([list(c) for c in data.codes], dtype=tf.int32, ragged_rank=1)
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle:
        dataset = dataset.shuffle(len(data.paths), seed=seed, reshuffle_each_iteration=True)
    channels = params.input_channels

    def load(element: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        return {**element, IMAGE: decode_image(tf.io.read_file(element[PATHS]), channels)}

    return dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)


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
) -> tf.data.Dataset:
    """Augment (if asked), resize, pad and batch the elements of a line source.

    Augmentation draws new values every pass, reproducibly from ``seed``. Each batch is padded to
    its own widest line; ``widths`` keeps every line's true width so the CTC loss reads only real
    time steps. ``bucket_by_width`` batches lines of similar widths together (training), so little
    compute is spent on padding; batches then keep the order of arrival in each bucket, which is
    why evaluation (which must keep row order) does not use it. ``include_paths`` adds each line's
    image path (``path``), so a skipped batch can name its lines.
    """
    if data_augmentation:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        lines = tf.data.Dataset.zip(lines, seeds)
    else:
        lines = lines.map(lambda element: (element, tf.zeros([2], tf.int64)))

    def prepare(element: dict[str, tf.Tensor], augment_seed: tf.Tensor) -> dict[str, tf.Tensor]:
        image = element[IMAGE]
        if data_augmentation:
            image = augment_data(
                image,
                augment_seed,
                max_rotation=params.data_augmentation_max_rotation,
                max_slant=params.data_augmentation_max_slant,
            )
        image, width = preprocess_image(image, params)
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
    if bucket_by_width:
        boundaries = width_bucket_boundaries(params)
        dataset = dataset.bucket_by_sequence_length(
            lambda features: features[WIDTHS],
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            padded_shapes=padded_shapes,
        )
    else:
        dataset = dataset.padded_batch(batch_size, padded_shapes=padded_shapes)
    return dataset.prefetch(tf.data.AUTOTUNE)


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
) -> tf.data.Dataset:
    """Batched dataset of ``{images, widths[, labels, label_length]}`` dicts from checked rows.

    :func:`decoded_lines` followed by :func:`lines_to_batches` (see both for the options).
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
    )


def width_bucket_boundaries(params: Params, n_buckets: int = 8) -> list[int]:
    """Upper widths of the buckets: equal steps up to the maximal width, multiples of the reduction."""
    step = max(params.width_reduction, params.input_shape[1] // n_buckets)
    step = (step + params.width_reduction - 1) // params.width_reduction * params.width_reduction
    return list(range(step, params.input_shape[1], step))


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
