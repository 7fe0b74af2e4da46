"""Real hostile files, built on demand: each one attacks a parser the way files found in the wild
do (or the way an attacker would), with no test-only code in the product."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import docx

from tests.ingest.test_loaders import pdf_from_objects

_PROSE = (
    "The Institute signed a memorandum of cooperation with the University of Havana in 2021. "
    "Joint research in occupational health continues under the programme, with annual "
    "seminars, exchange of young scientists and common publications.\n"
)


def _minimal_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Cooperation report", level=1)
    document.add_paragraph(_PROSE)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def zip_bomb_docx(path: Path, expanded_mb: int = 1024) -> Path:
    """A .docx whose word/document.xml inflates to `expanded_mb` MB (about 1,000:1).

    The XML stays well formed (the filler is whitespace between elements) and the zip is valid
    (sizes and CRC are true), so a reader that trusts it simply runs out of memory. The deflate
    stream repeats one fully flushed block, so building it takes a second, not a minute.
    """
    original = zipfile.ZipFile(io.BytesIO(_minimal_docx()))
    members: list[tuple[str, bytes, int, int]] = []  # name, deflated, crc, size
    for info in original.infolist():
        data = original.read(info.filename)
        if info.filename != "word/document.xml":
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            members.append(
                (info.filename, packer.compress(data) + packer.flush(), zlib.crc32(data), len(data))
            )
            continue
        head, _, tail = data.partition(b"<w:body>")
        head += b"<w:body>"
        filler = b" " * (1 << 20)
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        parts = [packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)]
        block = packer.compress(filler) + packer.flush(zlib.Z_FULL_FLUSH)
        parts += [block] * expanded_mb
        parts.append(packer.compress(tail) + packer.flush())
        crc = zlib.crc32(head)
        for _ in range(expanded_mb):
            crc = zlib.crc32(filler, crc)
        crc = zlib.crc32(tail, crc)
        size = len(head) + expanded_mb * len(filler) + len(tail)
        members.append((info.filename, b"".join(parts), crc, size))
    path.write_bytes(_zip(members))
    return path


def _zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A plain (not zip64) archive of already deflated members."""
    out = bytearray()
    central = bytearray()
    for name, packed, crc, size in members:
        encoded = name.encode()
        fields = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0x21, crc, len(packed), size)
        central += struct.pack("<IH", 0x02014B50, 20) + fields
        central += struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, len(out)) + encoded
        out += struct.pack("<I", 0x04034B50) + fields + struct.pack("<HH", len(encoded), 0)
        out += encoded + packed
    offset = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                       offset, 0)  # fmt: skip
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n%s\nendstream" % (len(data), extra, data)


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _page(contents: int, resources: bytes = b"") -> bytes:
    """A page of the tree at object 2, drawing object `contents` with the font at object 3."""
    return (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
        b"/Resources << /Font << /F1 3 0 R >> %s>> >>" % (contents, resources)
    )


def many_pages_pdf(path: Path, pages: int = 50_000) -> Path:
    """A 2-3 MB PDF of `pages` pages (all sharing one content stream): cheap to make, slow to
    read page by page."""
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        _FONT,
        _stream(b"BT /F1 12 Tf 72 720 Td (Annual cooperation report, page text.) Tj ET"),
    ]
    objects += [_page(4)] * pages
    path.write_bytes(pdf_from_objects(objects))
    return path


def looping_pages_pdf(path: Path) -> Path:
    """A PDF whose page tree lists itself among its own kids (a cycle)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 4 0 R] /Count 2 >>",
        _FONT,
        _page(5),
        _stream(b"BT /F1 12 Tf 72 720 Td (A page inside a loop.) Tj ET"),
    ]
    path.write_bytes(pdf_from_objects(objects))
    return path


def self_drawing_pdf(path: Path) -> Path:
    """A page whose form XObject draws itself: endless recursion for a naive text extractor."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        _FONT,
        _page(5, b"/XObject << /X1 6 0 R >> "),
        _stream(b"BT /F1 12 Tf 72 720 Td (Self drawing page.) Tj ET /X1 Do"),
        _stream(
            b"BT /F1 12 Tf 72 700 Td (Again.) Tj ET /X1 Do",
            b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> /XObject << /X1 6 0 R >> >> ",
        ),
    ]
    path.write_bytes(pdf_from_objects(objects))
    return path


def cpu_burning_pdf(path: Path, pages: int = 400, operators: int = 400_000) -> Path:
    """Pages that all share one content stream of `operators` tiny text operators, deflated to
    a few kilobytes: every page costs the extractor seconds of CPU."""
    content = b"BT /F1 1 Tf " + b"(a) Tj " * operators + b"ET"
    packed = zlib.compress(content, 9)
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        _FONT,
        _stream(packed, b"/Filter /FlateDecode "),
    ]
    objects += [_page(4)] * pages
    path.write_bytes(pdf_from_objects(objects))
    return path


def big_text(path: Path, megabytes: float = 49.0) -> Path:
    """`megabytes` MB of plain English prose (just under the default 50 MB file limit)."""
    size = int(megabytes * 1024 * 1024)
    block = _PROSE.encode("utf-8") + b"\n"
    with path.open("wb") as handle:
        written = 0
        while written + len(block) <= size:
            handle.write(block)
            written += len(block)
    return path


def deep_html(path: Path, depth: int = 100_000) -> Path:
    """HTML nested `depth` elements deep, with a sentence at the bottom."""
    path.write_text(
        "<!DOCTYPE html><html><head><title>Deep page</title></head><body>"
        + "<div>" * depth
        + "<p>Deeply nested partnership note about Vietnam.</p>"
        + "</div>" * depth
        + "</body></html>",
        encoding="utf-8",
    )
    return path


def nul_padded_text(path: Path) -> Path:
    """Text followed by 64 KB of NUL bytes (what a crash or a preallocating writer leaves)."""
    path.write_bytes(
        b"Cooperation with Mongolia\n\n"
        + _PROSE.replace("Havana", "Ulaanbaatar").encode("utf-8") * 3
        + b"\x00" * 65536
    )
    return path


def nul_sprinkled_text(path: Path) -> Path:
    """Text with NUL bytes scattered through it, like a C string dump."""
    path.write_bytes(b"\x00".join(_PROSE.encode("utf-8").split(b" ")))
    return path


MIXED_UTF8_LINE = "Соглашение с Университетом Ханоя подписано в 2020 году."
MIXED_CP1251_LINE = "Меморандум с Институтом гигиены Монголии действует до 2027 года."


def mixed_encodings_text(path: Path) -> Path:
    """Lines in UTF-8 and lines in cp1251 in one file (two exports pasted together)."""
    lines = [
        "Международное сотрудничество института".encode(),
        MIXED_UTF8_LINE.encode(),
        b"",
        MIXED_CP1251_LINE.encode("cp1251"),
        "Партнёры в Азии и Латинской Америке.".encode("cp1251"),
    ]
    path.write_bytes(b"\n".join(lines * 3) + b"\n")
    return path
