"""Binding a group that was a branch of its own moves that branch's records (issue 14, item 1)."""

import sqlite3

import pytest

from domain.branches import Actor
from domain.errors import DomainError
from domain.models import Category

MAIN, FLOOR, THIRD = 9001, 9002, 9003
SECRETARY, CHEN, LI, BOTH = 501, 502, 503, 504
SUPER = Actor(1, is_superuser=True)


async def _floor_branch_with_records(svc):
    """A main branch, and a floor group that became a branch of its own with records."""
    main = await svc.branches.create_branch(MAIN, Actor(SECRETARY, is_group_admin=True), "总支")
    await svc.branches.register(main.id, SECRETARY, "书记", "1楼", "101")
    await svc.branches.set_role(main.id, SUPER, SECRETARY, "书记")
    await svc.branches.register(main.id, BOTH, "两边都有", None, None)
    await svc.branches.set_role(main.id, SUPER, BOTH, "正式党员")
    floor = await svc.branches.create_branch(FLOOR, Actor(CHEN, is_group_admin=True), "五楼")
    await svc.branches.register(floor.id, CHEN, "陈静", "5楼", "501")
    await svc.branches.register(floor.id, LI, "李明", "五楼", "502")
    await svc.branches.register(floor.id, BOTH, "两边", "5楼", "503")
    await svc.branches.set_role(floor.id, SUPER, BOTH, "群众")
    await svc.branches.set_role(floor.id, SUPER, LI, "预备党员")
    await svc.wishes.post(floor.id, FLOOR, CHEN, "借一把伞")
    await svc.wishes.post(floor.id, FLOOR, LI, "讲讲党章")
    for uid, pts in ((CHEN, 3), (LI, 4), (CHEN, -1)):
        await svc.points.book(floor.id, uid, Category.AWARD, pts, "奖", ref=None)
    await svc.points.book(main.id, SECRETARY, Category.AWARD, 5, "奖", ref=None)
    return main, floor


async def test_bind_moves_members_wishes_and_points_into_the_target(svc):
    main, floor = await _floor_branch_with_records(svc)
    result = await svc.branches.bind(FLOOR, main.id, Actor(CHEN, is_group_admin=True,
                                                           ask_role=_owner_of(MAIN)))
    assert result.summary() == "并入 3 名成员、2 个心愿、3 条积分流水"
    assert result.shared == 1 and result.source.id == floor.id
    assert (await svc.branches.find_branch_for_group(FLOOR)).id == main.id
    assert await svc.branches.groups(floor.id) == []  # the old branch keeps no groups
    chen = await svc.branches.member(main.id, CHEN)
    assert (chen.name, chen.floor, chen.dorm) == ("陈静", "5楼", "501")
    assert (await svc.branches.member(main.id, LI)).identity == "预备党员"
    both = await svc.branches.member(main.id, BOTH)  # the target's profile wins, floor filled
    assert (both.name, both.identity, both.floor, both.dorm) == ("两边都有", "正式党员", "5楼",
                                                                 "503")
    assert await svc.branches.member(floor.id, CHEN) is None
    assert (await svc.points.summary(main.id, CHEN)).total == 2
    board = await svc.points.board(main.id, "学期", CHEN)
    assert [(uid, pts) for _, uid, pts in board.rows] == [(SECRETARY, 5), (LI, 4), (CHEN, 2)]
    page = await svc.wishes.list_page(main.id, 1)
    assert page.total == 2
    entries, _, _ = await svc.points.statement(main.id, CHEN, 1)
    assert [e.delta for e in entries] == [-1, 3]  # the same entries, numbers and all
    assert {e.branch_id for e in entries} == {main.id}
    term = await svc.branches.current_term(main.id)
    assert {e.term_id for e in entries} == {term.id}


async def test_the_ledger_stays_append_only_outside_a_move(svc):
    main, floor = await _floor_branch_with_records(svc)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        async with svc.db.transaction():
            await svc.db.execute("UPDATE ledger SET branch_id = ?", (main.id,))
    await svc.branches.bind(FLOOR, main.id, SUPER)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):  # a finished move: no
        async with svc.db.transaction():
            await svc.db.execute("UPDATE ledger SET branch_id = ? WHERE branch_id = ?",
                                 (floor.id, main.id))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        async with svc.db.transaction():
            await svc.db.execute("UPDATE ledger SET delta = 100")


async def test_old_entries_land_in_the_target_term_of_their_time(svc, clock):
    main, floor = await _floor_branch_with_records(svc)
    clock.advance(days=1)
    await svc.branches.start_term(main.id, SUPER, "2027春")
    clock.advance(days=1)
    await svc.points.book(floor.id, CHEN, Category.AWARD, 10, "新学期", ref=None)
    await svc.branches.bind(FLOOR, main.id, SUPER)
    terms = await svc.branches.terms(main.id)
    entries, _, _ = await svc.points.statement(main.id, CHEN, 1)
    assert [(e.delta, e.term_id) for e in entries] == [
        (10, terms[1].id), (-1, terms[0].id), (3, terms[0].id)]
    assert (await svc.points.summary(main.id, CHEN)).total == 10


async def test_every_table_with_a_branch_id_moves_even_one_added_later(svc):
    main, floor = await _floor_branch_with_records(svc)
    async with svc.db.transaction():
        await svc.db.execute("CREATE TABLE gadgets (id INTEGER PRIMARY KEY, branch_id INTEGER)")
        await svc.db.execute("INSERT INTO gadgets (branch_id) VALUES (?), (?)",
                             (floor.id, floor.id))
    result = await svc.branches.bind(FLOOR, main.id, SUPER)
    assert result.moved["gadgets"] == 2
    assert "2 条其他记录" in result.summary()
    left = []
    for table in (await svc.branches.records_of(floor.id)):
        rows = await svc.db.fetchval(f'SELECT COUNT(*) FROM "{table}" WHERE branch_id = ?',
                                     (floor.id,))
        if rows:
            left.append(table)
    assert left == []


async def test_a_clash_refuses_the_bind_and_changes_nothing(svc):
    main, floor = await _floor_branch_with_records(svc)
    async with svc.db.transaction():
        await svc.db.execute("CREATE TABLE settings_x (branch_id INTEGER PRIMARY KEY, v TEXT)")
        await svc.db.execute("INSERT INTO settings_x VALUES (?, 'a'), (?, 'b')",
                             (floor.id, main.id))
    with pytest.raises(DomainError, match=r"settings_x.*无法自动并入"):
        await svc.branches.bind(FLOOR, main.id, SUPER)
    assert (await svc.branches.find_branch_for_group(FLOOR)).id == floor.id
    assert await svc.branches.member(floor.id, CHEN) is not None
    assert (await svc.points.summary(floor.id, CHEN)).total == 2


async def test_binding_into_a_branch_that_was_moved_away_points_to_its_new_home(svc):
    main, floor = await _floor_branch_with_records(svc)
    await svc.branches.bind(FLOOR, main.id, SUPER)
    await svc.branches.branch_for_group(THIRD)
    with pytest.raises(DomainError, match=f"已经并入支部 #{main.id}"):
        await svc.branches.bind(THIRD, floor.id, SUPER)


def _owner_of(*groups):
    async def ask(group_id):
        return "owner" if group_id in groups else "member"
    return ask


async def test_the_owner_of_a_target_group_may_bind(svc):
    main, _ = await _floor_branch_with_records(svc)
    from domain.errors import Forbidden
    with pytest.raises(Forbidden, match="任何一个群的群主"):
        await svc.branches.bind(FLOOR, main.id, Actor(CHEN, is_group_admin=True,
                                                      group_id=FLOOR, ask_role=_owner_of()))
    result = await svc.branches.bind(FLOOR, main.id, Actor(CHEN, is_group_admin=True,
                                                           group_id=FLOOR,
                                                           ask_role=_owner_of(MAIN)))
    assert result.id == main.id
