"""Encoding detection: right text for UTF-8, BOMs and Cyrillic code pages; refusal otherwise."""

from __future__ import annotations

import io
import zipfile

import pytest

from ingest.document import LoaderError
from ingest.encoding import decode_bytes

RUSSIAN_PARAGRAPH = (
    "Международное сотрудничество — одно из приоритетных направлений работы института.\n"
    "В 2021 году подписано соглашение с Университетом Гаваны о совместных исследованиях,\n"
    "обмене студентами и стажировках молодых учёных. Контакты: отдел международных связей,\n"
    "тел. +7 (495) 123-45-67, e-mail: intl@example.ru. ЦЕНТР ЯДЕРНОЙ МЕДИЦИНЫ «Радиология»."
)
# koi8-r has no dashes or guillemets
KOI8_PARAGRAPH = RUSSIAN_PARAGRAPH.replace("—", "-").replace("«", '"').replace("»", '"')
ONE_LINE = "Соглашение о сотрудничестве с Вьетнамом действует до 2026 года."


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Привет", "cp1251"),
        ("Институт", "cp1251"),
        (ONE_LINE, "cp1251"),
        (RUSSIAN_PARAGRAPH, "cp1251"),
        ("Привет", "koi8-r"),
        (ONE_LINE, "koi8-r"),
        (KOI8_PARAGRAPH, "koi8-r"),
        (ONE_LINE, "cp866"),
        (ONE_LINE, "mac-cyrillic"),
    ],
)
def test_cyrillic_code_pages_are_told_apart(text: str, encoding: str) -> None:
    assert decode_bytes(text.encode(encoding)) == (text, encoding)


def test_short_cp1251_greeting_from_the_brief() -> None:
    assert decode_bytes(b"\xcf\xf0\xe8\xe2\xe5\xf2") == ("Привет", "cp1251")


def test_cp1251_mixed_with_english() -> None:
    text = "Agreement No. 15 with the Institute (Договор № 15 с Институтом), signed 2021."
    assert decode_bytes(text.encode("cp1251")) == (text, "cp1251")


def test_utf8_is_taken_as_is() -> None:
    text = "Café — Привет, 你好"
    assert decode_bytes(text.encode("utf-8")) == (text, "utf-8")


@pytest.mark.parametrize(
    ("codec", "name"),
    [
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", None),
        ("utf-32", None),
    ],
)
def test_byte_order_marks_are_honoured_and_removed(codec: str, name: str | None) -> None:
    text = "Привет, world"
    decoded, encoding = decode_bytes(text.encode(codec))
    assert decoded == text
    assert encoding.startswith(name or codec)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(codec: str) -> None:
    for text in ("Hello, partners", "Привет, мир"):
        assert decode_bytes(text.encode(codec)) == (text, codec)


def test_bom_with_broken_body_is_refused() -> None:
    with pytest.raises(LoaderError, match="byte order mark"):
        decode_bytes(b"\xff\xfeA\x00\x00\xd8")


def test_western_code_page_with_enough_text() -> None:
    text = (
        "Le contrat de coopération a été signé à Paris. Les deux parties étaient très "
        "satisfaites du résultat, et la prochaine réunion aura lieu en décembre à Genève."
    )
    assert decode_bytes(text.encode("cp1252"))[0] == text


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(0x80, 0xC0)) * 3,  # no code page makes text of this
        "Ça va très bien".encode("cp1252"),  # too short to tell cp1252 from cp1250
    ],
)
def test_unconvincing_bytes_are_refused_not_garbled(data: bytes) -> None:
    with pytest.raises(LoaderError, match="could not determine the text encoding"):
        decode_bytes(data)


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", "hello " * 100)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01",
        _zip_bytes(),
        b"text with a NUL\x00 inside and more text",
        bytes(range(256)) * 4,
    ],
)
def test_binary_data_is_refused(data: bytes) -> None:
    with pytest.raises(LoaderError, match="binary file"):
        decode_bytes(data)
