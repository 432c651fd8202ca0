"""``python -m tools.roster``: dry-run, import, refusals and export, on a real database file."""

from __future__ import annotations

import asyncio
import csv
import io

from openpyxl import load_workbook

from config import BranchConfig
from domain.services import open_services
from tools.roster import main

ROSTER = ("姓名,QQ,身份,楼层,宿舍,职务\n"
          "张三,123456,正式党员,3,301,书记\n"
          "李四,234567,积极分子,3,302,\n"
          "王五,345678,预备党员,4,401,支委\n")


def make_db(path) -> int:
    async def build() -> int:
        svc = await open_services(BranchConfig(), db_path=str(path))
        try:
            return (await svc.branches.branch_for_group(5001)).id
        finally:
            await svc.db.close()
    return asyncio.run(build())


def members(path) -> list[tuple]:
    async def read() -> list[tuple]:
        svc = await open_services(BranchConfig(), db_path=str(path))
        try:
            rows = await svc.db.fetchall("SELECT name, user_id, identity, floor, is_secretary "
                                         "FROM members ORDER BY user_id")
            return [tuple(r) for r in rows]
        finally:
            await svc.db.close()
    return asyncio.run(read())


def test_dry_run_then_import_then_export(tmp_path, capsys):
    db = tmp_path / "zhibu.db"
    branch = make_db(db)
    roster = tmp_path / "名册.csv"
    roster.write_bytes(ROSTER.encode("gbk"))
    assert main(["import", str(roster), "--branch", str(branch), "--db", str(db),
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "预览（未写入）" in out and "新增 3 人，更新 0 人，不变 0 人，拒绝 0 行" in out
    assert "第 2 行 张三（123456）正式党员·书记 3楼 301" in out
    assert members(db) == []

    assert main(["import", str(roster), "--branch", str(branch), "--db", str(db)]) == 0
    assert "已导入支部 #1：新增 3 人" in capsys.readouterr().out
    assert members(db) == [("张三", 123456, "正式党员", "3楼", 1),
                           ("李四", 234567, "入党积极分子", "3楼", 0),
                           ("王五", 345678, "预备党员", "4楼", 0)]

    out_xlsx = tmp_path / "导出.xlsx"
    assert main(["export", "--branch", str(branch), "--db", str(db), "-o", str(out_xlsx)]) == 0
    ws = load_workbook(out_xlsx).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0] == ["姓名", "QQ", "身份", "楼层", "宿舍", "职务"]
    assert ["张三", "123456", "正式党员", "3楼", "301", "书记"] in rows
    assert all(ws.cell(row=r, column=2).data_type == "s" for r in range(1, 5))
    capsys.readouterr()
    assert main(["import", str(out_xlsx), "--branch", str(branch), "--db", str(db),
                 "--dry-run"]) == 0
    assert "新增 0 人，更新 0 人，不变 3 人" in capsys.readouterr().out

    out_csv = tmp_path / "导出.csv"
    assert main(["export", "--branch", str(branch), "--db", str(db), "-o", str(out_csv)]) == 0
    assert out_csv.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel opens it as UTF-8


def test_a_file_with_refused_rows_imports_nothing_unless_told(tmp_path, capsys):
    db = tmp_path / "zhibu.db"
    branch = make_db(db)
    roster = tmp_path / "名册.csv"
    roster.write_text(ROSTER + "赵六,12x45,群众,4,402,\n", encoding="utf-8-sig")
    args = ["import", str(roster), "--branch", str(branch), "--db", str(db)]
    assert main([*args, "--dry-run"]) == 2
    assert "第 5 行（赵六）：QQ号不对：「12x45」" in capsys.readouterr().out
    assert main(args) == 2
    out = capsys.readouterr().out
    assert "没有导入任何一行" in out and "--skip-bad" in out
    assert members(db) == []
    assert main([*args, "--skip-bad"]) == 0
    assert "新增 3 人，更新 0 人，不变 0 人，拒绝 1 行" in capsys.readouterr().out
    assert len(members(db)) == 3


def test_missing_database_or_branch_is_said(tmp_path, capsys):
    roster = tmp_path / "名册.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    assert main(["import", str(roster), "--branch", "1", "--db", str(tmp_path / "no.db")]) == 2
    assert "数据库文件不存在" in capsys.readouterr().err
    assert not (tmp_path / "no.db").exists()
    db = tmp_path / "zhibu.db"
    make_db(db)
    assert main(["import", str(roster), "--branch", "7", "--db", str(db)]) == 2
    assert "没有找到支部 #7" in capsys.readouterr().err


def test_the_csv_export_never_writes_a_formula_and_imports_back_unchanged(tmp_path, capsys):
    """Issue 20, finding 10: Excel evaluates a CSV cell starting with = + - @ (or a tab)."""
    db = tmp_path / "zhibu.db"
    branch = make_db(db)
    risky = ['=HYPERLINK("x")', "@全体成员", "+1 加分", "-预备", "\t=1+1"]

    async def register() -> None:
        svc = await open_services(BranchConfig(), db_path=str(db))
        try:
            for n, name in enumerate(risky):
                await svc.branches.register(branch, 200001 + n, name, "3", "301")
        finally:
            await svc.db.close()
    asyncio.run(register())
    names = [name for (name, *_) in members(db)]
    out_csv = tmp_path / "导出.csv"
    assert main(["export", "--branch", str(branch), "--db", str(db), "-o", str(out_csv)]) == 0
    rows = list(csv.reader(io.StringIO(out_csv.read_bytes().decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))], cells
    assert {row[0] for row in rows[1:]} == {"'" + name for name in names}
    capsys.readouterr()
    assert main(["import", str(out_csv), "--branch", str(branch), "--db", str(db),
                 "--dry-run"]) == 0
    assert f"新增 0 人，更新 0 人，不变 {len(names)} 人" in capsys.readouterr().out
