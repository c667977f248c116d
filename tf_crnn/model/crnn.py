"""The CRNN: ConvBlocks, height folded into features, stacked BiLSTMs, Dense to units + blank.

:func:`get_model_inference` builds the functional model ``{images, widths} -> logits`` that is
exported and served; :func:`tf_crnn.model.training.get_model_train` wraps it with the CTC loss.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from tf_crnn.data.features import IMAGES, WIDTHS
from tf_crnn.model.layers import ConvBlock, MaskPaddedColumns, TimeStepMask
from tf_crnn.model.precision import precision_policy, recurrent_policy, resolve_precision
from tf_crnn.params.params import Params

LOGITS = "logits"


def get_crnn_output(input_images, widths, parameters: Params, n_classes: int):
    """Pass images through the CRNN; return float32 logits [B, T, n_classes].

    Layers compute in Keras' global dtype policy (see :func:`precision_policy`), the BiLSTMs as
    :func:`recurrent_policy` says; the last Dense is float32 whatever the policy, so softmax and CTC
    never see 16-bit logits. Built under a strategy with several replicas, BatchNormalization is
    synchronised across them when ``distribution.sync_batch_norm`` is on.
    """
    p = parameters
    x = input_images
    reduction = 1
    sync = p.distribution.sync_batch_norm and tf.distribute.get_strategy().num_replicas_in_sync > 1
    for i, (features, kernel, stride, pool, bn) in enumerate(
        zip(p.cnn_features_list, p.cnn_kernel_size, p.cnn_stride_size, p.cnn_pool_size, p.cnn_batch_norm)
    ):
        x = ConvBlock(features, kernel, stride, p.cnn_padding, pool, bn, sync, name=f"conv_block_{i}")(x)
        reduction *= stride[1] * pool[1]
        x = MaskPaddedColumns(reduction, name=f"mask_padding_{i}")(x, widths)
    x = layers.Permute((2, 1, 3), name="width_first")(x)
    x = layers.Reshape((-1, p.output_height * p.cnn_features_list[-1]), name="fold_height")(x)
    mask = TimeStepMask(p.width_reduction, name="time_step_mask")(widths, x)
    recurrent_dtype = recurrent_policy(keras.mixed_precision.global_policy().name)
    for i, units in enumerate(p.rnn_units):
        if p.rnn_dropout > 0:
            x = layers.Dropout(p.rnn_dropout, name=f"dropout_{i}")(x)
        lstm = layers.LSTM(units, return_sequences=True, name=f"lstm_{i}", dtype=recurrent_dtype)
        x = layers.Bidirectional(lstm, name=f"bilstm_{i}", dtype=recurrent_dtype)(x, mask=mask)
    return layers.Dense(n_classes, name=LOGITS, dtype="float32")(x)


def model_inputs(parameters: Params) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    height = parameters.input_shape[0]
    images = keras.Input((height, None, parameters.input_channels), name=IMAGES)
    widths = keras.Input((), dtype="int32", name=WIDTHS)
    return images, widths


def get_model_inference(parameters: Params, n_classes: int, weights_path: str | None = None) -> keras.Model:
    """Model ``{images, widths} -> logits`` (float32 in and out, computing in ``parameters.precision``);
    optionally loads weights (``.weights.h5``)."""
    with precision_policy(resolve_precision(parameters.precision)):
        images, widths = model_inputs(parameters)
        logits = get_crnn_output(images, widths, parameters, n_classes)
        model = keras.Model({IMAGES: images, WIDTHS: widths}, logits, name="crnn")
    if weights_path:
        model.load_weights(weights_path)
    return model
