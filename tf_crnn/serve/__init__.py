"""The serving stage: ``PredictionModel`` (the predictor behind ``tf_crnn.loader``), CTC decoding and
lexicon decoding, SavedModel export and its model card, ONNX/TFLite conversion, and what
``tf-crnn predict`` and ``tf-crnn evaluate`` read and write."""
