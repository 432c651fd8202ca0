"""Floors as a structure: one spelling per floor, in the domain and in migration 0010."""

import sqlite3

import pytest

from domain.branches import Actor
from domain.errors import DomainError
from domain.floors import floor_key, normalize_dorm, normalize_floor
from storage.database import Database, available_migrations

FLOORS = ["4", "4楼", "四楼", "4F", "4f", "4层", "第4层", "４楼", " 4 楼", "04", "十楼", "十二层",
          "二十三楼", "99F", "100", "东区", "东 区", "B1", "一百楼", ""]
DORMS = ["301", " 301室", "５０１", "a301", "301 宿舍", "402寝室", "8号", "室", "A-3 01"]


@pytest.mark.parametrize("typed",
                         ["4", "4楼", "四楼", "4F", "4f", "4层", "第4层", "４楼", " 4 楼 "])
def test_every_way_of_writing_a_floor_is_one_floor(typed):
    assert normalize_floor(typed) == "4楼"


def test_other_floor_names_and_dorms():
    assert normalize_floor("二十三层") == "23楼" and normalize_floor("十楼") == "10楼"
    assert normalize_floor("东 区") == "东区" and normalize_floor("100") == "100"
    assert normalize_floor("  ") is None and normalize_floor(None) is None
    assert [normalize_dorm(d) for d in ("301室", " ５０１ ", "a301", "402 寝室")] == [
        "301", "501", "A301", "402"]
    ordered = sorted(["10楼", None, "东区", "2楼", "9楼"], key=floor_key)
    assert ordered == ["2楼", "9楼", "10楼", "东区", None]


async def test_registering_and_listing_use_one_spelling(svc):
    b = (await svc.branches.branch_for_group(1)).id
    owner = Actor(1, is_group_admin=True)
    for uid, floor in ((11, "4"), (12, "四楼"), (13, "4F"), (14, "4层"), (15, "3楼")):
        await svc.branches.register(b, uid, f"人{uid}", floor, " 401室")
    listed = await svc.branches.list_members(b, owner, "4")
    assert [(m.user_id, m.floor, m.dorm) for m in listed] == [
        (11, "4楼", "401"), (12, "4楼", "401"), (13, "4楼", "401"), (14, "4楼", "401")]
    assert [m.floor for m in await svc.branches.list_members(b, owner)] == ["3楼"] + ["4楼"] * 4


async def test_a_floor_leader_per_floor(svc):
    b = (await svc.branches.branch_for_group(1)).id
    owner = Actor(1, is_group_admin=True)
    await svc.branches.register(b, 11, "甲", "4", None)
    await svc.branches.register(b, 12, "乙", "四楼", None)
    await svc.branches.register(b, 13, "丙", None, None)
    await svc.branches.set_role(b, owner, 11, "组长")
    await svc.branches.set_role(b, owner, 12, "组长")  # one leader per floor: 乙 replaces 甲
    assert await svc.branches.floor_leaders(b) == {"4楼": 12}
    with pytest.raises(DomainError, match="还没有填楼层"):
        await svc.branches.set_role(b, owner, 13, "组长")
    with pytest.raises(DomainError, match="不是党小组组长"):
        await svc.branches.set_role(b, owner, 11, "取消组长")
    await svc.branches.remove(b, owner, 12)
    assert await svc.branches.floor_leaders(b) == {}


async def test_migration_0010_writes_floors_and_dorms_as_the_domain_does(tmp_path):
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    for number, script in available_migrations():
        if number < 10:
            raw.executescript(script.read_text(encoding="utf-8"))
    raw.executescript("PRAGMA user_version=9;"
                      "INSERT INTO branches (name, created_at) VALUES ('老支部', 0);"
                      "INSERT INTO terms (branch_id, name, started_at, ended_at) "
                      "VALUES (1, '上学期', 0, 100), (1, '本学期', 100, NULL);")
    dorms = DORMS + [None] * (len(FLOORS) - len(DORMS))
    for i, (floor, dorm) in enumerate(zip(FLOORS, dorms, strict=True)):
        raw.execute("INSERT INTO members (branch_id, user_id, name, floor, dorm, created_at, "
                    "updated_at) VALUES (1, ?, ?, ?, ?, 0, 0)", (i, f"人{i}", floor, dorm))
    raw.commit()
    raw.close()
    db = Database(path)
    await db.open()
    try:
        rows = await db.fetchall("SELECT user_id, floor, dorm FROM members ORDER BY user_id")
        assert [r[1] for r in rows] == [normalize_floor(f) for f in FLOORS]
        assert [r[2] for r in rows][:len(DORMS)] == [normalize_dorm(d) for d in DORMS]
        assert [r[1] for r in rows][:8] == ["4楼"] * 8
        # the term that had ended is frozen with the profiles as they were
        frozen = await db.fetchval("SELECT COUNT(*) FROM term_members WHERE term_id = 1")
        assert frozen == len(FLOORS)
        assert await db.fetchval("SELECT COUNT(*) FROM term_members WHERE term_id = 2") == 0
    finally:
        await db.close()
