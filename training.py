"""Train a CRNN under sacred: ``python training.py with config.json [field=value ...]`` (= ``tf-crnn train``)."""

from tf_crnn.experiment import ex, main  # noqa: F401  (``from training import ex`` keeps working)

if __name__ == "__main__":
    main()
