"""Labelled line data by format, read (and written) as :class:`~tf_crnn.data.rows.LabelledRow`.

* :mod:`~tf_crnn.data.formats.csv_rows`: the tf-crnn CSV, ``path;|u|n|i|t|s|``;
* :mod:`~tf_crnn.data.formats.tsv_rows`: ``path<TAB>text`` lists;
* :mod:`~tf_crnn.data.formats.gt_folder`: line images with ``.gt.txt`` transcriptions beside them;
* :mod:`~tf_crnn.data.formats.tfrecords`: sharded TFRecord files with their index;
* :mod:`~tf_crnn.data.formats.sources`: which reader a path needs (:func:`read_rows`), glob patterns.

A new input format is a module here plus a line in ``sources``.
"""
