"""Back up the database now, list the backups, or restore one.

    python -m tools.backup [--to FILE] [--db PATH]     # a checked online backup (bot may run)
    python -m tools.backup list [--db PATH]            # the backups in BACKUP_DIR
    python -m tools.backup restore FILE [--db PATH]    # only while the bot is stopped

Settings are read as the bot reads them (``.env``, ``.env.<ENVIRONMENT>``, the environment).
Without ``--to`` the backup goes to BACKUP_DIR (default data/backups; for a playground's
database, the playground's own folder unless BACKUP_DIR is set) as
``zhibu-YYYYMMDD-HHMMSS.db`` and only the newest BACKUP_KEEP (default 14) are kept there.
A restore checks the file (``PRAGMA integrity_check``, and that it is this bot's database),
refuses while a bot holds the database lock (``<db>.lock``), saves the current database as
``<db>.before-restore-<time>.db`` (a broken one is moved aside as it is, as
``<db>.before-restore-broken-<time>.db``) and then replaces it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable
from pathlib import Path

from config import BranchConfig, load_settings
from domain.backup import BackupService
from storage.backup import (
    BackupError,
    DatabaseLock,
    integrity_of,
    list_backups,
    restore_database,
    schema_version,
)
from tools import backup_dir_of, clock_of_database

FAILED_EXIT = 2


def parse_args(argv: Iterable[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.backup",
                                     description="备份数据库、列出备份或从备份恢复。")
    parser.add_argument("--to", default=None, help="备份到这个文件（默认写入 BACKUP_DIR 并只保留"
                                                   "最新 BACKUP_KEEP 份）")
    parser.add_argument("--db", default=None,
                        help="数据库文件（默认取环境变量 BRANCH_DB_PATH，再默认 data/zhibu.db）")
    sub = parser.add_subparsers(dest="action")
    sub.add_parser("list", help="列出 BACKUP_DIR 里的备份")
    restore = sub.add_parser("restore", help="从备份文件恢复（须先停止机器人）")
    restore.add_argument("file", help="备份文件")
    for p in sub.choices.values():
        p.add_argument("--db", default=argparse.SUPPRESS, help="数据库文件")
    return parser.parse_args(None if argv is None else list(argv))


def human_size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


async def backup_now(settings: BranchConfig, db_path: str, to: str | None) -> str:
    service = BackupService(settings, clock_of_database(settings, db_path), db_path)
    result = await service.run(to)
    gone = f"；删除了 {len(result.pruned)} 份较旧的备份" if result.pruned else ""
    return f"已备份到 {result.describe()}{gone}"


def list_text(settings: BranchConfig) -> str:
    backups = list_backups(settings.backup_dir)
    if not backups:
        return f"{Path(settings.backup_dir).resolve()} 里还没有备份。"
    lines = [f"{Path(settings.backup_dir).resolve()}（保留最新 {settings.backup_keep} 份）："]
    lines += [f"  {p.name}  {human_size(p.stat().st_size)}" for p in backups]
    return "\n".join(lines)


def restore(settings: BranchConfig, db_path: str, file: str) -> str:
    source = Path(file)
    db_path = str(Path(db_path).resolve())  # the real file: a link is not a way round the lock
    if source.resolve() == Path(db_path):
        raise BackupError(f"{file} 就是数据库 {db_path} 本身，没有恢复。")
    verdict = integrity_of(source)
    if verdict != "ok":
        raise BackupError(f"备份文件 {source} 有问题，没有恢复：{verdict}")
    lock = DatabaseLock(db_path)
    if not lock.acquire():
        who = lock.holder()
        raise BackupError(f"机器人正在使用 {db_path}{f'（进程 {who}）' if who else ''}，"
                          "请先停止机器人再恢复。")
    try:
        stamp = clock_of_database(settings, db_path).now().strftime("%Y%m%d-%H%M%S")
        kept = restore_database(source, db_path, f"{db_path}.before-restore-{stamp}.db",
                                f"{db_path}.before-restore-broken-{stamp}.db")
    finally:
        lock.release()
    if kept is None:
        saved = ""
    elif kept.broken:
        saved = (f"原数据库 {db_path} 已损坏（{kept.broken}），已原样移到 {kept.path}"
                 "（可交给懂 SQLite 的人尝试抢救）。")
    else:
        saved = f"原数据库已另存为 {kept.path}。"
    return (f"已从 {source} 恢复到 {db_path}（结构版本 v{schema_version(db_path)}，"
            f"完整性检查通过）。{saved}启动机器人时会自动升级到最新结构。")


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    settings = load_settings()  # as the bot reads them (BACKUP_DIR, BACKUP_KEEP…)
    db_path = args.db or settings.branch_db_path
    # a playground's database keeps its backups in its own folder, unless BACKUP_DIR is set
    settings = settings.model_copy(update={"backup_dir": backup_dir_of(settings, db_path)})
    try:
        if args.action == "list":
            print(list_text(settings))
        elif args.action == "restore":
            print(restore(settings, db_path, args.file))
        else:
            print(asyncio.run(backup_now(settings, db_path, args.to)))
    except BackupError as exc:
        print(exc, file=sys.stderr)
        return FAILED_EXIT
    except OSError as exc:
        print(f"失败：{exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
