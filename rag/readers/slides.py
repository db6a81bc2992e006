"""PowerPoint (.pptx) through python-pptx: one slide a section, its title the heading, its
bullet points list items, its tables' rows units, and its speaker notes after them."""

import io
from pathlib import Path

from rag.readers.base import Builder, Content, check_zip, missing, parsing

READER = "python-pptx/3"


def read(path: Path, data: bytes) -> Content:
    """The text of a deck, slide by slide."""
    try:
        from pptx import Presentation
    except ImportError as exc:
        raise missing(".pptx", "python-pptx") from exc
    check_zip(path, data)
    out = Builder()
    with parsing(path):
        deck = Presentation(io.BytesIO(data))
        for number, slide in enumerate(deck.slides, 1):
            read_slide(slide, number, out)
    return out.content()


def read_slide(slide, number: int, out: Builder):
    title = slide.shapes.title
    out.heading(title.text_frame.text if title is not None and title.text_frame.text.strip() else f"Slide {number}")
    for shape in shapes(slide.shapes):
        if title is not None and shape.shape_id == title.shape_id:
            continue
        if shape.has_text_frame:
            bulleted = bullet_points(shape)
            for para in shape.text_frame.paragraphs:
                (out.item if bulleted else out.paragraph)(para.text)
        elif getattr(shape, "has_table", False) and shape.has_table:
            rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
            for row in rows[1:]:
                out.row(row, rows[0])
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        for para in slide.notes_slide.notes_text_frame.paragraphs:
            out.paragraph(para.text)


def bullet_points(shape) -> bool:
    """Whether a shape is a slide's body (its paragraphs bullet points), not a subtitle or text box."""
    from pptx.enum.shapes import PP_PLACEHOLDER

    return shape.is_placeholder and shape.placeholder_format.type in (PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT)


def shapes(collection):
    """The shapes of a slide in order, those inside groups included."""
    for shape in collection:
        if shape.shape_type == 6:  # MSO_SHAPE_TYPE.GROUP
            yield from shapes(shape.shapes)
        else:
            yield shape
