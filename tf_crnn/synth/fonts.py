"""Fonts available offline, grouped in families, and which units each one really draws.

Built in (nothing to download): matplotlib's DejaVu Sans/Serif/Sans Mono (regular, bold, oblique
or italic), STIX General (a Times-like face: the closest to most printed English scans) and the
Computer Modern text faces, Pillow's built-in scalable font (Aileron) and OpenCV's Hershey
stroke fonts. A folder of the user's own .ttf/.otf files adds one family per file directly in it,
and one family per subfolder (its files are the family's styles, read from each font's own flags;
a ``family.json`` there may list ``wrong_chars``: ``models/fonts.py`` installs the fonts of the
shipped models so). The user's fonts are drawn with
text shaping (HarfBuzz through Pillow's raqm layout), so their ligatures (Fraktur's ch, ck, tz, ſt)
and the positions of combining marks are the font's own.

A font file that lacks a glyph draws the .notdef box instead, and the label would then disagree
with the image. So coverage is read from each font's character map (fontTools), and the
Computer Modern files of matplotlib (BaKoMa, TeX's OT1 encoding: ``<`` draws ``¡``, ``{`` draws
``–``, ...) exclude the characters their map claims but draws differently.
"""

from __future__ import annotations

import functools
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import matplotlib
import numpy as np
from fontTools.ttLib import TTFont, TTLibError
from PIL import ImageFont, features

from tf_crnn.errors import ConfigError

MATPLOTLIB_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
REGULAR, BOLD, ITALIC, BOLD_ITALIC = "regular", "bold", "italic", "bold italic"
STYLES = (REGULAR, BOLD, ITALIC, BOLD_ITALIC)
# Characters the BaKoMa Computer Modern text fonts map but draw as other glyphs (OT1 encoding).
OT1_WRONG = frozenset('"<>\\_{}|')
#: In a family's subfolder of a font folder: {"wrong_chars": "..."}, characters its map claims but draws differently.
FAMILY_FILE = "family.json"
HERSHEY_CHARS = frozenset(chr(c) for c in range(32, 127))
HERSHEY_FACES = {
    "simplex": cv2.FONT_HERSHEY_SIMPLEX,
    "duplex": cv2.FONT_HERSHEY_DUPLEX,
    "complex": cv2.FONT_HERSHEY_COMPLEX,
    "triplex": cv2.FONT_HERSHEY_TRIPLEX,
}


@dataclass(frozen=True)
class Face:
    """One font face: a font file, Pillow's built-in font (``builtin``) or a Hershey font."""

    name: str
    path: str | None = None
    builtin: bool = False
    hershey: int | None = None
    wrong_chars: frozenset[str] = frozenset()
    shaped: bool = False  # drawn with text shaping (ligatures, mark positioning) rather than glyph by glyph

    @property
    def is_hershey(self) -> bool:
        return self.hershey is not None

    def pil_font(self, size: int) -> ImageFont.FreeTypeFont:
        return _pil_font(self.path, self.builtin, size, self.shaped)

    @functools.cached_property
    def chars(self) -> frozenset[str]:
        """The characters this face draws correctly."""
        if self.is_hershey:
            return HERSHEY_CHARS
        return _cmap_chars(self.path, self.builtin) - self.wrong_chars

    def covers(self, text: str) -> bool:
        chars = self.chars
        return all(c in chars for c in text)


@dataclass
class Family:
    """Faces of one design by style; ``weight`` is its share among the families of a library."""

    name: str
    faces: dict[str, Face]
    weight: float = 1.0
    covered: frozenset[str] = field(default=frozenset(), repr=False)

    def face(self, style: str) -> Face:
        """The face of ``style``, or the nearest one the family has (bold italic -> bold -> regular)."""
        for candidate in (style, BOLD if style == BOLD_ITALIC else REGULAR, REGULAR):
            if candidate in self.faces:
                return self.faces[candidate]
        return next(iter(self.faces.values()))


@functools.lru_cache(maxsize=512)
def _pil_font(path: str | None, builtin: bool, size: int, shaped: bool = False) -> ImageFont.FreeTypeFont:
    if builtin:
        return ImageFont.load_default(size)
    shaping = ImageFont.Layout.RAQM if shaped and features.check("raqm") else ImageFont.Layout.BASIC
    return ImageFont.truetype(path, size, layout_engine=shaping)


@functools.lru_cache(maxsize=256)
def _cmap_chars(path: str | None, builtin: bool) -> frozenset[str]:
    source = io.BytesIO(ImageFont.load_default(10).font_bytes) if builtin else path
    try:
        with TTFont(source, fontNumber=0, lazy=True) as font:
            cmap = font.getBestCmap() or {}
    except (TTLibError, OSError, AssertionError) as error:
        raise ConfigError(f"{path}: not a readable TrueType/OpenType font ({error})") from None
    return frozenset(chr(code) for code in cmap)


def _mpl(name: str, wrong: frozenset[str] = frozenset(), **files: str) -> Family:
    faces = {}
    for style, filename in files.items():
        style = style.replace("_", " ")
        faces[style] = Face(f"{name} ({style})", str(MATPLOTLIB_FONTS / filename), wrong_chars=wrong)
    return Family(name, faces)


# Shares chosen for printed documents: serif text faces first (STIX ~ Times, DejaVu Serif ~
# Century Schoolbook, Computer Modern), then sans, monospace and stroke fonts for variety.
BUILTIN_WEIGHTS = {
    "STIX": 0.27,
    "DejaVu Serif": 0.16,
    "Computer Modern": 0.15,
    "DejaVu Sans": 0.12,
    "Pillow Aileron": 0.08,
    "Computer Modern Sans": 0.05,
    "DejaVu Sans Mono": 0.05,
    "Computer Modern Typewriter": 0.04,
    "Hershey": 0.08,
}


def builtin_families() -> list[Family]:
    """The families shipped inside matplotlib, Pillow and OpenCV, with their default shares."""
    families = [
        _mpl("STIX", regular="STIXGeneral.ttf", bold="STIXGeneralBol.ttf", italic="STIXGeneralItalic.ttf",
             bold_italic="STIXGeneralBolIta.ttf"),
        _mpl("DejaVu Serif", regular="DejaVuSerif.ttf", bold="DejaVuSerif-Bold.ttf", italic="DejaVuSerif-Italic.ttf",
             bold_italic="DejaVuSerif-BoldItalic.ttf"),
        _mpl("Computer Modern", OT1_WRONG, regular="cmr10.ttf", bold="cmb10.ttf", italic="cmti10.ttf"),
        _mpl("DejaVu Sans", regular="DejaVuSans.ttf", bold="DejaVuSans-Bold.ttf", italic="DejaVuSans-Oblique.ttf",
             bold_italic="DejaVuSans-BoldOblique.ttf"),
        Family("Pillow Aileron", {REGULAR: Face("Pillow built-in (Aileron)", builtin=True)}),
        _mpl("Computer Modern Sans", OT1_WRONG, regular="cmss10.ttf"),
        _mpl("DejaVu Sans Mono", regular="DejaVuSansMono.ttf", bold="DejaVuSansMono-Bold.ttf",
             italic="DejaVuSansMono-Oblique.ttf", bold_italic="DejaVuSansMono-BoldOblique.ttf"),
        _mpl("Computer Modern Typewriter", regular="cmtt10.ttf"),
        Family(
            "Hershey",
            {
                REGULAR: Face("Hershey complex", hershey=HERSHEY_FACES["complex"]),
                BOLD: Face("Hershey triplex", hershey=HERSHEY_FACES["triplex"]),
                ITALIC: Face("Hershey complex italic", hershey=HERSHEY_FACES["complex"] | cv2.FONT_ITALIC),
            },
        ),
    ]  # fmt: skip
    # cmti10 draws '$' as a pound sign (OT1 italic)
    italic = families[2].faces[ITALIC]
    families[2].faces[ITALIC] = Face(italic.name, italic.path, wrong_chars=italic.wrong_chars | {"$"})
    for family in families:
        family.weight = BUILTIN_WEIGHTS[family.name]
    return families


def user_families(font_dir: str | os.PathLike) -> list[Family]:
    """The families of ``font_dir`` (``~`` is the home folder, as the shell leaves it unexpanded in
    ``synthetic_data.font_dir=~/fonts``): one per .ttf/.otf file directly in it, one per subfolder (its
    files, searched recursively, are the family's styles)."""
    folder = Path(font_dir).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"font folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".ttf", ".otf"})
    if not files:
        raise ConfigError(f"font folder {folder}: no .ttf or .otf font files found")
    groups: dict[str, list[Path]] = {}
    for path in files:
        relative = path.relative_to(folder)
        groups.setdefault(relative.parts[0] if len(relative.parts) > 1 else path.stem, []).append(path)
    families = []
    for name, paths in groups.items():
        wrong = _wrong_chars(folder / name) if len(paths[0].relative_to(folder).parts) > 1 else frozenset()
        faces: dict[str, Face] = {}
        for path in paths:
            face = Face(f"{name} ({path.stem})", str(path), wrong_chars=wrong, shaped=True)
            face.chars  # noqa: B018 - read the map now, so a broken file is named before rendering starts
            faces.setdefault(font_style(path) if len(paths) > 1 else REGULAR, face)
        if REGULAR not in faces:  # a family without an upright face: its first face stands in for it
            faces[REGULAR] = next(iter(faces.values()))
        families.append(Family(name, faces))
    return families


def _wrong_chars(family_folder: Path) -> frozenset[str]:
    """The characters a family's ``family.json`` says its fonts map but draw as other glyphs."""
    described = family_folder / FAMILY_FILE
    if not described.is_file():
        return frozenset()
    try:
        return frozenset(json.loads(described.read_text(encoding="utf-8")).get("wrong_chars", ""))
    except (ValueError, AttributeError) as error:
        raise ConfigError(f'{described}: not a JSON object like {{"wrong_chars": ",-"}} ({error})') from None


def font_style(path: str | os.PathLike) -> str:
    """regular, bold, italic or bold italic, from the font's OS/2 selection flags (else its style name)."""
    try:
        with TTFont(path, fontNumber=0, lazy=True) as font:
            selection = font["OS/2"].fsSelection if "OS/2" in font else 0
            subfamily = (font["name"].getDebugName(2) or "").lower() if "name" in font else ""
    except (TTLibError, OSError, AssertionError) as error:
        raise ConfigError(f"{path}: not a readable TrueType/OpenType font ({error})") from None
    italic = bool(selection & 0x01) or "italic" in subfamily or "oblique" in subfamily
    bold = bool(selection & 0x20) or "bold" in subfamily
    return {(False, False): REGULAR, (True, False): BOLD, (False, True): ITALIC, (True, True): BOLD_ITALIC}[
        (bold, italic)
    ]


class FontLibrary:
    """The families used to render lines of one alphabet, and which units each one covers.

    ``user_share`` is the share of lines drawn with the user's fonts when a font folder is given (among
    the lines both could draw: a line only the user's fonts draw goes to them whatever the share).
    """

    def __init__(
        self,
        units: Sequence[str],
        font_dir: str | os.PathLike | None = None,
        builtin: bool = True,
        user_share: float = 0.5,
    ) -> None:
        families = builtin_families() if builtin else []
        if font_dir:
            mine = user_families(font_dir)
            scale = (user_share if families else 1.0) / len(mine)
            others = sum(f.weight for f in families)
            for family in families:
                family.weight *= (1.0 - user_share) / others
            for family in mine:
                family.weight = scale
            families += mine
        if not families:
            raise ConfigError("no fonts: enable the built-in fonts or give a font folder")
        units = [u for u in dict.fromkeys(units) if u != " "]
        for family in families:
            family.covered = frozenset(u for u in units if family.face(REGULAR).covers(u))
        uncovered = [u for u in units if not any(u in f.covered for f in families)]
        if uncovered:
            shown = ", ".join(repr(u) for u in uncovered[:20])
            raise ConfigError(
                f"no font draws the unit(s) {shown} of the alphabet; add fonts that have them (font_dir / --font-dir)"
            )
        self.families = families
        self.weights = np.array([f.weight for f in families], dtype=float)
        self.weights /= self.weights.sum()

    def families_for(self, units: Iterable[str]) -> list[int]:
        """Indices of the families whose regular face covers all ``units``."""
        needed = {u for u in units if u != " "}
        return [i for i, f in enumerate(self.families) if needed <= f.covered]

    def choose(self, units: Sequence[str], rng: np.random.Generator) -> Family | None:
        """A family that draws every unit of the line, drawn by the families' shares (None: no family can)."""
        candidates = self.families_for(units)
        if not candidates:
            return None
        p = self.weights[candidates] / self.weights[candidates].sum()
        return self.families[candidates[int(rng.choice(len(candidates), p=p))]]

    def any_family(self, rng: np.random.Generator) -> Family:
        return self.families[int(rng.choice(len(self.families), p=self.weights))]
