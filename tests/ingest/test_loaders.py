"""Loaders, through `load_file`, on real files built in tmp_path."""

from __future__ import annotations

import io
import re
from pathlib import Path

import docx
import openpyxl
import pytest
from pypdf import PdfReader, PdfWriter

from ingest.document import LoadedDocument, LoaderError
from ingest.loaders import SUPPORTED_SUFFIXES, load_file
from ingest.normalize import normalize_text

CAP = 1_000_000
SAMPLES = sorted((Path(__file__).resolve().parents[2] / "data" / "sample").glob("*.txt"))


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def check_canonical(doc: LoadedDocument) -> None:
    """What every loader promises: normalised text, headings that point at themselves."""
    assert doc.text
    assert normalize_text(doc.text) == doc.text
    for heading in doc.headings:
        assert doc.text[heading.start : heading.end] == heading.text


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF: one Helvetica text line per string, one page per list."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, lines in enumerate(pages):
        shown = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
        stream = f"BT /F1 12 Tf 72 720 Td {shown} ET".encode("latin-1") if lines else b""
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {5 + 2 * i} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    return pdf_from_objects(objects)


def pdf_from_objects(objects: list[bytes]) -> bytes:
    """A PDF of these objects, numbered from 1 (object 1 is the catalog), with a correct xref
    table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def encrypt_pdf(pdf: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- dispatch and refusals -------------------------------------------------------------------


def test_supported_suffixes() -> None:
    expected = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".csv", ".xlsx"}
    assert set(SUPPORTED_SUFFIXES) == expected


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path, "NOTES.TXT", "Hello partners"), max_bytes=CAP)
    assert (doc.format, doc.text) == ("txt", "Hello partners")


@pytest.mark.parametrize(("name", "hint"), [("photo.png", ".png"), ("old.doc", "save it as .docx")])
def test_unsupported_type(tmp_path: Path, name: str, hint: str) -> None:
    with pytest.raises(LoaderError, match="unsupported file type") as info:
        load_file(write(tmp_path, name, b"data"), max_bytes=CAP)
    assert hint in str(info.value)


def test_size_cap_names_size_and_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "big.txt", "x" * 3000)
    with pytest.raises(LoaderError, match="too large") as info:
        load_file(path, max_bytes=2048)
    assert "3000 bytes" in str(info.value)
    assert "2048 bytes" in str(info.value)
    assert load_file(path, max_bytes=3000).text == "x" * 3000


@pytest.mark.parametrize("name", ["empty.txt", "empty.pdf", "empty.docx", "empty.csv"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    with pytest.raises(LoaderError, match="empty file"):
        load_file(write(tmp_path, name, b""), max_bytes=CAP)


def test_whitespace_only_text_file(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="empty file"):
        load_file(write(tmp_path, "blank.txt", " \r\n\t\n\u00a0\n"), max_bytes=CAP)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="cannot read"):
        load_file(tmp_path / "gone.txt", max_bytes=CAP)


def test_binary_file_named_txt(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    with pytest.raises(LoaderError, match="binary file"):
        load_file(write(tmp_path, "image.txt", png), max_bytes=CAP)


def test_undecodable_text(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="could not determine the text encoding"):
        load_file(write(tmp_path, "odd.txt", bytes(range(0x80, 0xC0)) * 2), max_bytes=CAP)


# --- plain text --------------------------------------------------------------------------------


def test_cp1251_text_with_title(tmp_path: Path) -> None:
    raw = "Международные связи\r\n\r\n\r\n\r\nСоглашение с Кубой.  \r\nПодписано в 2021 году."
    doc = load_file(write(tmp_path, "ru.txt", raw.encode("cp1251")), max_bytes=CAP)
    assert doc.encoding == "cp1251"
    assert doc.text == "Международные связи\n\nСоглашение с Кубой.\nПодписано в 2021 году."
    assert doc.title == "Международные связи"
    assert doc.headings == []


def test_text_without_title_like_first_line(tmp_path: Path) -> None:
    raw = "This first line is an ordinary sentence that ends with a full stop.\nMore text."
    doc = load_file(write(tmp_path, "plain.txt", raw), max_bytes=CAP)
    assert doc.title is None


@pytest.mark.parametrize(("codec", "reported"), [("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16")])
def test_text_with_bom(tmp_path: Path, codec: str, reported: str) -> None:
    doc = load_file(write(tmp_path, "bom.txt", "Привет\r\nмир".encode(codec)), max_bytes=CAP)
    assert doc.text == "Привет\nмир"
    assert doc.encoding is not None
    assert doc.encoding.startswith(reported)


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_real_samples(sample: Path) -> None:
    doc = load_file(sample, max_bytes=CAP)
    check_canonical(doc)
    assert doc.format == "txt"
    assert doc.encoding == "utf-8"
    assert len(doc.text) > 1000
    assert "\r" not in doc.text
    assert "\n\n\n" not in doc.text


def test_there_are_three_samples() -> None:
    assert len(SAMPLES) == 3


# --- markdown ----------------------------------------------------------------------------------

MARKDOWN = """\
Intro text.

# Cooperation report #

## Partners

```bash
# not a heading
```

~~~
## also not a heading
```
~~~

    # indented code, not a heading

### Cuba and Vietnam
#hashtag is not a heading either
"""


def test_markdown_headings_outside_code(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path, "report.md", MARKDOWN), max_bytes=CAP)
    check_canonical(doc)
    assert [(h.level, h.text) for h in doc.headings] == [
        (1, "Cooperation report"),
        (2, "Partners"),
        (3, "Cuba and Vietnam"),
    ]
    assert doc.title == "Cooperation report"
    assert "# not a heading" in doc.text  # the markdown source is kept
    line_start = doc.text.rfind("\n", 0, doc.headings[1].start) + 1
    assert doc.text[line_start : doc.headings[1].end] == "## Partners"


def test_markdown_title_falls_back_to_first_heading(tmp_path: Path) -> None:
    doc = load_file(
        write(tmp_path, "x.markdown", "text\n\n## Contacts\n\n### Staff"), max_bytes=CAP
    )
    assert doc.title == "Contacts"


# --- html --------------------------------------------------------------------------------------

HTML = """<!DOCTYPE html>
<html><head><title>International cooperation</title>
<style>body { color: red }</style><script>var tracking = "secret";</script></head>
<body>
<header><a href="/">Home</a> | Menu</header>
<nav><ul><li>About</li><li>Contacts</li></ul></nav>
<main>
  <h1>Our   partners</h1>
  <p>We cooperate with <b>Cuba</b> and<br>Vietnam.</p>
  <div style="display: none">Hidden promo</div>
  <p hidden>Hidden paragraph</p>
  <span style="visibility:hidden">Invisible</span>
  <!-- a comment -->
  <ul><li>Internships</li><li>Joint research</li></ul>
  <table><tr><th>Partner</th><th>Until</th></tr><tr><td>University of Havana</td><td>2026</td></tr>
  </table>
  <h2>Contacts</h2>
  <div>Office 12</div>
  <noscript>Enable JavaScript</noscript>
  <form><input value="Search"></form>
</main>
<aside>Related news</aside>
<footer>Copyright 2024</footer>
</body></html>
"""


def test_html_keeps_main_text_only(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path, "page.html", HTML), max_bytes=CAP)
    check_canonical(doc)
    assert doc.text == (
        "Our partners\n\nWe cooperate with Cuba and\nVietnam.\n\nInternships\n\nJoint research"
        "\n\nPartner | Until\nUniversity of Havana | 2026\n\nContacts\n\nOffice 12"
    )
    assert [(h.level, h.text) for h in doc.headings] == [(1, "Our partners"), (2, "Contacts")]
    assert doc.title == "International cooperation"


def test_html_without_main_drops_page_chrome(tmp_path: Path) -> None:
    page = HTML.replace("<main>", "<div>").replace("</main>", "</div>").replace("<title>", "<x>")
    doc = load_file(write(tmp_path, "page.htm", page.replace("</title>", "</x>")), max_bytes=CAP)
    for unwanted in ("Home", "About", "Related news", "Copyright", "tracking", "color", "Hidden"):
        assert unwanted not in doc.text
    assert doc.text.startswith("Our partners")
    assert doc.title == "Our partners"  # no <title>: the first h1


def test_html_declared_windows_1251(tmp_path: Path) -> None:
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        "<title>Сотрудничество</title></head><body><h1>Партнёры</h1><p>Куба, Вьетнам</p>"
        "</body></html>"
    )
    doc = load_file(write(tmp_path, "ru.html", page.encode("cp1251")), max_bytes=CAP)
    assert doc.encoding == "cp1251"
    assert doc.text == "Партнёры\n\nКуба, Вьетнам"
    assert doc.title == "Сотрудничество"


def test_html_wrongly_declared_charset_is_detected_with_warning(tmp_path: Path) -> None:
    page = '<meta charset="utf-8"><p>Соглашение с Университетом Гаваны подписано.</p>'
    doc = load_file(write(tmp_path, "bad.html", page.encode("cp1251")), max_bytes=CAP)
    assert doc.text == "Соглашение с Университетом Гаваны подписано."
    assert doc.encoding == "cp1251"
    assert doc.warnings


def test_html_with_no_text(tmp_path: Path) -> None:
    page = "<html><body><nav>Menu</nav><script>x()</script></body></html>"
    with pytest.raises(LoaderError, match="no text could be extracted"):
        load_file(write(tmp_path, "empty.html", page), max_bytes=CAP)


# --- pdf ---------------------------------------------------------------------------------------


def test_pdf_pages_joined_by_blank_line(tmp_path: Path) -> None:
    pdf = make_pdf([["Cooperation report", "Partners: Cuba"], ["Page two text"]])
    doc = load_file(write(tmp_path, "report.pdf", pdf), max_bytes=CAP)
    check_canonical(doc)
    assert doc.format == "pdf"
    pages = doc.text.split("\n\n")
    assert len(pages) == 2
    assert "Cooperation report" in pages[0]
    assert "Partners: Cuba" in pages[0]
    assert pages[1] == "Page two text"
    assert doc.headings == []


def test_corrupt_pdf(tmp_path: Path) -> None:
    garbage = b"%PDF-1.4\n" + bytes(range(256)) * 8
    with pytest.raises(LoaderError, match="corrupt or unreadable PDF"):
        load_file(write(tmp_path, "broken.pdf", garbage), max_bytes=CAP)


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    pdf = encrypt_pdf(make_pdf([["Secret agreement"]]), user_password="secret")
    with pytest.raises(LoaderError, match="encrypted PDF; decrypt it first"):
        load_file(write(tmp_path, "locked.pdf", pdf), max_bytes=CAP)


def test_pdf_encrypted_with_empty_password_is_read(tmp_path: Path) -> None:
    pdf = encrypt_pdf(make_pdf([["Open agreement text"]]), user_password="")
    doc = load_file(write(tmp_path, "restricted.pdf", pdf), max_bytes=CAP)
    assert doc.text == "Open agreement text"


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match=re.escape("no text could be extracted (scanned PDF?)")):
        load_file(write(tmp_path, "scan.pdf", make_pdf([[]])), max_bytes=CAP)


# --- docx --------------------------------------------------------------------------------------


def test_docx_keeps_tables_in_document_order(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = ""
    document.add_paragraph("Agreements register", style="Title")
    document.add_heading("Partners", level=1)
    document.add_paragraph("Before the table.")
    table = document.add_table(rows=2, cols=3)
    rows = [("Partner", "Country", ""), ("Havana", "Cuba", "2026")]
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("After the table.")
    document.add_heading("Contacts", level=2)
    path = tmp_path / "register.docx"
    document.save(str(path))

    doc = load_file(path, max_bytes=CAP)
    check_canonical(doc)
    assert doc.text == (
        "Agreements register\n\nPartners\n\nBefore the table.\n\n"
        "Partner | Country\nHavana | Cuba | 2026\n\nAfter the table.\n\nContacts"
    )
    assert [(h.level, h.text) for h in doc.headings] == [
        (1, "Agreements register"),
        (1, "Partners"),
        (2, "Contacts"),
    ]
    assert doc.title == "Agreements register"


def test_docx_title_from_core_properties(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "Договор с Кубой"
    document.add_heading("Раздел 1", level=1)
    document.add_paragraph("Текст договора.")
    path = tmp_path / "contract.DOCX"
    document.save(str(path))
    doc = load_file(path, max_bytes=CAP)
    assert doc.title == "Договор с Кубой"
    assert doc.text == "Раздел 1\n\nТекст договора."


@pytest.mark.parametrize("suffix", [".docx", ".xlsx"])
def test_corrupt_office_files(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(LoaderError, match=f"corrupt or unreadable \\{suffix} file"):
        load_file(write(tmp_path, f"broken{suffix}", b"PK\x03\x04 not really a zip"), max_bytes=CAP)


# --- csv and xlsx ------------------------------------------------------------------------------


def test_csv_semicolon_cp1251(tmp_path: Path) -> None:
    raw = "Партнёр;Страна;Срок\r\nУниверситет Гаваны;Куба;2026\r\n;;\r\nИнститут Пастера;;2025\r\n"
    doc = load_file(write(tmp_path, "partners.csv", raw.encode("cp1251")), max_bytes=CAP)
    check_canonical(doc)
    assert doc.encoding == "cp1251"
    assert doc.text == (
        "Партнёр: Университет Гаваны; Страна: Куба; Срок: 2026\n"
        "Партнёр: Институт Пастера; Срок: 2025"
    )


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_csv_other_delimiters_and_quotes(tmp_path: Path, delimiter: str) -> None:
    raw = delimiter.join(["Name", "Note"]) + "\n" + delimiter.join(["Anna", '"a, b; c"']) + "\n"
    doc = load_file(write(tmp_path, "people.csv", raw), max_bytes=CAP)
    assert doc.text == "Name: Anna; Note: a, b; c"


def test_xlsx_sheets_become_headings(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Agreements"
    sheet.append(["Partner", "Country", "Expires"])
    sheet.append(["University of Havana", "Cuba", 2026.0])
    sheet.append(["Hanoi Medical University", None, "2025-12-31"])
    workbook.create_sheet("Empty")
    contacts = workbook.create_sheet("Contacts")
    contacts.append(["Name", "Phone"])
    contacts.append(["Ivanov", "+7 495 123"])
    path = tmp_path / "registry.xlsx"
    workbook.save(str(path))

    doc = load_file(path, max_bytes=CAP)
    check_canonical(doc)
    assert doc.text == (
        "Agreements\n\n"
        "Partner: University of Havana; Country: Cuba; Expires: 2026\n"
        "Partner: Hanoi Medical University; Expires: 2025-12-31\n\n"
        "Contacts\n\nName: Ivanov; Phone: +7 495 123"
    )
    assert [(h.level, h.text) for h in doc.headings] == [(1, "Agreements"), (1, "Contacts")]
