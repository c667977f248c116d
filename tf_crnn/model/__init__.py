"""The model stage: the CRNN and its layers, the CTC loss, the training step and the precision policy.

``tf_crnn.model.ConvBlock``, ``get_crnn_output``, ``get_model_inference`` and ``get_model_train`` keep
the original tf-crnn's import paths.
"""

from tf_crnn.model.crnn import LOGITS, get_crnn_output, get_model_inference
from tf_crnn.model.layers import ConvBlock
from tf_crnn.model.training import get_model_train

__all__ = ["LOGITS", "ConvBlock", "get_crnn_output", "get_model_inference", "get_model_train"]
