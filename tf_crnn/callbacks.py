"""The original tf-crnn's ``tf_crnn.callbacks``: the training callbacks under the names its users know.

They live in :mod:`tf_crnn.train.callbacks`.
"""

from tf_crnn.train.callbacks import (
    CustomLoaderCallback,
    CustomPredictionSaverCallback,
    CustomSavingCallback,
    LRTensorBoard,
)

__all__ = ["CustomLoaderCallback", "CustomPredictionSaverCallback", "CustomSavingCallback", "LRTensorBoard"]
