"""Hostile roster files, built in the test (issue 20, finding 2): small on disk, huge to parse."""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def roster_xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def replacing(parts: dict[str, bytes]) -> bytes:
    """A real workbook (header 姓名, QQ) with some of its parts replaced."""
    source = zipfile.ZipFile(io.BytesIO(roster_xlsx([["姓名", "QQ"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for item in source.infolist():
            target.writestr(item.filename, parts.get(item.filename, source.read(item)))
    return out.getvalue()


def dimension_bomb() -> bytes:
    """A sheet declaring A1:XFD1048576 with a header and one far cell (about 2 KB): a reader
    that trusts the dimension pads a million rows of 16,384 cells."""
    sheet = (HEAD + b'<dimension ref="A1:XFD1048576"/><sheetData>'
             b'<row r="1"><c r="A1" t="inlineStr"><is><t>\xe5\xa7\x93\xe5\x90\x8d</t></is></c>'
             b'<c r="B1" t="inlineStr"><is><t>QQ</t></is></c></row>'
             b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row>'
             b'</sheetData></worksheet>')
    return replacing({SHEET: sheet})


def deflate_bomb(megabytes: int = 300) -> bytes:
    """Shared strings of ``megabytes`` MB of one letter, deflated to a few hundred KB."""
    out = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(roster_xlsx([["姓名", "QQ"]])))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for item in source.infolist():
            if item.filename != STRINGS:
                target.writestr(item.filename, source.read(item))
        with target.open(STRINGS, "w", force_zip64=True) as strings:
            strings.write(b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.'
                          b'openxmlformats.org/spreadsheetml/2006/main" count="1" '
                          b'uniqueCount="1"><si><t>')
            chunk = b"A" * (1024 * 1024)
            for _ in range(megabytes):
                strings.write(chunk)
            strings.write(b"</t></si></sst>")
    return out.getvalue()


def wide_row_bomb(cells: int = 1_000_000) -> bytes:
    """No dimension, a million cells in one row (about 70 KB, 28 MB unpacked): passes the size
    checks; only the worker's time and memory limits stop it."""
    row = b'<c r="A1" t="n"><v>1</v></c>' * cells
    return replacing({SHEET: HEAD + b'<sheetData><row r="1">' + row
                       + b"</row></sheetData></worksheet>"})


def long_cell_bomb(megabytes: int = 30) -> bytes:
    """One cell of ``megabytes`` MB (about 35 KB on disk): parsing it needs a few copies of it."""
    cell = b'<c r="A1" t="inlineStr"><is><t>' + b"A" * (megabytes * 1024 * 1024) + b"</t></is></c>"
    return replacing({SHEET: HEAD + b'<sheetData><row r="1">' + cell
                       + b"</row></sheetData></worksheet>"})
