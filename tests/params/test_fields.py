"""Declared fields: one validator, one message style, and a reference page generated from the same place."""

from dataclasses import dataclass

import pytest

from tests.conftest import REPO
from tf_crnn.errors import ConfigError
from tf_crnn.params.fields import (
    Boolean,
    Choice,
    Integer,
    Integers,
    Number,
    Pairs,
    Strings,
    build,
    setting,
    validate,
)
from tf_crnn.params.reference import markdown


@dataclass
class Example:
    count: int = setting(1, Integer(1), "how many")
    share: float = setting(0.5, Number(0.0, 1.0, exclusive_maximum=True), "a share")
    rate: float = setting(1.0, Number(0.0, exclusive_minimum=True), "a rate")
    mode: str = setting("a", Choice(("a", "b"), "a: the usual"), "a mode")
    flag: bool = setting(False, Boolean(), "a flag")
    sizes: list[int] = setting([3], Integers(), "sizes")
    pools: list[tuple[int, int]] = setting([(2, 2)], Pairs(), "pools")
    files: list[str] = setting([], Strings(), "files")

    def __post_init__(self) -> None:
        validate(self, "example.")


@pytest.mark.parametrize(
    "values, message",
    [
        ({"count": 0}, "example.count must be a positive integer, got 0"),
        ({"count": True}, "example.count must be a positive integer, got True"),
        ({"share": 1.0}, r"example.share must be in \[0, 1\), got 1.0"),
        ({"share": "x"}, "example.share must be a number, got 'x'"),
        ({"share": float("nan")}, "example.share must be a number, got nan"),
        ({"rate": 0}, "example.rate must be positive, got 0"),
        ({"mode": "c"}, r"example.mode must be one of a, b \(a: the usual\), got 'c'"),
        ({"flag": "yes"}, "example.flag must be true or false, got 'yes'"),
        ({"sizes": []}, "example.sizes must be a non-empty list of positive integers"),
        ({"sizes": [3, -1]}, r"example.sizes\[1\] must be a positive integer, got -1"),
        ({"pools": [[2, 2, 2]]}, r"example.pools\[0\] must be a \[height, width\] pair"),
        ({"files": [1]}, "example.files must be a path or a list of paths"),
        ({"cuont": 2}, r"'example.cuont' \(did you mean 'example.count'\?\)"),
    ],
)
def test_every_kind_says_field_value_and_what_is_allowed(values, message):
    with pytest.raises(ConfigError, match=message):
        build(Example, values, "example.")


def test_values_are_normalised_as_the_code_uses_them():
    example = build(Example, {"share": 0, "sizes": 4, "pools": [3, [1, 2]], "files": "a.csv"})
    assert example.share == 0.0 and isinstance(example.share, float)
    assert example.sizes == [4] and example.pools == [(3, 3), (1, 2)] and example.files == ["a.csv"]
    assert build(Example, {"files": ""}).files == []
    assert Example().sizes is not Example().sizes  # a fresh default list per instance


def test_the_configuration_reference_is_current():
    """docs/configuration.md is generated: run `python docs/make_reference.py` after changing a field."""
    assert (REPO / "docs" / "configuration.md").read_text(encoding="utf-8") == markdown()


def test_the_reference_documents_every_field_of_every_section():
    text = markdown()
    for name in ("input_shape", "max_training_minutes", "text.units", "synthetic_data.font_sizes",
                 "augmentation.contrast", "distribution.lr_scaling", "warm_start.freeze_cnn_steps"):  # fmt: skip
        assert f"| `{name}` |" in text
