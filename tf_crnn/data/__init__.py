"""The data stage: labelled lines in every format, the alphabet, the checks before training, the
tf.data pipeline (decoding, resizing, augmentation, padding, batching) and the TFRecord converter."""
