"""The original tf-crnn's ``tf_crnn.config``: the configuration and the alphabet, under the names its users know.

The configuration lives in :mod:`tf_crnn.params`, the alphabet in :mod:`tf_crnn.data.alphabet`.
"""

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.text import TextOptions
from tf_crnn.errors import AlphabetError, ConfigError, DataError
from tf_crnn.layout import ALPHABET_FILENAME, PARAMS_FILENAME
from tf_crnn.params.params import Params, import_params_from_json
from tf_crnn.params.sections import Augmentation, Distribution, SyntheticData, WarmStart

__all__ = [
    "ALPHABET_FILENAME",
    "PARAMS_FILENAME",
    "Alphabet",
    "AlphabetError",
    "Augmentation",
    "ConfigError",
    "DataError",
    "Distribution",
    "Params",
    "SyntheticData",
    "TextOptions",
    "WarmStart",
    "import_params_from_json",
]
