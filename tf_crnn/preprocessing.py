"""The original tf-crnn's ``tf_crnn.preprocessing``: the checks of the training and evaluation rows.

They live in :mod:`tf_crnn.data.checks`.
"""

from tf_crnn.data.checks import data_preprocessing, preprocess_csv

__all__ = ["data_preprocessing", "preprocess_csv"]
