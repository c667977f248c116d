"""Small pages made on the spot: line images pasted on a page scan, with PAGE-XML 2019 or ALTO v4 ground
truth around them, so page tests run without the shared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
PAPER = 205  # a grey page: the fill of cut lines must come from the line, not be white


def _points(points) -> str:
    return " ".join(f"{round(x)},{round(y)}" for x, y in points)


def compose(lines: list[np.ndarray], margin: int = 30, gap: int = 14) -> tuple[np.ndarray, list[list[tuple]]]:
    """A grey page holding the line images one below the other; each line's rectangle on it."""
    width = max(line.shape[1] for line in lines) + 2 * margin
    height = sum(line.shape[0] + gap for line in lines) + 2 * margin
    page = np.full((height, width), PAPER, np.uint8)
    boxes = []
    y = margin
    for line in lines:
        h, w = line.shape
        page[y : y + h, margin : margin + w] = np.where(line < 128, line // 3, PAPER)
        boxes.append([(margin, y), (margin + w, y), (margin + w, y + h), (margin, y + h)])
        y += h + gap
    return page, boxes


def page_xml(image_name: str | None, size: tuple[int, int], boxes, texts, ids=None, with_baseline=True) -> str:
    """PAGE-XML 2019 with one region holding the lines (``None`` text: no TextEquiv)."""
    ids = ids or [f"l{i + 1}" for i in range(len(boxes))]
    lines = []
    for line_id, box, text in zip(ids, boxes, texts):
        x0, x1, y1 = min(x for x, _ in box), max(x for x, _ in box), max(y for _, y in box)
        baseline = f'<Baseline points="{_points([(x0, y1 - 3), (x1, y1 - 3)])}"/>' if with_baseline else ""
        equiv = f"<TextEquiv><Unicode>{text}</Unicode></TextEquiv>" if text is not None else ""
        lines.append(f'<TextLine id="{line_id}"><Coords points="{_points(box)}"/>{baseline}{equiv}</TextLine>')
    name = f' imageFilename="{image_name}"' if image_name else ' imageFilename=""'
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<PcGts xmlns="{PAGE_NS}"><Metadata><Creator>test</Creator>'
        "<Created>2024-01-01T00:00:00</Created><LastChange>2024-01-01T00:00:00</LastChange></Metadata>"
        f'<Page{name} imageWidth="{size[0]}" imageHeight="{size[1]}">'
        '<ReadingOrder><OrderedGroup id="ro"><RegionRefIndexed index="0" regionRef="r1"/></OrderedGroup></ReadingOrder>'
        f'<TextRegion id="r1"><Coords points="0,0 {size[0]},0 {size[0]},{size[1]} 0,{size[1]}"/>'
        + "".join(lines)
        + "</TextRegion></Page></PcGts>\n"
    )


def alto_xml(image_name: str | None, size: tuple[int, int], boxes, texts) -> str:
    """ALTO v4 with the lines in one block, words as Strings with SP between them."""
    lines = []
    for index, (box, text) in enumerate(zip(boxes, texts)):
        (x0, y0), (x1, _), _, (_, y1) = box
        strings = "<SP/>".join(f'<String CONTENT="{word}"/>' for word in (text or "").split(" ")) if text else ""
        lines.append(
            f'<TextLine ID="tl{index + 1}" HPOS="{x0}" VPOS="{y0}" WIDTH="{x1 - x0}" HEIGHT="{y1 - y0}" '
            f'BASELINE="{y1 - 3}">{strings}</TextLine>'
        )
    source = f"<sourceImageInformation><fileName>{image_name}</fileName></sourceImageInformation>" if image_name else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<alto xmlns="{ALTO_NS}"><Description>'
        f"<MeasurementUnit>pixel</MeasurementUnit>{source}</Description><Layout>"
        f'<Page ID="p1" WIDTH="{size[0]}" HEIGHT="{size[1]}" PHYSICAL_IMG_NR="1"><PrintSpace>'
        f'<TextBlock ID="b1">{"".join(lines)}</TextBlock></PrintSpace></Page></Layout></alto>\n'
    )


def make_page(
    folder: Path,
    line_images: list[Path],
    texts: list[str | None],
    name: str = "page",
    kind: str = "page",
    image_suffix: str = ".tif",
    image_name: str | None = "",
) -> dict:
    """Write ``<name><image_suffix>`` (LZW TIFF by default) and ``<name>.xml`` in ``folder``.

    ``image_name``: what the XML names as its image ("" = the image's own name, None = nothing).
    """
    folder.mkdir(parents=True, exist_ok=True)
    arrays = [np.asarray(Image.open(path).convert("L")) for path in line_images]
    page, boxes = compose(arrays)
    image = folder / f"{name}{image_suffix}"
    if image_suffix in (".tif", ".tiff"):
        Image.fromarray(page).save(image, compression="tiff_lzw")
    else:
        Image.fromarray(page).save(image)
    size = (page.shape[1], page.shape[0])
    named = image.name if image_name == "" else image_name
    xml = folder / f"{name}.xml"
    text = page_xml(named, size, boxes, texts) if kind == "page" else alto_xml(named, size, boxes, texts)
    xml.write_text(text, encoding="utf-8")
    return {"xml": xml, "image": image, "boxes": boxes, "texts": texts, "size": size, "page": page}
