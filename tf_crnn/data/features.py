"""Names of the tensors the pipeline hands on: the contract between data sources, batches and the model.

A line source (files, TFRecord shards, synthetic lines rendered on the fly) yields elements
``{PATHS, IMAGE, CODES}`` (one line, decoded at its original size); batches are
``{IMAGES, WIDTHS, LABELS, LABEL_LENGTH[, PATHS]}``, which the model's inputs are named after.
"""

IMAGES = "images"
WIDTHS = "widths"
LABELS = "labels"
LABEL_LENGTH = "label_length"
PATHS = "path"
IMAGE = "image"
CODES = "codes"
