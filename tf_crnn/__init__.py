"""tf-crnn: train and serve CRNN text-line recognizers (CNN + BiLSTM + CTC) with TensorFlow/Keras."""

__version__ = "0.1.0"
