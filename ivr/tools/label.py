"""``flask --app app label``: the PDF label for the handout's "Place label here" box.

The NCI handout a clinic gives its patients has an empty box, about 2 by 3.5 inches, and nothing in
it tells a patient that the line exists. The label fills it: the line's name, "Call, or text RECUR
to" and the number as people dial it, the same in Spanish, the line's local contact, and two QR
codes, a ``tel:`` URI and an ``sms:`` URI with the body RECUR (RFC 3966 and RFC 5724).

fpdf2 writes the PDF and segno makes the QR codes, drawn as vector squares (crisp at any printer's
resolution, with the four-module quiet zone the QR standard asks for). The words are in
prompts/<lang>/label.yaml; the name, number and contact are the line's own (lines.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import phonenumbers
import segno
from fpdf import FPDF

from ivr.content.prompts import Content

INCH = 25.4  # mm
LABEL_WIDTH, LABEL_HEIGHT = 3.5 * INCH, 2.0 * INCH  # the handout's box, and a business-card label
MARGIN = 3.0  # mm inside the label's edge: label sheets are not cut to the tenth of a millimetre
QR_SIZE = 19.0  # mm, quiet zone included: about 0.65 mm a module for a tel: URI, read by any phone camera
QR_BORDER = 4  # modules of quiet zone (ISO/IEC 18004)
NBSP = "\u00a0"
FONT = "Helvetica"  # a core PDF font: nothing to embed; it holds every Latin-1 letter (é, ñ, ü, á ...)


class LabelError(Exception):
    """The label cannot be made; said in one line."""


@dataclass(frozen=True)
class Sheet:
    """A sheet of labels: US Letter, ``columns`` x ``rows`` labels of width x height, in inches."""

    columns: int
    rows: int
    width: float
    height: float
    left: float  # the first label's left edge
    top: float  # the first label's top edge
    column_pitch: float  # from one label's left edge to the next one's
    row_pitch: float


# Standard label sheets (US Letter). Avery 5371 and 8371 are business cards, the box's own size; on
# 5163 and 8163 shipping labels (4 by 2 inches) the label is centred.
SHEETS = {
    "avery-5371": Sheet(2, 5, 3.5, 2.0, left=0.75, top=0.5, column_pitch=3.5, row_pitch=2.0),
    "avery-8371": Sheet(2, 5, 3.5, 2.0, left=0.75, top=0.5, column_pitch=3.5, row_pitch=2.0),
    "avery-5163": Sheet(2, 5, 4.0, 2.0, left=0.156, top=0.5, column_pitch=4.188, row_pitch=2.0),
    "avery-8163": Sheet(2, 5, 4.0, 2.0, left=0.156, top=0.5, column_pitch=4.188, row_pitch=2.0),
}


@dataclass(frozen=True)
class LabelWords:
    """Everything printed on one label, in the order printed."""

    name: str
    about: str  # what the line is, under its name
    number: str  # E.164
    dialled: str  # as people dial it: (617) 555-0100
    lines: tuple[tuple[str, str], ...]  # (language, "Call, or text RECUR to") in the order asked
    local_heading: str
    local: str  # the local contact: name, phone (and web site), or ""
    scan_call: str
    scan_text: str
    keyword: str  # the first language's: what the sms: QR code's body says

    @property
    def tel_uri(self) -> str:
        return f"tel:{self.number}"

    @property
    def sms_uri(self) -> str:
        return f"sms:{self.number}?body={self.keyword}"


def dialled(number: str) -> str:
    """A number as people dial it where they live: (617) 555-0100 at home, +44 20 ... from abroad."""
    parsed = phonenumbers.parse(number)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def words_for(content: Content, line_name: str, number: str, languages: list[str]) -> LabelWords:
    """The label's words for one number of a line, in ``languages`` (the first also heads the QR codes)."""
    missing = [lang for lang in languages if lang not in content.languages or not content.languages[lang].label]
    if missing:
        known = ", ".join(code for code, language in content.languages.items() if language.label)
        raise LabelError(f"--lang {','.join(missing)}: no label words in prompts/ for that language (there are: {known})")
    first = content.languages[languages[0]].label
    name = line_name or str(content.languages[languages[0]].sms.get("line_name") or "")
    local = content.contacts.get("local")
    local_text = ", ".join(part for part in (local.label, local.display, local.web) if part) if local else ""
    shown = dialled(number)
    said = {lang: content.languages[lang].label for lang in languages}
    lines = tuple((lang, said[lang]["call_or_text"].format(keyword=said[lang]["keyword"])) for lang in languages)
    return LabelWords(
        name=name,
        about=first["about"],
        number=number,
        dialled=shown,
        lines=lines,
        local_heading=first["local"],
        local=local_text,
        scan_call=first["scan_call"],
        scan_text=first["scan_text"],
        keyword=first["keyword"],
    )


def make_pdf(words: LabelWords, sheet: str | None = None) -> bytes:
    """The PDF: one label at the box's size, or (``sheet``) a full sheet of the same label."""
    if sheet is None:
        pdf = FPDF(orientation="landscape", unit="mm", format=(LABEL_HEIGHT, LABEL_WIDTH))
        _start(pdf, words)
        _draw(pdf, words, 0.0, 0.0)
    else:
        if sheet not in SHEETS:
            raise LabelError(f"--sheet {sheet!r} is not a label sheet we know; use one of: {', '.join(SHEETS)}")
        layout = SHEETS[sheet]
        pdf = FPDF(orientation="portrait", unit="mm", format="letter")
        _start(pdf, words)
        for row in range(layout.rows):
            for column in range(layout.columns):
                x = (layout.left + column * layout.column_pitch + (layout.width - 3.5) / 2) * INCH
                y = (layout.top + row * layout.row_pitch + (layout.height - 2.0) / 2) * INCH
                _draw(pdf, words, x, y)
    return bytes(pdf.output())


def _start(pdf: FPDF, words: LabelWords) -> None:
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_title(f"{words.name}: {words.dialled}")
    pdf.set_creator("cancer recurrence information line")
    pdf.add_page()


def _draw(pdf: FPDF, words: LabelWords, x0: float, y0: float) -> None:
    """One label with its top-left corner at (x0, y0): the words on the left, the QR codes on the right."""
    text_width = LABEL_WIDTH - 2 * MARGIN - QR_SIZE - 2.0
    x, y = x0 + MARGIN, y0 + MARGIN
    bottom = y0 + LABEL_HEIGHT - MARGIN

    def put(text: str, size: float, style: str = "", gap: float = 0.6) -> None:
        nonlocal y
        pdf.set_font(FONT, style, size)
        pdf.set_xy(x, y)
        try:
            pdf.multi_cell(text_width, size * 0.42, text, align="L")
        except UnicodeEncodeError:
            raise LabelError(f"{text!r} has a character the label's font cannot print (it prints Latin-1 letters)") from None
        y = pdf.get_y() + gap

    put(words.name, 11, "B", gap=0.3)
    put(words.about, 6.5, gap=1.4)
    (_, first), *others = words.lines
    put(first, 8.5, gap=0.2)
    put(words.dialled, 15, "B", gap=1.2)
    for _, text in others:
        put(text + " " + words.dialled.replace(" ", NBSP), 8, gap=0.8)  # the number is never broken
    if words.local:
        put(words.local_heading + ":", 6.5, gap=0.1)
        put(words.local, 7, "B", gap=0.4)
    if y > bottom + 0.01:
        raise LabelError(
            f"the label's words do not fit in {LABEL_WIDTH / INCH} by {LABEL_HEIGHT / INCH} inches: shorten the line's name or contact"
        )
    qr_x = x0 + LABEL_WIDTH - MARGIN - QR_SIZE
    caption = 2.6
    gap = LABEL_HEIGHT - 2 * MARGIN - 2 * (QR_SIZE + caption)  # between the two codes
    for index, (uri, text) in enumerate(((words.tel_uri, words.scan_call), (words.sms_uri, words.scan_text))):
        top = y0 + MARGIN + index * (QR_SIZE + caption + gap)
        _qr(pdf, uri, qr_x, top, QR_SIZE)
        pdf.set_font(FONT, "", 6)
        pdf.set_xy(qr_x - 2, top + QR_SIZE - 0.4)
        pdf.cell(QR_SIZE + 4, caption, text, align="C")


def _qr(pdf: FPDF, data: str, x: float, y: float, size: float) -> None:
    """A QR code as filled squares, one rectangle per run of dark modules in a row."""
    code = segno.make(data, error="m", micro=False)
    rows = list(code.matrix_iter(border=QR_BORDER))
    module = size / len(rows)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                pdf.rect(x + start * module, y + r * module, (c - start) * module, module * 1.02, style="F")
            else:
                c += 1


def write_label(line, number: str, out: Path, sheet: str | None, languages: list[str] | None) -> LabelWords:
    """The command: the label of ``number`` (one of the deployment's numbers) written to ``out``."""
    from ivr.lines import e164

    wanted = e164(number, line.settings.default_region)
    if wanted is None:
        raise LabelError(f"--number {number!r} is not a valid phone number (write it as +1 and ten digits)")
    number_line = line.line_by_number.get(wanted)
    if number_line is None:
        if line.line_by_number:
            listed = ", ".join(sorted(line.line_by_number))
            raise LabelError(f"--number {wanted} is not a number of this deployment (its numbers: {listed}); see IVR_LINES_FILE")
        number_line = line.default_line  # one line, no numbers listed: any of Twilio's numbers may be it
    if sheet is not None and sheet not in SHEETS:
        raise LabelError(f"--sheet {sheet!r} is not a label sheet we know; use one of: {', '.join(SHEETS)}")
    first = line.language_of_number(wanted)
    if not languages:
        labelled = [code for code, language in number_line.content.languages.items() if language.label]
        languages = sorted(labelled, key=lambda code: code != first)  # the line's own language first
    words = words_for(number_line.content, number_line.name, wanted, languages)
    pdf = make_pdf(words, sheet)
    out.write_bytes(pdf)
    return words
