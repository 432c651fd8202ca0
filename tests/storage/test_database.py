import asyncio
import sqlite3
from pathlib import Path

import pytest

from domain.models import Category
from storage.database import (
    Database,
    DuplicateEvent,
    EventKey,
    acting_on,
    available_migrations,
)


async def test_migrations_apply_once_and_reopen_is_idempotent(tmp_path):
    path = tmp_path / "x.db"
    db = Database(path)
    await db.open()  # closed below; a failing assert here would leave its thread running
    latest = len(available_migrations())
    assert await db.user_version() == latest
    assert await db.fetchval("PRAGMA journal_mode") == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1
    assert await db.fetchval("PRAGMA secure_delete") == 1  # deleted content is zeroed
    await db.close()
    again = Database(path)
    await again.open()  # must not try to create the tables a second time
    assert await again.user_version() == latest
    await again.close()


async def test_transaction_rolls_back_on_error(svc):
    db = svc.db
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await db.execute("INSERT INTO branches (name, created_at) VALUES ('x', 0)")
            raise RuntimeError("boom")
    assert await db.fetchval("SELECT COUNT(*) FROM branches") == 0


async def test_concurrent_transactions_do_not_mix(svc):
    db = svc.db

    async def writer(i: int, fail: bool):
        async with db.transaction():
            await db.execute("INSERT INTO branches (name, created_at) VALUES (?, 0)", (f"b{i}",))
            await asyncio.sleep(0)  # let the other coroutines run mid-transaction
            if fail:
                raise ValueError(i)

    results = await asyncio.gather(*(writer(i, i % 2 == 1) for i in range(20)),
                                   return_exceptions=True)
    assert sum(isinstance(r, ValueError) for r in results) == 10
    names = {r[0] for r in await db.fetchall("SELECT name FROM branches")}
    assert names == {f"b{i}" for i in range(0, 20, 2)}


async def test_ledger_is_append_only_and_idempotent(svc):
    branch = await svc.branches.branch_for_group(1)
    first = await svc.points.book(branch.id, 7, Category.SERVICE, 5, "x", ref="wish:1:done")
    second = await svc.points.book(branch.id, 7, Category.SERVICE, 5, "x", ref="wish:1:done")
    assert first is not None and second is None
    assert (await svc.points.summary(branch.id, 7)).total == 5
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        async with svc.db.transaction():
            await svc.db.execute("UPDATE ledger SET delta = 100")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        async with svc.db.transaction():
            await svc.db.execute("DELETE FROM ledger")
    assert (await svc.points.summary(branch.id, 7)).total == 5


async def test_same_ref_in_another_branch_is_separate(svc):
    a = await svc.branches.branch_for_group(1)
    b = await svc.branches.branch_for_group(2)
    assert await svc.points.book(a.id, 7, Category.AWARD, 1, "x", ref="r") is not None
    assert await svc.points.book(b.id, 7, Category.AWARD, 1, "x", ref="r") is not None
    assert (await svc.points.summary(a.id, 7)).total == 1


async def test_run_atomic_commits_or_rolls_back_in_one_call(svc):
    db = svc.db

    def insert_two(conn):
        conn.execute("INSERT INTO branches (name, created_at) VALUES ('a', 0)")
        conn.execute("INSERT INTO branches (name, created_at) VALUES ('b', 0)")
        return "done"

    assert await db.run_atomic(insert_two) == "done"

    def insert_then_fail(conn):
        conn.execute("INSERT INTO branches (name, created_at) VALUES ('c', 0)")
        raise ValueError("no")

    with pytest.raises(ValueError):
        await db.run_atomic(insert_then_fail)
    async with db.transaction():  # nested inside a transaction it joins it
        await db.run_atomic(lambda conn: conn.execute(
            "INSERT INTO branches (name, created_at) VALUES ('d', 0)"))
    names = [r[0] for r in await db.fetchall("SELECT name FROM branches ORDER BY id")]
    assert names == ["a", "b", "d"]


async def test_concurrent_atomic_calls_are_batched_but_stay_separate(svc):
    db = svc.db

    def insert(name):
        def work(conn):
            conn.execute("INSERT INTO branches (name, created_at) VALUES (?, 0)", (name,))
            if name.startswith("bad"):
                raise ValueError(name)
            return name
        return work

    names = [f"ok{i}" if i % 3 else f"bad{i}" for i in range(30)]
    results = await asyncio.gather(*(db.run_atomic(insert(n)) for n in names),
                                   return_exceptions=True)
    for name, result in zip(names, results, strict=True):
        if name.startswith("bad"):
            assert isinstance(result, ValueError) and str(result) == name
        else:
            assert result == name
    stored = {r[0] for r in await db.fetchall("SELECT name FROM branches")}
    assert stored == {n for n in names if n.startswith("ok")}


async def test_upgrading_a_v1_database_backfills_the_boards(tmp_path):
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    raw.executescript(available_migrations()[0][1].read_text(encoding="utf-8")
                      + "\nPRAGMA user_version=1;")
    raw.executescript(
        "INSERT INTO branches (name, created_at) VALUES ('老支部', 0);"
        "INSERT INTO terms (branch_id, name, started_at) VALUES (1, '旧学期', 0);"
        # 2026-11-29 16:30 UTC is Monday 00:30 in Shanghai: a new week and day there
        "INSERT INTO ledger (branch_id, term_id, user_id, category, delta, reason, created_at)"
        " VALUES (1, 1, 7, '服务', 5, 'a', 1795969800), (1, 1, 7, '奖惩', -2, 'b', 1795969800),"
        " (1, 1, 8, '出勤', 2, 'c', 1795940000);"
    )
    raw.commit()
    raw.close()
    db = Database(path)
    await db.open()
    try:
        assert await db.user_version() == len(available_migrations())
        agg = {(r[0], r[1]): r[2] for r in await db.fetchall(
            "SELECT period, user_id, total FROM points_agg")}
        assert agg[("all", 7)] == 3 and agg[("term:1", 8)] == 2
        assert agg[("week:2026-11-30", 7)] == 3 and agg[("week:2026-11-23", 8)] == 2
        days = [r[0] for r in await db.fetchall("SELECT local_day FROM ledger ORDER BY id")]
        assert days == ["2026-11-30", "2026-11-30", "2026-11-29"]  # 16:13 on the 29th there
    finally:
        await db.close()


async def test_sessions_checkins_and_notes_survive_the_activities_migration(tmp_path):
    """A database from before activities (schema v6) with a session, check-ins and a note:
    after migrating, it is a 导学 activity and everything still works."""
    import sqlite3

    from config import BranchConfig
    from domain.services import open_services

    path = tmp_path / "v6.db"
    raw = sqlite3.connect(path)
    for number, script in available_migrations():
        if number <= 6:
            raw.executescript(script.read_text(encoding="utf-8"))
    raw.executescript("""
        PRAGMA user_version=6;
        INSERT INTO branches (id, name, created_at) VALUES (1, '老支部', 0);
        INSERT INTO branch_groups (group_id, branch_id, bound_at) VALUES (5001, 1, 0);
        INSERT INTO sessions (id, branch_id, group_id, topic, starts_at, ends_at, leader_id,
            creator_id, code, created_at) VALUES (7, 1, 5001, '党章学习', 100, 3700, 11, 11,
            '1234', 0);
        INSERT INTO checkins VALUES (7, 12, 200, 'code', NULL, NULL);
        INSERT INTO checkins VALUES (7, 13, 300, 'manual', 11, '补学');
        INSERT INTO notes (session_id, branch_id, user_id, content, created_at)
            VALUES (7, 1, 12, '读书笔记内容', 4000);
    """)
    raw.commit()
    raw.close()
    svc = await open_services(BranchConfig(), db_path=str(path))
    try:
        session = await svc.sessions.get(1, 7)
        assert (session.kind, session.label, session.code, session.capacity) == (
            "导学", "导学 #7", "1234", None)
        assert [(c.user_id, c.method) for c in await svc.sessions.repo.checkins(7)] == [
            (12, "code"), (13, "manual")]
        assert await svc.sessions.repo.note_count(7) == 1
        roster = await svc.activities.roster(session)
        assert set(roster.checkins) == {12, 13}
    finally:
        await svc.db.close()


async def test_the_ledger_takes_honours_and_keeps_its_rows_ids_and_guards(tmp_path):
    """The 微典型 migration rebuilds the ledger to admit 荣誉: rows, ids and the boards' aggregates
    are kept, and the append-only triggers and the aggregate trigger still work."""
    path = tmp_path / "before.db"
    raw = sqlite3.connect(path)
    ours = next(n for n, p in available_migrations() if "exemplars_lectures" in p.name)
    for number, script in available_migrations():
        if number < ours:
            raw.executescript(script.read_text(encoding="utf-8"))
    raw.executescript(f"PRAGMA user_version={ours - 1};")
    raw.executescript("""
        INSERT INTO branches (id, name, created_at) VALUES (1, '老支部', 0);
        INSERT INTO terms (id, branch_id, name, started_at) VALUES (1, 1, '旧学期', 0);
        INSERT INTO ledger (id, branch_id, term_id, user_id, category, delta, reason, ref,
            created_at, local_day) VALUES (5, 1, 1, 7, '服务', 5, 'a', 'wish:1:done', 100,
            '1970-01-01');
        INSERT INTO ledger (id, branch_id, term_id, user_id, category, delta, reason,
            reverses_id, created_at, local_day) VALUES (9, 1, 1, 7, '服务', -5, '撤销 #5', 5,
            200, '1970-01-01');
    """)
    raw.commit()
    guards = {r[0] for r in raw.execute(  # every trigger on the ledger before the rebuild
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ledger'")}
    raw.close()
    db = Database(path)
    await db.open()
    try:
        kept = {r[0] for r in await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ledger'")}
        # a migration before this one that put a trigger on the ledger must see it recreated
        assert guards <= kept, f"the rebuild dropped {guards - kept}"
        rows = await db.fetchall("SELECT id, delta, reverses_id, ref FROM ledger ORDER BY id")
        assert [tuple(r) for r in rows] == [(5, 5, None, "wish:1:done"), (9, -5, 5, None)]
        async with db.transaction():
            await db.execute(
                "INSERT INTO ledger (branch_id, term_id, user_id, category, delta, reason, "
                "ref, created_at, local_day) VALUES (1, 1, 7, '荣誉', 10, '微典型', "
                "'exemplar:1', 300, '1970-01-01')")
        assert await db.fetchval("SELECT MAX(id) FROM ledger") == 10
        assert await db.fetchval("SELECT total FROM points_agg WHERE period = 'all'") == 10
        for sql in ("UPDATE ledger SET delta = 1 WHERE id = 5", "DELETE FROM ledger",
                    "INSERT INTO ledger (branch_id, term_id, user_id, category, delta, reason, "
                    "created_at) VALUES (1, 1, 7, '其他', 1, 'x', 1)",
                    "INSERT INTO ledger (branch_id, term_id, user_id, category, delta, reason, "
                    "ref, created_at) VALUES (1, 1, 7, '荣誉', 1, 'x', 'exemplar:1', 1)"):
            with pytest.raises(sqlite3.IntegrityError):
                async with db.transaction():
                    await db.execute(sql)
        assert await db.fetchval("PRAGMA foreign_key_check") is None
    finally:
        await db.close()
# events acted on (issue 20, finding 5) -------------------------------------------------------


async def _seen(db) -> list[bytes]:
    return [bytes(r[0]) for r in await db.fetchall("SELECT key FROM seen_events")]


async def test_an_events_key_is_written_with_its_first_write_only(svc):
    db = svc.db
    event = EventKey(b"k" * 16, 100)
    with acting_on(event):
        async with db.transaction():
            await db.execute("INSERT INTO branches (name, created_at) VALUES ('a', 0)")
        assert event.state == "stored"
        async with db.transaction():  # a second write of the same command: no second key
            await db.execute("INSERT INTO branches (name, created_at) VALUES ('b', 0)")
    assert await _seen(db) == [b"k" * 16]


async def test_a_rolled_back_write_leaves_the_event_unrecorded(svc):
    db = svc.db
    event = EventKey(b"r" * 16, 100)
    with acting_on(event), pytest.raises(ValueError):
        async with db.transaction():
            await db.execute("INSERT INTO branches (name, created_at) VALUES ('a', 0)")
            raise ValueError("refused")
    assert event.state == "pending" and await _seen(db) == []
    assert await db.remember_event(event) is True  # the command wrote nothing: recorded after
    assert await _seen(db) == [b"r" * 16]


async def test_an_event_recorded_before_is_refused_and_its_write_undone(svc):
    db = svc.db
    await db.remember_event(EventKey(b"d" * 16, 100))
    again = EventKey(b"d" * 16, 101)
    with acting_on(again), pytest.raises(DuplicateEvent):
        async with db.transaction():
            await db.execute("INSERT INTO branches (name, created_at) VALUES ('twice', 0)")
    assert await db.fetchval("SELECT COUNT(*) FROM branches WHERE name = 'twice'") == 0
    with acting_on(EventKey(b"d" * 16, 102)), pytest.raises(DuplicateEvent):
        await db.run_atomic(lambda conn: conn.execute(
            "INSERT INTO branches (name, created_at) VALUES ('twice', 0)"))
    assert await db.fetchval("SELECT COUNT(*) FROM branches WHERE name = 'twice'") == 0
    assert await db.remember_event(EventKey(b"d" * 16, 103)) is False


async def test_run_atomic_carries_the_key_in_its_own_savepoint(svc):
    db = svc.db
    ok, failing = EventKey(b"1" * 16, 1), EventKey(b"2" * 16, 1)

    async def call(event, fail):
        def work(conn):
            conn.execute("INSERT INTO branches (name, created_at) VALUES (?, 0)", (str(fail),))
            if fail:
                raise ValueError
        with acting_on(event):
            await db.run_atomic(work)

    results = await asyncio.gather(call(ok, False), call(failing, True), return_exceptions=True)
    assert results[0] is None and isinstance(results[1], ValueError)
    assert (ok.state, failing.state) == ("stored", "pending")
    assert await _seen(db) == [b"1" * 16]


async def test_old_keys_are_pruned_and_recent_ones_read_back(svc):
    db = svc.db
    for i, at in enumerate((10, 200, 300)):
        await db.remember_event(EventKey(bytes([i]) * 16, at))
    assert await db.prune_events(150) == 1
    assert sorted(at for _, at in await db.recent_events(250)) == [300]


async def test_work_after_commit_runs_after_commit_and_never_after_rollback(svc):
    db = svc.db
    ran = []
    async with db.transaction():
        db.after_commit(lambda: ran.append("a"))
        async with db.transaction():  # nested: the outer commit runs it
            db.after_commit(lambda: ran.append("b"))
        assert ran == []
    assert ran == ["a", "b"]
    with pytest.raises(ValueError):
        async with db.transaction():
            db.after_commit(lambda: ran.append("rolled back"))
            raise ValueError
    assert ran == ["a", "b"]


async def test_checkpoint_truncate_empties_the_log(svc):
    db = svc.db
    async with db.transaction():
        await db.execute("INSERT INTO branches (name, created_at) VALUES ('x', 0)")
    wal = Path(f"{db.path}-wal")
    assert wal.stat().st_size > 0
    assert await db.checkpoint_truncate()
    assert wal.stat().st_size == 0
