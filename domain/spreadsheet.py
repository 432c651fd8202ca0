"""Reading a roster file safely: cheap checks first, then a worker process with limits.

Rosters come from any group admin, and an .xlsx is a zip of XML: a 2 KB file can declare a sheet
of A1:XFD1048576 (the reader pads every row to the declared size) or hold a deflate bomb (a few
hundred KB that unpack to gigabytes). So a roster is never parsed on the bot's event loop:

1. Before anything is parsed: an .xlsx whose zip declares more than ``MAX_UNPACKED_BYTES``
   uncompressed (the zip reader never unpacks more than an entry declares), or a .csv with more
   lines than ``roster_max_rows`` allows, is refused.
2. Then the file is parsed in a separate Python process whose address space is capped at
   ``roster_parse_memory_mb`` (RLIMIT_AS, where the system has it) and which is killed after
   ``roster_parse_seconds``. There the sheet's declared dimension is checked before any row is
   read, and at most ``roster_max_rows`` (plus the rows above the header) are read, never
   padded beyond ``MAX_COLUMNS`` columns.

Every refusal is one Chinese sentence (``RosterError``), never a traceback.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

from domain.errors import DomainError

ROOT = Path(__file__).resolve().parents[1]
HEADER_SCAN_ROWS = 10  # a title or notes may stand above the header row
MAX_COLUMNS = 200  # columns of a roster sheet, at most
MAX_UNPACKED_BYTES = 32 * 1024 * 1024  # an .xlsx unpacks to at most this; also the file size
TOO_COMPLEX = ("名册文件太复杂，读取时超出了时间或内存限制，没有导入；请把名册另存为 .csv，"
               "或复制到一个新表格后再试。")
# the worker: limits first, then the file from stdin, the table (or a refusal) as JSON on stdout
WORKER = ("import sys; sys.path.insert(0, sys.argv[1]); "
          "from domain.spreadsheet import worker_main; worker_main()")

Table = list[tuple[int, list[str]]]  # (line number in the file, cells as text)


class RosterError(DomainError):
    """The file as a whole cannot be read (format, header, size)."""


def row_limit(max_rows: int) -> int:
    """Rows a roster sheet may have: ``max_rows`` people and the rows above the header."""
    return max_rows + HEADER_SCAN_ROWS


def too_many_rows(max_rows: int, declared: str = "") -> RosterError:
    where = f"表格范围 {declared}，" if declared else ""
    return RosterError(f"名册超过 {max_rows} 行（{where}上限 roster_max_rows），没有导入；"
                       "请分成几个文件导入，或删掉多余的空行后再试。")


def format_error(filename: str) -> RosterError | None:
    """Why a file of this name is not read (its format), or None for .xlsx and .csv."""
    lower = filename.lower()
    if lower.endswith((".xlsx", ".csv")):
        return None
    if lower.endswith((".xls", ".et", ".numbers", ".ods")):
        return RosterError("不支持这种表格格式，请在 Excel/WPS 里“另存为” .xlsx 或 .csv 后再导入。")
    return RosterError("名册须是 .xlsx 或 .csv 文件。")


def file_too_big() -> RosterError:
    return RosterError(f"名册文件太大（上限 {MAX_UNPACKED_BYTES // 1024 // 1024} MB），没有导入。")


def check_file(data: bytes, filename: str, max_rows: int) -> None:
    """Refuse a file that is too big to parse, from what it declares; reads no rows."""
    if (wrong := format_error(filename)) is not None:
        raise wrong
    lower = filename.lower()
    if len(data) > MAX_UNPACKED_BYTES:
        raise file_too_big()
    if lower.endswith(".csv"):
        if data.count(b"\n") > row_limit(max_rows):
            raise too_many_rows(max_rows)
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise RosterError("无法读取这个 .xlsx 文件，请确认它是 Excel 表格。") from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise RosterError(f"名册文件解压后太大（{unpacked // 1024 // 1024} MB，上限 "
                          f"{MAX_UNPACKED_BYTES // 1024 // 1024} MB），没有导入；"
                          "请只保留名册本身，另存为新文件后再试。")


async def read_table_isolated(data: bytes, filename: str, max_rows: int, seconds: float,
                              memory_mb: int) -> Table:
    """The rows of a roster file, read in a worker process within the limits."""
    check_file(data, filename, max_rows)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-c", WORKER, str(ROOT), filename, str(max_rows),
        str(memory_mb), str(int(seconds) + 1),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(data), seconds)
    except asyncio.TimeoutError:
        raise RosterError(TOO_COMPLEX) from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    try:
        answer = json.loads(out)
    except ValueError:  # killed by its limits, or died: nothing usable was printed
        raise RosterError(TOO_COMPLEX) from None
    if "error" in answer:
        raise RosterError(answer["error"])
    return [(line, cells) for line, cells in answer["rows"]]


def worker_main() -> None:
    """The worker process: cap its own memory and CPU time, read stdin, print JSON."""
    filename, max_rows, memory_mb, cpu_seconds = (sys.argv[2], int(sys.argv[3]),
                                                  int(sys.argv[4]), int(sys.argv[5]))
    try:
        import resource
    except ImportError:  # Windows: the parent's time limit still applies
        pass
    else:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    data = sys.stdin.buffer.read()
    try:
        answer = {"rows": read_table(data, filename, max_rows)}
    except RosterError as exc:
        answer = {"error": str(exc)}
    except MemoryError:
        answer = {"error": TOO_COMPLEX}
    sys.stdout.write(json.dumps(answer, ensure_ascii=False))
    sys.stdout.flush()
    os._exit(0)  # no clean-up that could run out of memory after the answer


def read_table(data: bytes, filename: str, max_rows: int | None = None) -> Table:
    """The rows of an .xlsx or .csv file (UTF-8 with or without BOM, or GBK as Excel writes),
    at most ``row_limit(max_rows)`` of them. Runs in this process: the bot calls
    ``read_table_isolated``."""
    if (wrong := format_error(filename)) is not None:
        raise wrong
    lower = filename.lower()
    limit = row_limit(max_rows) if max_rows is not None else None
    table = _read_xlsx(data, limit) if lower.endswith(".xlsx") else _read_csv(data, limit)
    if max_rows is not None and len(table) > limit:
        raise too_many_rows(max_rows)
    return table


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps a typed QQ number as 123456789.0
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _read_xlsx(data: bytes, limit: int | None) -> Table:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except MemoryError:
        raise
    except Exception as exc:  # zip or XML errors: not a workbook
        raise RosterError("无法读取这个 .xlsx 文件，请确认它是 Excel 表格。") from exc
    try:
        ws = wb.worksheets[0]
        if limit is not None and (ws.max_column or 0) > MAX_COLUMNS:
            raise RosterError(f"名册表格声明的范围太大（{_declared(ws)}，上限 {MAX_COLUMNS} 列），"
                              "没有导入；请把名册复制到一个新表格后再试。")
        if limit is not None and (ws.max_row or 0) > limit:
            raise too_many_rows(limit - HEADER_SCAN_ROWS, _declared(ws))
        ws.reset_dimensions()  # never pad rows to what the file declares
        rows = ws.iter_rows(min_row=1, max_row=None if limit is None else limit + 1,
                            max_col=MAX_COLUMNS, values_only=True)
        return [(n, _trimmed([_cell_text(v) for v in row])) for n, row in enumerate(rows, 1)]
    finally:
        wb.close()


def _declared(ws) -> str:
    """The dimension a sheet declares, as written (``A1:XFD1048576``)."""
    return ws.calculate_dimension() if ws.max_row and ws.max_column else "?"


def _trimmed(cells: list[str]) -> list[str]:
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM) first, then GB18030 (a superset of the GBK Excel writes)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise RosterError("无法识别 CSV 文件的编码，请另存为 UTF-8 或 .xlsx。") from exc


def _read_csv(data: bytes, limit: int | None) -> Table:
    text = decode_csv(data)
    sample = text[:4096]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t，").delimiter
    except csv.Error:
        delimiter = ","
    # only the delimiter is guessed: quotes are Excel's ("), never the apostrophe the export
    # puts before a cell that would read as a formula
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    rows: Table = []
    try:
        for cells in reader:
            rows.append((reader.line_num, cells))
            if limit is not None and len(rows) > limit:
                break
    except csv.Error as exc:
        raise RosterError(f"CSV 第 {reader.line_num} 行格式有误：{exc}") from exc
    return rows
