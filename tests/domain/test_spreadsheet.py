"""Roster files are read in a worker process within limits; bombs are refused in one sentence."""

from __future__ import annotations

import time

import pytest

from domain.spreadsheet import (
    TOO_COMPLEX,
    RosterError,
    check_file,
    read_table,
    read_table_isolated,
)
from tests.bombs import (
    HEAD,
    SHEET,
    deflate_bomb,
    dimension_bomb,
    long_cell_bomb,
    replacing,
    roster_xlsx,
    wide_row_bomb,
)

LIMITS = {"max_rows": 5000, "seconds": 20, "memory_mb": 512}


async def test_a_roster_is_read_in_the_worker_as_in_process():
    data = roster_xlsx([["2026 名册"], ["姓名", "QQ", "楼层"], ["张三", 123456, 3],
                        ["李四", 234567.0, None]])
    table = await read_table_isolated(data, "名册.xlsx", **LIMITS)
    assert table == read_table(data, "名册.xlsx") == [
        (1, ["2026 名册"]), (2, ["姓名", "QQ", "楼层"]), (3, ["张三", "123456", "3"]),
        (4, ["李四", "234567"])]


async def test_a_declared_sheet_of_a_million_rows_is_refused_before_any_row_is_read():
    started = time.monotonic()
    with pytest.raises(RosterError) as refused:
        await read_table_isolated(dimension_bomb(), "名册.xlsx", **LIMITS)
    assert str(refused.value) == ("名册表格声明的范围太大（A1:XFD1048576，上限 200 列），"
                                  "没有导入；请把名册复制到一个新表格后再试。")
    assert time.monotonic() - started < 15  # not the minutes of padding the old reader took


def test_a_deflate_bomb_is_refused_from_the_sizes_its_zip_declares():
    bomb = deflate_bomb(100)
    assert len(bomb) < 200 * 1024
    with pytest.raises(RosterError, match=r"^名册文件解压后太大（100 MB，上限 32 MB），没有导入"):
        check_file(bomb, "名册.xlsx", 5000)


async def test_a_file_that_passes_the_checks_is_stopped_by_the_worker_time_limit():
    # a million cells in one row: 43 s and 700 MB in the bot's process before the fix
    with pytest.raises(RosterError) as refused:
        await read_table_isolated(wide_row_bomb(), "名册.xlsx", max_rows=5000, seconds=2,
                                  memory_mb=512)
    assert str(refused.value) == TOO_COMPLEX


async def test_a_file_that_passes_the_checks_is_stopped_by_the_worker_memory_limit():
    bomb = long_cell_bomb(30)
    with pytest.raises(RosterError) as refused:
        await read_table_isolated(bomb, "名册.xlsx", max_rows=5000, seconds=60, memory_mb=256)
    assert str(refused.value) == TOO_COMPLEX
    # the same file within a larger allowance is read: it was the memory limit that stopped it
    table = await read_table_isolated(bomb, "名册.xlsx", max_rows=5000, seconds=60,
                                      memory_mb=2048)
    assert len(table[0][1][0]) == 30 * 1024 * 1024


async def test_rows_over_the_limit_are_refused_in_csv_and_xlsx():
    rows = [["姓名", "QQ"]] + [[f"同学{n}", 100000 + n] for n in range(30)]
    csv = "\n".join(f"{a},{b}" for a, b in rows).encode()
    for data, name in ((csv, "名册.csv"), (roster_xlsx(rows), "名册.xlsx")):
        with pytest.raises(RosterError, match=r"^名册超过 20 行（(表格范围 A1:B31，)?上限 "
                                              r"roster_max_rows），没有导入"):
            await read_table_isolated(data, name, max_rows=20, seconds=20, memory_mb=512)
        assert len(await read_table_isolated(data, name, max_rows=25, seconds=20,
                                             memory_mb=512)) == 31


async def test_a_far_cell_without_a_declared_dimension_counts_as_rows():
    data = roster_xlsx([["姓名", "QQ"], ["张三", 123456]])
    sheet = (HEAD + b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
             b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row>'
             b"</sheetData></worksheet>")
    with pytest.raises(RosterError, match="名册超过 5000 行"):
        await read_table_isolated(replacing({SHEET: sheet}), "名册.xlsx", **LIMITS)
    assert len(await read_table_isolated(data, "名册.xlsx", **LIMITS)) == 2


def test_formats_are_refused_by_name_before_reading():
    with pytest.raises(RosterError, match="另存为"):
        check_file(b"x", "名册.xls", 5000)
    with pytest.raises(RosterError, match=r"须是 \.xlsx 或 \.csv"):
        check_file(b"x", "名册.txt", 5000)
    with pytest.raises(RosterError, match=r"无法读取这个 \.xlsx"):
        check_file(b"not a zip", "名册.xlsx", 5000)
