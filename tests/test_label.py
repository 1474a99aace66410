"""The handout label: a PDF rendered by Debian's pdftoppm, its QR codes read by a real decoder (zxing-cpp)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import zxingcpp
from PIL import Image

from tests.two_lines import EASTSIDE, RIVERSIDE, lines_env

PDFTOPPM, PDFTOTEXT = shutil.which("pdftoppm"), shutil.which("pdftotext")
needs_poppler = pytest.mark.skipif(
    not (PDFTOPPM and PDFTOTEXT), reason="Debian's poppler-utils (pdftoppm, pdftotext) is not installed; dev.py test installs it on CI"
)


@pytest.fixture
def lines_app(make_app, tmp_path, twilio):
    return make_app(env=lines_env(tmp_path, twilio.url))  # at a time both desks are open (a Wednesday, 11:00 in New York)


def render(pdf, tmp_path, dpi: int = 300) -> list[Image.Image]:
    """Each page of ``pdf`` as an image, as Debian's poppler renders it."""
    subprocess.run([PDFTOPPM, "-r", str(dpi), "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=60)
    return [Image.open(p) for p in sorted(tmp_path.glob("page*.png"))]


def codes(image: Image.Image) -> list[str]:
    return sorted(b.text for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode)


def words(pdf) -> str:
    return " ".join(subprocess.run([PDFTOTEXT, str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60).stdout.split())


def label(app, *args):
    return app.test_cli_runner().invoke(args=["label", *args])


@needs_poppler
def test_the_label_fits_the_box_and_its_qr_codes_call_and_text_the_line(lines_app, tmp_path):
    out = tmp_path / "riverside.pdf"
    result = label(lines_app, "--number", "617-555-0100", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {out}: the label of Riverside Cancer Center, (617) 555-0100 (en, es)"
    [page] = render(out, tmp_path)
    assert page.size == (1050, 600)  # 3.5 by 2 inches at 300 dpi: the handout's "Place label here" box
    assert codes(page) == ["sms:+16175550100?body=RECUR", "tel:+16175550100"]
    printed = words(out)
    for expected in (
        "Riverside Cancer Center",
        "Call, or text RECUR to (617) 555-0100",
        "Llame, o envíe RECURRENCIA al (617) 555-0100",
        "For more local information, please contact: Riverside Nurse Line, (617) 555-0111, riverside.example.org/cancer",
        "Scan to call",
        "Scan to text",
    ):
        assert expected in printed
    assert "Eastside" not in printed


@needs_poppler
def test_a_spanish_line_puts_spanish_first_and_its_text_code_says_recurrencia(lines_app, tmp_path):
    out = tmp_path / "eastside.pdf"
    assert label(lines_app, "--number", EASTSIDE, "--out", str(out)).exit_code == 0
    [page] = render(out, tmp_path)
    assert codes(page) == ["sms:+16175550140?body=RECURRENCIA", "tel:+16175550140"]
    printed = words(out)
    assert printed.index("Llame, o envíe RECURRENCIA al") < printed.index("Call, or text RECUR to")
    assert "Para más información local, comuníquese con: Eastside Oncology Desk, (617) 555-0122" in printed
    only_english = tmp_path / "en.pdf"
    assert label(lines_app, "--number", EASTSIDE, "--out", str(only_english), "--lang", "en").exit_code == 0
    assert "RECURRENCIA" not in words(only_english)


@needs_poppler
@pytest.mark.parametrize(("sheet", "size"), [("avery-5371", (2550, 3300)), ("avery-5163", (2550, 3300))])
def test_a_sheet_holds_ten_labels_each_with_both_codes(lines_app, tmp_path, sheet, size):
    out = tmp_path / "sheet.pdf"
    result = label(lines_app, "--number", RIVERSIDE, "--out", str(out), "--sheet", sheet)
    assert result.exit_code == 0, result.output
    [page] = render(out, tmp_path)
    assert page.size == size  # US Letter at 300 dpi
    found = codes(page)
    assert found.count("tel:+16175550100") == 10 and found.count("sms:+16175550100?body=RECUR") == 10
    assert words(out).count("Riverside Cancer Center") == 10


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--number", "+16175550177"],
            "Error: --number +16175550177 is not a number of this deployment (its numbers: +16175550100, +1617",
        ),
        (["--number", "12"], "Error: --number '12' is not a valid phone number (write it as +1 and ten digits)"),
        (
            ["--number", RIVERSIDE, "--sheet", "avery-9999"],
            "Error: --sheet 'avery-9999' is not a label sheet we know; use one of: avery-53",
        ),
        (["--number", RIVERSIDE, "--lang", "fr"], "Error: --lang fr: no label words in prompts/ for that language (there are: en, es)"),
    ],
)
def test_an_unknown_number_sheet_or_language_is_one_clear_line(lines_app, tmp_path, args, error):
    out = tmp_path / "nothing.pdf"
    result = label(lines_app, *args, "--out", str(out))
    assert result.exit_code == 1
    assert result.output.startswith(error) and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_the_readmes_picture_is_the_label_of_its_example_line():
    """docs/label.png is made by the label command from the README's example lines file (riverside)."""
    from ivr.config import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "![The label of the example line Riverside Cancer Center" in readme and "(docs/label.png)" in readme
    picture = Image.open(ROOT / "docs" / "label.png")
    assert picture.size == (700, 400)  # 3.5 by 2 inches at 200 dpi
    assert codes(picture) == ["sms:+16175550100?body=RECUR", "tel:+16175550100"]
