"""Online backups of the SQLite file, their check, restore, retention and the database lock.

A backup uses SQLite's backup API from a connection of its own, in one step: that step reads
one consistent snapshot (WAL mode lets the bot keep writing meanwhile) and copies it into a
temporary file, which is checked with ``PRAGMA integrity_check`` and only then renamed to its
final name. Everything here is blocking; async callers run it in a thread.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

BACKUP_PREFIX = "zhibu-"
BACKUP_NAME = re.compile(r"^zhibu-\d{8}-\d{6}(-\d+)?\.db$")
STAMP_END = len("zhibu-20260101-000000")
BUSY_TIMEOUT_SECONDS = 30.0
RESTORE_COMMAND = "python -m tools.backup restore <备份文件>"


class BackupError(Exception):
    """A backup or restore could not be made or did not pass its check."""


def integrity_of(path: str | Path) -> str:
    """``ok``, or what ``PRAGMA integrity_check`` (or opening the file) says is wrong."""
    path = Path(path)
    if not path.is_file():
        return f"文件不存在：{path}"
    return _check(path, "integrity_check")


def quick_check(path: str | Path) -> str:
    """``ok``, or what ``PRAGMA quick_check`` says is wrong with the database at ``path``.

    The start-up check: a missing file is ``ok`` (the bot creates it); a file that cannot be
    read at all (locked, no permission) raises ``sqlite3.OperationalError``, as opening it
    would, rather than being called broken."""
    path = Path(path)
    if str(path) == ":memory:" or not path.exists():
        return "ok"
    return _check(path, "quick_check", unreadable_is_broken=False)


CLEAN_SUFFIX = ".closed-cleanly"


def _file_state(path: Path) -> str:
    """The database file and its WAL as the file system sees them (size, modification)."""
    parts = []
    for suffix in ("", "-wal"):
        part = Path(f"{path}{suffix}")
        if part.exists():
            stat = part.stat()
            parts.append(f"{suffix or 'db'} {stat.st_size} {stat.st_mtime_ns}")
    return "\n".join(parts)


def mark_closed_cleanly(path: str | Path) -> None:
    """After the bot closed the database: note the file's state beside it, so the next start
    can tell the file is exactly as this clean stop left it."""
    path = Path(path)
    if str(path) == ":memory:" or not path.exists():
        return
    Path(f"{path}{CLEAN_SUFFIX}").write_text(_file_state(path), encoding="utf-8")


def left_cleanly(path: str | Path) -> bool:
    """Whether the database is exactly as a clean stop left it; the note is used up, so a
    run that then dies (kill -9, power cut) leaves none and the next start checks the file."""
    path = Path(path)
    note = Path(f"{path}{CLEAN_SUFFIX}")
    try:
        noted = note.read_text(encoding="utf-8")
    except OSError:
        return False
    note.unlink(missing_ok=True)
    return path.exists() and noted == _file_state(path)


def _check(path: Path, pragma: str, unreadable_is_broken: bool = True) -> str:
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS)
    except sqlite3.Error as exc:
        if not unreadable_is_broken:
            raise
        return f"无法打开：{exc}"
    try:
        rows = conn.execute(f"PRAGMA {pragma}").fetchall()
    except sqlite3.OperationalError as exc:
        if not unreadable_is_broken:
            raise
        return f"无法读取：{exc}"
    except sqlite3.DatabaseError as exc:
        return f"不是有效的数据库：{exc}"
    finally:
        conn.close()
    result = "; ".join(str(r[0]) for r in rows)
    return "ok" if result == "ok" else result[:500]


def schema_version(path: str | Path) -> int:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def has_table(path: str | Path, table: str) -> bool:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS)
    try:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                            (table,)).fetchone() is not None
    finally:
        conn.close()


def _copy(source: str | Path, dest: Path) -> None:
    """One consistent snapshot of ``source`` into ``dest`` (a self-contained rollback-journal
    file, so a backup is one file to copy)."""
    src = sqlite3.connect(str(source), timeout=BUSY_TIMEOUT_SECONDS)
    try:
        dst = sqlite3.connect(str(dest))
        try:
            src.backup(dst)  # pages=-1: the whole database in one step, one read snapshot
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def backup_database(source: str | Path, dest: str | Path) -> int:
    """Write a checked backup of ``source`` to ``dest``; returns its size in bytes."""
    if not Path(source).is_file():  # connecting would create an empty database
        raise BackupError(f"数据库文件不存在：{source}")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = dest.with_name(dest.name + ".partial")
    try:
        temp.unlink(missing_ok=True)
        try:
            _copy(source, temp)
        except sqlite3.DatabaseError as exc:
            raise _broken_source(source, str(exc)) from exc
        verdict = integrity_of(temp)
        if verdict != "ok":
            raise _broken_source(source, verdict)
        os.replace(temp, dest)
    except sqlite3.Error as exc:
        raise BackupError(f"备份失败：{exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
    return dest.stat().st_size


def _broken_source(source: str | Path, detail: str) -> BackupError:
    """The copy of ``source`` failed its check: say whether the database itself is broken."""
    verdict = integrity_of(source)
    if verdict == "ok":
        return BackupError(f"备份文件未通过完整性检查：{detail}")
    return BackupError(f"数据库 {source} 已损坏（{verdict}），无法备份。请停止机器人，用 "
                       f"{RESTORE_COMMAND} 从最近的备份恢复。")


def backup_name(stamp: str, folder: Path) -> Path:
    """``zhibu-<stamp>.db`` in ``folder``, with ``-2``, ``-3``… if that name is taken."""
    path = folder / f"{BACKUP_PREFIX}{stamp}.db"
    n = 2
    while path.exists():
        path = folder / f"{BACKUP_PREFIX}{stamp}-{n}.db"
        n += 1
    return path


def list_backups(folder: str | Path) -> list[Path]:
    """The scheduled/manual backups in ``folder``, oldest first (files named by this module)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = BACKUP_NAME.match(path.name)
        if match and path.is_file():
            found.append((path.name[:STAMP_END], int((match.group(1) or "-1")[1:]), path))
    return [path for *_, path in sorted(found)]


def prune_backups(folder: str | Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups in ``folder``; returns the deleted ones."""
    backups = list_backups(folder)
    doomed = backups[:-keep] if keep > 0 else backups
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


@dataclass(frozen=True)
class KeptCopy:
    """Where a restore put the database it replaced; ``broken`` is what was wrong with it
    (then it was moved aside as it was, not copied)."""

    path: Path
    broken: str | None = None


def restore_database(backup: str | Path, target: str | Path, keep_copy: str | Path | None,
                     broken_copy: str | Path | None = None) -> KeptCopy | None:
    """Replace ``target`` with ``backup`` (checked). The caller holds the database lock.

    A sound current database (with what its WAL holds) is first saved to ``keep_copy``; a
    broken one (it fails ``PRAGMA integrity_check`` or is not a database at all) cannot be
    copied, so it is moved as it is, with its ``-wal`` and ``-shm``, to ``broken_copy``. The
    old ``-wal`` and ``-shm`` files never stay beside the restored file.
    """
    backup, target = Path(backup), Path(target)
    verdict = integrity_of(backup)
    if verdict != "ok":
        raise BackupError(f"备份文件有问题，没有恢复：{verdict}")
    if not has_table(backup, "members"):
        raise BackupError("这个文件不是支部助手的数据库，没有恢复。")
    target.parent.mkdir(parents=True, exist_ok=True)
    kept = None
    if target.exists():
        current = integrity_of(target)
        if current != "ok" and broken_copy is not None:
            broken_copy = Path(broken_copy)
            for suffix in ("", "-wal", "-shm"):
                if Path(f"{target}{suffix}").exists():
                    os.replace(f"{target}{suffix}", f"{broken_copy}{suffix}")
            kept = KeptCopy(broken_copy, current)
        elif current == "ok" and keep_copy is not None:
            try:
                backup_database(target, keep_copy)
            except BackupError as exc:
                raise BackupError(f"无法另存当前数据库 {target}，没有恢复：{exc}") from exc
            kept = KeptCopy(Path(keep_copy))
    temp = target.with_name(target.name + ".restoring")
    try:
        temp.unlink(missing_ok=True)
        _copy(backup, temp)
        verdict = integrity_of(temp)
        if verdict != "ok":
            raise BackupError(f"恢复出的文件未通过完整性检查：{verdict}")
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(temp, target)
    except sqlite3.Error as exc:
        raise BackupError(f"恢复失败：{exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
    return kept


class DatabaseLock:
    """An OS lock on ``<db>.lock`` that the running bot holds, so a restore can tell.

    The operating system drops the lock when the process ends, however it ends, so a crashed
    bot never leaves a stale lock behind. The holder's pid is written into the file.
    """

    def __init__(self, db_path: str | Path) -> None:
        # the real file's lock, whatever name (a symbolic link, a relative path) it is given by
        self.path = Path(f"{Path(db_path).resolve()}.lock")
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False if another process holds it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
            _unlock(self._fd)
        os.close(self._fd)
        self._fd = None

    def holder(self) -> str:
        """The pid written by the holder, or "" if unknown."""
        try:
            return self.path.read_text(encoding="ascii").strip()
        except OSError:
            return ""

    def __enter__(self) -> DatabaseLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
