import numpy as np
import pytest

from tests.synth.test_synth_text import ASCII
from tf_crnn.synth.degrade import Degradation, binarize, degrade, sauvola
from tf_crnn.synth.fonts import FontLibrary
from tf_crnn.synth.render import LineRenderer, _glyphs, _words

CLEAN = Degradation(
    binarize=0.0, rotate=0, skew=0, curve=0, bleed=0, morph=0, clip=0, neighbours=0, specks=0, texture=0, blur=0,
    noise=0, resolution=0, jpeg=0,
)  # fmt: skip


@pytest.fixture(scope="module")
def library() -> FontLibrary:
    return FontLibrary(ASCII)


def test_rendered_width_grows_with_the_text_in_every_family(library):
    renderer = LineRenderer(library, CLEAN)
    for family in library.families:
        short = renderer.render(list("Word"), family, np.random.default_rng(5))
        long = renderer.render(list(("Word " * 5)[:24]), family, np.random.default_rng(5))
        assert long.shape[1] > 3 * short.shape[1], family.name


def test_lines_are_never_blank_and_ink_is_dark_on_light_paper(library):
    renderer = LineRenderer(library)
    rng = np.random.default_rng(1)
    for i in range(40):
        family = library.families[i % len(library.families)]
        image = renderer.render(list("Ink 42"), family, rng)
        assert image.dtype == np.uint8 and image.ndim == 2
        assert image.shape[1] > image.shape[0] >= 4
        dark = np.mean(image < 128)
        assert 0.01 < dark < 0.6, (family.name, dark)


def test_binarised_share(library):
    family = library.families[0]
    always = LineRenderer(library, Degradation(binarize=1.0))
    never = LineRenderer(library, Degradation(binarize=0.0, jpeg=0.0))
    rng = np.random.default_rng(2)
    for _ in range(10):
        assert set(np.unique(always.render(list("binary"), family, rng))) <= {0, 255}
    assert any(len(np.unique(never.render(list("gray"), family, rng))) > 2 for _ in range(5))


def test_thresholds_make_black_and_white_with_the_ink_kept():
    gray = np.full((40, 200), 220, np.float32)
    gray[10:30, 20:180:10] = 40  # strokes
    gray += np.random.default_rng(0).normal(0, 8, gray.shape).astype(np.float32)
    assert np.all(sauvola(gray, 31, 0.2)[10:30, 20] > gray[10:30, 20])  # strokes fall below the threshold
    for seed in range(6):
        out = binarize(gray, np.random.default_rng(seed))
        assert set(np.unique(out)) <= {0, 255}
        assert np.mean(out[10:30, 20:180:10] == 0) > 0.9 and np.mean(out[:8] == 255) > 0.9


def test_degradations_keep_an_ink_map_a_usable_line():
    ink = np.zeros((60, 300), np.float32)
    ink[20:40, 20:280] = 1.0
    for seed in range(20):
        image = degrade(ink, (15, 45), 30, np.random.default_rng(seed), Degradation())
        assert image.dtype == np.uint8 and image.shape[0] >= 4 and image.shape[1] > image.shape[0]
        assert image.min() < 128 < image.max()


def test_typographic_glyphs_are_drawn_only_where_the_face_has_them(library):
    stix = next(f for f in library.families if f.name == "STIX").face("regular")
    hershey = next(f for f in library.families if f.name == "Hershey").face("regular")
    layout = LineRenderer(library).layout(library.families[0], 1, np.random.default_rng(0))
    fancy = type(layout)(**{**layout.__dict__, "quotes": True, "ligatures": True})
    assert _glyphs("``office''", stix, fancy) == "\u201co\ufb03ce\u201d"
    assert _glyphs("``office''", hershey, fancy) == "``office''"
    assert _words(list("ab  c")) == ["ab", "", "c"]
