"""The original tf-crnn's ``tf_crnn.loader``: ``PredictionModel`` runs an export without the training code.

It lives in :mod:`tf_crnn.serve.predictor`; what it returns in :mod:`tf_crnn.serve.predictions`.
"""

from tf_crnn.serve.predictions import CharPrediction, LinePrediction, Predictions
from tf_crnn.serve.predictor import PredictionModel, find_export

__all__ = ["CharPrediction", "LinePrediction", "PredictionModel", "Predictions", "find_export"]
