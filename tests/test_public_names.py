"""The names users of the original tf-crnn import keep working, as the same objects as their new homes."""

import importlib

import pytest

PROMISED = {
    "tf_crnn.config": [
        "Params", "Alphabet", "import_params_from_json", "SyntheticData", "Augmentation", "Distribution", "WarmStart",
        "TextOptions",
    ],
    "tf_crnn.loader": ["PredictionModel", "Predictions", "LinePrediction", "CharPrediction", "find_export"],
    "tf_crnn.model": ["ConvBlock", "get_model_train", "get_model_inference", "get_crnn_output"],
    "tf_crnn.data_handler": [
        "dataset_generator", "padding_inputs_width", "augment_data", "random_rotation", "get_resized_width",
    ],
    "tf_crnn.preprocessing": ["data_preprocessing", "preprocess_csv"],
    "tf_crnn.callbacks": ["CustomSavingCallback", "CustomLoaderCallback", "CustomPredictionSaverCallback",
                          "LRTensorBoard"],
}  # fmt: skip
ALPHABET_METHODS = [
    "create_lookup_from_labels", "load_lookup_from_json", "make_json_lookup_alphabet", "map_lookup",
    "check_input_file_alphabet",
]  # fmt: skip


@pytest.mark.parametrize("module, names", PROMISED.items())
def test_the_original_import_paths_still_work(module, names):
    imported = importlib.import_module(module)
    for name in names:
        assert hasattr(imported, name), f"{module}.{name}"


def test_they_are_the_objects_of_the_new_homes():
    from tf_crnn import config, loader
    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.params.params import Params
    from tf_crnn.serve.predictor import PredictionModel

    assert config.Params is Params and config.Alphabet is Alphabet and loader.PredictionModel is PredictionModel
    assert all(callable(getattr(Alphabet, method)) for method in ALPHABET_METHODS)


def test_training_py_still_offers_the_sacred_experiment():
    from sacred import Experiment

    from training import ex

    assert isinstance(ex, Experiment)
