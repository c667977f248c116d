import shutil

import numpy as np
import pytest

from tests.synth.test_synth_text import ASCII
from tf_crnn.errors import ConfigError
from tf_crnn.synth.fonts import MATPLOTLIB_FONTS, OT1_WRONG, REGULAR, FontLibrary, builtin_families

MISSING = "\U0010fffd"  # a private-use code point no font here has: drawn as the .notdef box


def test_builtin_families_cover_printable_ascii_and_every_claimed_glyph_is_real():
    families = builtin_families()
    names = {f.name for f in families}
    assert {"STIX", "DejaVu Serif", "DejaVu Sans", "Computer Modern", "Pillow Aileron", "Hershey"} <= names
    library = FontLibrary(ASCII)
    for family in families:
        for face in family.faces.values():
            if face.is_hershey:
                continue
            font = face.pil_font(24)
            notdef = bytes(font.getmask(MISSING))
            for unit in ASCII:
                if unit != " " and face.covers(unit):
                    assert bytes(font.getmask(unit)) != notdef, f"{face.name} claims {unit!r} but draws .notdef"
    assert all(len(f.covered) > 80 for f in library.families)


def test_computer_modern_excludes_what_its_ot1_encoding_draws_differently():
    cm = next(f for f in builtin_families() if f.name == "Computer Modern")
    assert not any(cm.face(REGULAR).covers(c) for c in OT1_WRONG)
    assert cm.face(REGULAR).covers("Aa1.,") and not cm.faces["italic"].covers("$")


def test_a_unit_no_font_draws_is_named():
    with pytest.raises(ConfigError, match=r"no font draws the unit\(s\) '\\U0010fffd'"):
        FontLibrary(["a", MISSING])


def test_lines_get_a_family_that_draws_all_their_units():
    library = FontLibrary(ASCII)
    rng = np.random.default_rng(0)
    picked = {library.choose(list("a<b"), rng).name for _ in range(200)}
    assert "Computer Modern" not in picked and "STIX" in picked
    assert library.choose([MISSING], rng) is None


def test_user_font_folder(tmp_path):
    shutil.copy(MATPLOTLIB_FONTS / "DejaVuSansMono.ttf", tmp_path / "Mine.ttf")
    library = FontLibrary(ASCII, font_dir=tmp_path)
    mine = [f for f in library.families if f.name == "Mine"]
    assert len(mine) == 1 and mine[0].weight == pytest.approx(0.5)
    only_mine = FontLibrary(ASCII, font_dir=tmp_path, builtin=False)
    assert [f.name for f in only_mine.families] == ["Mine"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no .ttf or .otf font files found"):
        FontLibrary(ASCII, font_dir=tmp_path / "empty")
    with pytest.raises(ConfigError, match="does not exist"):
        FontLibrary(ASCII, font_dir=tmp_path / "nowhere")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "bad.ttf").write_bytes(b"not a font")
    with pytest.raises(ConfigError, match="bad.ttf: not a readable TrueType/OpenType font"):
        FontLibrary(ASCII, font_dir=tmp_path / "broken")
