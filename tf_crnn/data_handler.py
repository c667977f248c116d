"""The original tf-crnn's ``tf_crnn.data_handler``: the input pipeline under the names its users know.

The pipeline lives in :mod:`tf_crnn.data.pipeline`, augmentation in :mod:`tf_crnn.data.augment`.
"""

from tf_crnn.data.augment import augment_data, random_rotation
from tf_crnn.data.pipeline import dataset_generator, get_resized_width, padding_inputs_width
from tf_crnn.geometry import time_steps

__all__ = [
    "augment_data",
    "dataset_generator",
    "get_resized_width",
    "padding_inputs_width",
    "random_rotation",
    "time_steps",
]
