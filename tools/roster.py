"""Import the branch roster from a spreadsheet, or export it.

    python -m tools.roster import 名册.xlsx --branch 1 [--dry-run] [--skip-bad] [--db PATH]
    python -m tools.roster export --branch 1 -o 名册.xlsx [--db PATH]

Columns (by header, any order): 姓名, QQ (required), 身份, 楼层, 宿舍, 职务 (书记/支委). Files:
.xlsx, or .csv in UTF-8 (with or without BOM) or GBK. The import is one transaction: when any
row is refused nothing is imported, unless ``--skip-bad`` imports the other rows. ``--dry-run``
prints what would be added, changed and left alone, and every refused row with its line number
and why. The bot may keep running meanwhile. Exit code 2 when rows are refused (and, without
``--skip-bad``, nothing was imported).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from config import BranchConfig, load_settings
from domain.clock import clock_of
from domain.errors import DomainError
from domain.roster import RosterRefused, RosterService, csv_bytes
from domain.spreadsheet import MAX_UNPACKED_BYTES, file_too_big
from storage.database import Database

REFUSED_EXIT = 2


def parse_args(argv: Iterable[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.roster",
                                     description="从表格导入支部名册，或导出名册。")
    sub = parser.add_subparsers(dest="action", required=True)
    imp = sub.add_parser("import", help="导入名册（.xlsx 或 .csv）")
    imp.add_argument("file", help="名册文件：.xlsx 或 .csv（UTF-8 或 GBK）")
    imp.add_argument("--branch", type=int, required=True, help="支部编号")
    imp.add_argument("--dry-run", action="store_true", help="只预览，不写入")
    imp.add_argument("--skip-bad", action="store_true",
                     help="有被拒绝的行时仍导入其余的行（默认整份不导入）")
    exp = sub.add_parser("export", help="导出名册")
    exp.add_argument("--branch", type=int, required=True, help="支部编号")
    exp.add_argument("-o", "--output", required=True, help="输出文件：.xlsx 或 .csv")
    for p in (imp, exp):
        p.add_argument("--db", default=None,
                       help="数据库文件（默认取环境变量 BRANCH_DB_PATH，再默认 data/zhibu.db）")
    return parser.parse_args(None if argv is None else list(argv))


def db_path_of(args: argparse.Namespace, settings: BranchConfig) -> str:
    path = args.db or os.environ.get("BRANCH_DB_PATH") or settings.branch_db_path
    if not Path(path).is_file():  # opening would create (and migrate) an empty database
        raise DomainError(f"数据库文件不存在：{path}")
    return path


async def run(args: argparse.Namespace, out=print) -> int:
    settings = load_settings()  # as the bot reads them
    db = Database(db_path_of(args, settings))
    await db.open()
    try:
        clock = clock_of(settings)
        roster = RosterService(db, settings, clock)
        if args.action == "export":
            return await _export(roster, args, out)
        return await _import(roster, args, out)
    finally:
        await db.close()


async def _import(roster: RosterService, args: argparse.Namespace, out) -> int:
    path = Path(args.file)
    if path.stat().st_size > MAX_UNPACKED_BYTES:  # before reading it into memory
        raise file_too_big()
    parsed = await roster.parse(path.read_bytes(), path.name)
    if args.dry_run:
        plan = await roster.preview(args.branch, parsed)
        out(f"预览（未写入）支部 #{args.branch}，名册 {path.name}：")
        for line in plan.lines():
            out(line)
        if plan.refused:
            out("有被拒绝的行：修正后重新导入，或加 --skip-bad 只导入其余的行。")
            return REFUSED_EXIT
        return 0
    try:
        plan = await roster.apply(args.branch, parsed, skip_refused=args.skip_bad)
    except RosterRefused as exc:
        for line in exc.plan.lines():
            out(line)
        out(f"{exc}修正后重新导入，或加 --skip-bad 只导入其余的行。")
        return REFUSED_EXIT
    out(f"已导入支部 #{args.branch}：{plan.counts()}。")
    for line in plan.lines()[1:]:
        out(line)
    return 0


async def _export(roster: RosterService, args: argparse.Namespace, out) -> int:
    rows = await roster.export_rows(args.branch)
    path = Path(args.output)
    if path.suffix.lower() == ".csv":
        path.write_bytes(csv_bytes(rows))
    elif path.suffix.lower() == ".xlsx":
        await asyncio.to_thread(write_xlsx, rows, path)
    else:
        raise DomainError("输出文件须以 .xlsx 或 .csv 结尾。")
    out(f"已导出支部 #{args.branch} 名册 {len(rows) - 1} 人到 {path}")
    return 0


def write_xlsx(rows: list[list[str]], path: Path) -> None:
    """One sheet 名册; every cell text (QQ numbers keep their digits, nothing is a formula)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from tools.export import display_width, safe_text

    wb = Workbook()
    ws = wb.active
    ws.title = "名册"
    widths = [0] * len(rows[0])
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c, value=safe_text(value))
            cell.data_type = "s"
            if r == 1:
                cell.font = Font(bold=True)
            widths[c - 1] = max(widths[c - 1], display_width(value))
    for c, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + c)].width = max(width, 6) + 2
    ws.freeze_panes = "A2"
    wb.save(str(path))


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except DomainError as exc:
        print(exc, file=sys.stderr)
        return REFUSED_EXIT
    except OSError as exc:
        print(f"失败：{exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
