"""Online backups: consistent under writes, checked, kept N, restorable; failures reported."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from domain.backup import BackupService
from storage.backup import (
    BackupError,
    DatabaseLock,
    backup_database,
    integrity_of,
    left_cleanly,
    list_backups,
    mark_closed_cleanly,
    quick_check,
    restore_database,
)
from storage.database import Database
from tools.backup import main as backup_main
from tools.onebot import ROOT


def rows_of(path, sql="SELECT user_id FROM members WHERE branch_id = 1") -> set[int]:
    conn = sqlite3.connect(str(path))
    try:
        return {r[0] for r in conn.execute(sql)}
    finally:
        conn.close()


async def test_backup_during_a_burst_of_writes_restores_every_acknowledged_write(
        tmp_path, settings, clock):
    db = Database(tmp_path / "live.db")
    await db.open()
    await db.execute("INSERT INTO branches (id, name, created_at) VALUES (1, '支部', 0)")
    settings.backup_dir = str(tmp_path / "backups")
    service = BackupService(settings, clock, db.path)
    acknowledged: list[int] = []
    stop = asyncio.Event()

    async def writer(start: int) -> None:
        uid = start
        while not stop.is_set():
            async with db.transaction():
                await db.execute(
                    "INSERT INTO members (branch_id, user_id, name, created_at, updated_at) "
                    "VALUES (1, ?, ?, 0, 0)", (uid, f"m{uid}"))
                await db.execute("UPDATE branches SET name = ? WHERE id = 1", (f"v{uid}",))
            acknowledged.append(uid)  # committed: the caller was told it is saved
            uid += 2
            await asyncio.sleep(0)

    writers = [asyncio.create_task(writer(s)) for s in (100000, 100001)]
    try:
        while len(acknowledged) < 300:
            await asyncio.sleep(0.005)
        before = set(acknowledged)
        result = await service.run()  # in a thread; the writers keep going meanwhile
        during = len(acknowledged) - len(before)
        await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*writers)
    assert during > 0, "no write happened while the backup ran"
    assert integrity_of(result.path) == "ok"
    restored = tmp_path / "restored.db"
    restore_database(result.path, restored, None)
    assert integrity_of(restored) == "ok"
    saved = rows_of(restored)
    assert before <= saved  # every write acknowledged before the backup began
    assert saved <= set(acknowledged)  # and nothing that was never written
    # one snapshot: exactly the first k commits, and the branch row as the k-th left it
    k = len(saved)
    assert saved == set(acknowledged[:k])
    conn = sqlite3.connect(str(restored))
    name = conn.execute("SELECT name FROM branches WHERE id = 1").fetchone()[0]
    conn.close()
    assert name == f"v{acknowledged[k - 1]}"
    live = rows_of(db.path)
    await db.close()
    assert live == set(acknowledged)


async def test_retention_keeps_the_newest_and_nothing_else_is_touched(tmp_path, settings, clock):
    source = tmp_path / "zhibu.db"
    db = Database(source)
    await db.open()
    await db.close()
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    (folder / "zhibu-by-hand.db").write_bytes(b"x")
    settings.backup_dir, settings.backup_keep = str(folder), 3
    service = BackupService(settings, clock, source)
    made = []
    for _ in range(5):
        result = await service.run()
        made.append(result.path.name)
        clock.advance(days=1)
    assert [p.name for p in list_backups(folder)] == made[-3:]
    assert made[0] == "zhibu-20261127-200000.db"
    assert (folder / "notes.txt").exists() and (folder / "zhibu-by-hand.db").exists()
    assert len(result.pruned) == 1
    # two in the same second do not overwrite each other
    first, second = await service.run(), await service.run()
    assert first.path != second.path and second.path.name.endswith("-2.db")


async def test_a_failed_backup_is_told_to_superusers_and_never_raised(svc, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the backup folder should be")
    svc.settings.backup_dir = str(blocked / "backups")
    service = BackupService(svc.settings, svc.clock, svc.db.path, svc.outbox)
    assert await service.scheduled([10000, 10001]) is None
    assert await service.scheduled([10000, 10001]) is None  # told once a day
    rows = await svc.db.fetchall("SELECT target_type, target_id, segments FROM outbox "
                                 "ORDER BY id")
    assert [(r[0], r[1]) for r in rows] == [("private", 10000), ("private", 10001)]
    assert "数据库定时备份失败" in rows[0][2]


def test_integrity_check_and_restore_refuse_a_bad_file(tmp_path):
    garbage = tmp_path / "broken.db"
    garbage.write_bytes(b"SQLite format 3\x00" + b"\x13" * 5000)
    assert integrity_of(garbage) != "ok"
    assert integrity_of(tmp_path / "missing.db").startswith("文件不存在")
    target = tmp_path / "zhibu.db"
    target.write_bytes(b"keep me")
    with pytest.raises(BackupError, match="备份文件有问题"):
        restore_database(garbage, target, None)
    other = tmp_path / "other.db"
    sqlite3.connect(str(other)).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(BackupError, match="不是支部助手的数据库"):
        restore_database(other, target, None)
    assert target.read_bytes() == b"keep me"
    with pytest.raises(BackupError, match="数据库文件不存在"):
        backup_database(tmp_path / "nothing.db", tmp_path / "x.db")
    assert not (tmp_path / "nothing.db").exists()


def add_branch(path, name: str) -> None:
    async def add() -> None:
        db = Database(path)
        await db.open()  # creates and migrates the file the first time
        try:
            await db.execute("INSERT INTO branches (name, created_at) VALUES (?, 0)", (name,))
        finally:
            await db.close()
    asyncio.run(add())


def test_restore_refuses_while_the_bot_holds_the_lock(tmp_path, capsys, monkeypatch):
    live = tmp_path / "zhibu.db"
    add_branch(live, "早上的")
    backup = tmp_path / "last-night.db"
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path / "backups"))
    assert backup_main(["--db", str(live), "--to", str(backup)]) == 0
    assert "已备份到" in capsys.readouterr().out
    add_branch(live, "下午的")

    holder = subprocess.Popen(  # a bot: holds the lock until told to stop
        [sys.executable, "-c", "import sys; from storage.backup import DatabaseLock; "
         f"lock = DatabaseLock({str(live)!r}); assert lock.acquire(); print('held', flush=True);"
         " sys.stdin.readline()"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert backup_main(["restore", str(backup), "--db", str(live)]) == 2
        err = capsys.readouterr().err
        assert "请先停止机器人再恢复" in err and f"进程 {holder.pid}" in err
        assert rows_of(live, "SELECT name FROM branches") == {"早上的", "下午的"}
    finally:
        holder.communicate("\n", timeout=10)
    assert backup_main(["restore", str(backup), "--db", str(live)]) == 0
    out = capsys.readouterr().out
    assert "已从" in out and "完整性检查通过" in out and "before-restore" in out
    assert rows_of(live, "SELECT name FROM branches") == {"早上的"}
    saved = next(tmp_path.glob("zhibu.db.before-restore-*.db"))
    assert rows_of(saved, "SELECT name FROM branches") == {"早上的", "下午的"}
    assert integrity_of(live) == "ok"
    add_branch(live, "恢复后")  # the bot opens the restored file as usual
    assert rows_of(live, "SELECT name FROM branches") == {"早上的", "恢复后"}


def test_the_lock_is_released_when_its_holder_ends(tmp_path):
    lock = DatabaseLock(tmp_path / "zhibu.db")
    assert lock.acquire()
    assert lock.holder() != ""
    other = subprocess.run(
        [sys.executable, "-c", "from storage.backup import DatabaseLock; "
         f"print(DatabaseLock({str(tmp_path / 'zhibu.db')!r}).acquire())"],
        cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert other.stdout.strip() == "False"
    lock.release()
    other = subprocess.run(
        [sys.executable, "-c", "from storage.backup import DatabaseLock; "
         f"print(DatabaseLock({str(tmp_path / 'zhibu.db')!r}).acquire())"],
        cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert other.stdout.strip() == "True"



def break_file(path, how: str) -> bytes:
    """Damage a database file as a failing disk or a careless copy would; returns its bytes."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        if how == "overwrite":  # 8 KB of garbage in the middle
            f.seek(4096)
            f.write(bytes(range(256)) * 32)
        elif how == "truncate":
            f.truncate(size // 2)
        else:  # random bytes throughout
            f.seek(0)
            f.write(bytes((i * 7919 + 13) % 256 for i in range(size)))
    return path.read_bytes()


def grow(path, rows: int = 300) -> None:
    """Enough rows that the file has pages past the first 12 KB to break."""
    conn = sqlite3.connect(str(path))
    with conn:
        conn.executemany("INSERT INTO branches (name, created_at) VALUES (?, 0)",
                         [("填充" * 100 + str(i),) for i in range(rows)])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


@pytest.mark.parametrize("how", ["overwrite", "truncate", "random"])
def test_restore_goes_ahead_over_a_broken_database_and_moves_it_aside(
        tmp_path, capsys, monkeypatch, how):
    live = tmp_path / "zhibu.db"
    add_branch(live, "昨晚的")
    backup = tmp_path / "night.db"
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path / "backups"))
    assert backup_main(["--db", str(live), "--to", str(backup)]) == 0
    grow(live)
    damaged = break_file(live, how)
    assert integrity_of(live) != "ok"
    capsys.readouterr()

    assert backup_main(["restore", str(backup), "--db", str(live)]) == 0
    out = capsys.readouterr().out
    aside = next(tmp_path.glob("zhibu.db.before-restore-broken-*.db"))
    assert f"原数据库 {live} 已损坏" in out and str(aside) in out
    assert "备份文件" not in out.replace(f"已从 {backup}", "")  # the good backup is not blamed
    assert aside.read_bytes() == damaged  # kept exactly as it was, for whoever salvages it
    assert integrity_of(live) == "ok"
    assert rows_of(live, "SELECT name FROM branches") == {"昨晚的"}
    assert not list(tmp_path.glob("zhibu.db.before-restore-2*.db"))  # no "healthy" copy


def test_a_backup_of_a_broken_database_names_the_database_and_the_restore(tmp_path, capsys,
                                                                          monkeypatch):
    live = tmp_path / "zhibu.db"
    add_branch(live, "支部")
    grow(live)
    break_file(live, "overwrite")
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path / "backups"))
    assert backup_main(["--db", str(live)]) == 2
    err = capsys.readouterr().err
    assert f"数据库 {live} 已损坏" in err and "python -m tools.backup restore" in err
    assert "备份文件未通过" not in err
    assert list_backups(tmp_path / "backups") == []


def test_quick_check_passes_a_sound_or_missing_file_and_names_a_broken_one(tmp_path):
    live = tmp_path / "zhibu.db"
    assert quick_check(live) == "ok"  # the bot creates it
    add_branch(live, "支部")
    assert quick_check(live) == "ok"
    grow(live)
    break_file(live, "truncate")
    assert "malformed" in quick_check(live)


def test_a_start_skips_the_check_only_for_a_file_exactly_as_a_clean_stop_left_it(tmp_path):
    live = tmp_path / "zhibu.db"
    with sqlite3.connect(live) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    assert not left_cleanly(live)  # never stopped cleanly: check it

    mark_closed_cleanly(live)
    assert left_cleanly(live)
    assert not left_cleanly(live)  # the note is used up: a run that dies leaves none

    mark_closed_cleanly(live)
    with open(live, "ab") as f:  # changed while the bot was stopped (a copy, a tool, a hand)
        f.write(b"\xff" * 4096)
    assert not left_cleanly(live)

    mark_closed_cleanly(live)
    Path(f"{live}-wal").write_bytes(b"left over")  # a WAL the stop did not fold in
    assert not left_cleanly(live)
