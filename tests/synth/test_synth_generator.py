import numpy as np
import pytest

from tests.synth.test_synth_text import ASCII
from tf_crnn.errors import ConfigError
from tf_crnn.params.params import Params
from tf_crnn.synth.generator import LineGenerator, generator_options


@pytest.fixture(scope="module")
def generator() -> LineGenerator:
    return LineGenerator(ASCII, max_words=8, max_chars=50)


def test_a_line_depends_only_on_seed_and_index(generator):
    first = [generator.line(7, i) for i in (0, 1, 2)]
    again = [generator.line(7, i) for i in (2, 1, 0)][::-1]
    for (image_a, units_a), (image_b, units_b) in zip(first, again):
        assert units_a == units_b and np.array_equal(image_a, image_b)
    other = [generator.line(8, i)[1] for i in (0, 1, 2)]
    assert other != [units for _, units in first]
    fresh = LineGenerator(ASCII, max_words=8, max_chars=50)  # a new process or worker renders the same line
    image, units = fresh.line(7, 1)
    assert units == first[1][1] and np.array_equal(image, first[1][0])


def test_labels_are_alphabet_units_and_images_are_lines(generator):
    for index in range(30):
        image, units = generator.line(3, index)
        assert 1 <= len(units) <= 50 and set(units) <= set(ASCII)
        assert image.dtype == np.uint8 and image.ndim == 2 and image.shape[0] >= 4
        assert image.min() < 128 < image.max()


def test_the_synthetic_data_section_validates_and_maps_to_the_generator():
    params = Params(
        max_chars_per_string=30,
        synthetic_data={"n_train": 10, "n_eval": 2, "max_chars": 64, "binarize": 1, "font_sizes": [24, 30]},
    )
    options = generator_options(params.synthetic_data, params.max_label_units)
    assert options["max_chars"] == 30 and options["binarize"] == 1.0 and options["sizes"] == (24, 30)
    assert Params.from_dict(params.to_dict()) == params
    for section, message in [
        ({"binarize": 1.5}, r"synthetic_data.binarize must be a share between 0 and 1, got 1.5"),
        ({"font_sizes": [30, 20]}, r"synthetic_data.font_sizes must be \[smallest, largest\]"),
        ({"on_the_fly": True}, r"on_the_fly needs synthetic_data.n_train > 0"),
        ({"on_the_fly": "yes", "n_train": 5, "n_eval": 1}, r"on_the_fly must be true or false, got 'yes'"),
        ({"builtin_fonts": False}, r"builtin_fonts is false but no synthetic_data.font_dir"),
        ({"max_chars": -1}, r"synthetic_data.max_chars must be a non-negative integer, got -1"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Params(synthetic_data=section)
    with pytest.raises(ConfigError, match="csv_files_train must be empty"):
        Params(csv_files_train=["a.csv"], synthetic_data={"n_train": 5, "n_eval": 1, "on_the_fly": True})
