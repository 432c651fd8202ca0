"""Polls: parsing, ballots, replacement, multi-choice, hidden results, turnout, closing, and
anonymity that the raw tables cannot undo."""

from datetime import datetime

import pytest

from domain.branches import Actor
from domain.errors import DomainError, Forbidden, NotFound
from domain.polls import PollInputError, parse_choices, parse_poll
from tests.conftest import TZ
from tests.domain.conftest import HELPER, HELPER2, MASSES, SECRETARY, WISHER

OUTSIDER = 999  # in the group, no profile


async def new_poll(world, text="周五微分享选题？ | 党史故事 | 考研经验 | 新质生产力"):
    return await world.svc.polls.create(world.branch_id, 5001, world.secretary, text)


# parsing ---------------------------------------------------------------------------------


def test_parse_options_with_spaces_and_flags_from_the_end(settings, clock):
    draft = parse_poll("周五 选题？ | 党史 故事 | 考研 经验 多选 匿名 截止 明天 20:00 隐藏结果",
                       clock.now(), settings)
    assert draft.question == "周五 选题？"
    assert draft.options == ["党史 故事", "考研 经验"]
    assert (draft.multi, draft.anonymous, draft.hide_results) == (True, True, True)
    assert draft.closes_at == datetime(2026, 11, 28, 20, 0, tzinfo=TZ)


def test_parse_newlines_and_flags_on_a_line_of_their_own(settings, clock):
    draft = parse_poll("选哪个？\nA 方案\nB 方案\n匿名", clock.now(), settings)
    assert draft.options == ["A 方案", "B 方案"] and draft.anonymous and not draft.multi


def test_flag_words_inside_an_option_are_text(settings, clock):
    draft = parse_poll("问题 | 截止日期前交材料 | 匿名信箱的用法", clock.now(), settings)
    assert draft.options == ["截止日期前交材料", "匿名信箱的用法"]
    assert draft.closes_at is None and not draft.anonymous


@pytest.mark.parametrize(("text", "message"), [
    ("只有问题", "选项需要 2 到 10 个，现在 0 个"),
    ("问题 | 一个", "选项需要 2 到 10 个，现在 1 个"),
    ("问题 | " + " | ".join(str(i) for i in range(11)), "选项需要 2 到 10 个，现在 11 个"),
    ("问题 | 甲 | " + "长" * 51, "选项 2最多 50 字，现在 51 字"),
    ("问" * 101 + " | 甲 | 乙", "投票问题最多 100 字"),
    ("问题 | 甲 | 甲", "选项 2 与选项 1 重复"),
    ("问题 | 甲 | 乙 截止 昨天", "时间格式不对"),
    ("问题 | 甲 | 乙 截止 明天 20:00 马上", "截止时间后面只能再写"),
])
def test_bad_polls_are_refused_with_the_limit_named(settings, clock, text, message):
    with pytest.raises(DomainError, match=message):
        parse_poll(text, clock.now(), settings)


def test_choices_are_numbers_from_one():
    assert parse_choices(["3", "1", "1"]) == (1, 3)
    assert parse_choices(["1,3、2"]) == (1, 2, 3)
    for bad in (["0"], ["abc"], ["1", "x"], ["-1"], ["１"]):
        assert parse_choices(bad) is None


# ballots ---------------------------------------------------------------------------------


async def test_one_ballot_per_person_and_a_second_replaces_the_first(world):
    polls = world.svc.polls
    poll = await new_poll(world)
    first = await polls.vote(poll.id, HELPER, (1,), world.branch_id)
    assert first.outcome == "new"
    await polls.vote(poll.id, WISHER, (2,), world.branch_id)
    again = await polls.vote(poll.id, HELPER, (3,), world.branch_id)
    assert again.outcome == "replaced" and again.previous == (1,)
    tally = await polls.tally(poll)
    assert tally.counts == (0, 1, 1) and tally.voters == 2


async def test_multi_choice_counts_each_option_and_single_choice_refuses_two(world):
    polls = world.svc.polls
    multi = await new_poll(world, "去哪里？ | 图书馆 | 操场 | 食堂 多选")
    await polls.vote(multi.id, HELPER, (1, 3), world.branch_id)
    await polls.vote(multi.id, WISHER, (3,), world.branch_id)
    tally = await polls.tally(multi)
    assert tally.counts == (1, 0, 2) and tally.voters == 2
    assert tally.share(2) == 1.0 and tally.share(0) == 0.5  # shares of voters, not of ticks
    single = await new_poll(world)
    with pytest.raises(PollInputError, match="是单选，只能选 1 项"):
        await polls.vote(single.id, HELPER, (1, 2), world.branch_id)
    with pytest.raises(PollInputError, match="只有 3 个选项"):
        await polls.vote(single.id, HELPER, (4,), world.branch_id)
    assert (await polls.tally(single)).voters == 0


async def test_another_branch_and_strangers_in_private_do_not_find_the_poll(world):
    svc = world.svc
    poll = await new_poll(world)
    other = await svc.branches.branch_for_group(5002)
    with pytest.raises(NotFound):
        await svc.polls.vote(poll.id, HELPER, (1,), other.id)
    with pytest.raises(NotFound):
        await svc.polls.vote(poll.id, OUTSIDER, (1,), None)  # private, no profile here
    ballot = await svc.polls.vote(poll.id, HELPER, (1,), None)  # private, registered
    assert ballot.outcome == "new"
    with pytest.raises(NotFound):
        await svc.polls.find(poll.id, Actor(OUTSIDER), None)


async def test_closed_and_past_deadline_polls_refuse_ballots(world, clock):
    polls = world.svc.polls
    poll = await new_poll(world)
    tally = await polls.close(poll.id, Actor(poll.creator_id), world.branch_id, 5001)
    assert tally.poll.state == "closed"
    with pytest.raises(DomainError, match="已经结束，不能再投了"):
        await polls.vote(poll.id, HELPER, (1,), world.branch_id)
    timed = await new_poll(world, "问题 | 甲 | 乙 截止 21:00")
    clock.set(datetime(2026, 11, 27, 21, 0, tzinfo=TZ))  # the deadline job has not run yet
    with pytest.raises(DomainError, match="已经结束"):
        await polls.vote(timed.id, HELPER, (1,), world.branch_id)


async def test_only_creator_or_admin_closes_and_only_once(world):
    polls = world.svc.polls
    poll = await new_poll(world)
    with pytest.raises(Forbidden):
        await polls.close(poll.id, Actor(HELPER), world.branch_id, 5001)
    await polls.close(poll.id, world.secretary, world.branch_id, 5001)
    with pytest.raises(DomainError, match="已经结束了"):
        await polls.close(poll.id, world.secretary, world.branch_id, 5001)


async def test_closing_by_hand_posts_the_result_to_the_branchs_other_groups(world):
    svc = world.svc
    await svc.branches.bind(5003, world.branch_id, Actor(1, is_superuser=True))
    poll = await new_poll(world)
    await svc.polls.vote(poll.id, HELPER, (2,), world.branch_id)
    await svc.polls.close(poll.id, world.secretary, world.branch_id, 5001)
    rows = [r for r in await svc.outbox.repo.all() if "已结束" in r[5]]
    assert [r[2] for r in rows] == [5003]  # the asking group got the reply instead
    assert "考研经验  ██████████ 1 票 100.0%" in rows[0][5]


async def test_hidden_results_only_admins_see_counts_before_close(world):
    polls = world.svc.polls
    poll = await new_poll(world, "问题 | 甲 | 乙 隐藏结果")
    await polls.vote(poll.id, HELPER, (1,), world.branch_id)
    assert not await polls.may_see_counts(poll, Actor(HELPER))
    assert await polls.may_see_counts(poll, world.secretary)
    shown = polls.render(await polls.tally(poll), show_counts=False)
    assert " 票 " not in shown and "█" not in shown and "1. 甲\n2. 乙\n" in shown
    assert "本投票隐藏结果：截止或结束后公布" in shown
    await polls.close(poll.id, world.secretary, world.branch_id, 5001)
    assert await polls.may_see_counts(await polls.get(world.branch_id, poll.id), Actor(HELPER))


async def test_turnout_counts_only_active_profiles(world):
    svc = world.svc
    poll = await new_poll(world)
    for uid in (HELPER, WISHER, OUTSIDER):
        await svc.polls.vote(poll.id, uid, (1,), world.branch_id)
    tally = await svc.polls.tally(poll)
    assert (tally.voters, tally.member_voters, tally.members) == (3, 2, 5)
    assert tally.turnout == pytest.approx(0.4)
    text = svc.polls.render(tally)
    assert "党史故事  ██████████ 3 票 100.0%" in text
    assert "考研经验  ░░░░░░░░░░ 0 票 0.0%" in text
    assert "已投票 3 人；参与率 40.0%（登记成员 2/5 人）" in text


async def test_roster_names_choices_for_admins_of_named_polls_only(world):
    polls = world.svc.polls
    poll = await new_poll(world)
    await polls.vote(poll.id, HELPER, (2,), world.branch_id)
    await polls.vote(poll.id, OUTSIDER, (2,), world.branch_id)
    _, chosen = await polls.roster(poll.id, world.secretary, world.branch_id)
    assert chosen == [[], ["助人者", str(OUTSIDER)], []]
    with pytest.raises(Forbidden):
        await polls.roster(poll.id, Actor(HELPER), world.branch_id)
    anonymous = await new_poll(world, "问题 | 甲 | 乙 匿名")
    with pytest.raises(DomainError, match="匿名投票"):
        await polls.roster(anonymous.id, world.secretary, world.branch_id)


# anonymity -------------------------------------------------------------------------------


async def test_anonymous_ballot_cannot_be_replaced(world):
    polls = world.svc.polls
    poll = await new_poll(world, "问题 | 甲 | 乙 匿名")
    assert (await polls.vote(poll.id, HELPER, (1,), world.branch_id)).outcome == "received"
    assert (await polls.vote(poll.id, HELPER, (2,), world.branch_id)).outcome == "already"
    tally = await polls.tally(poll)  # received, waiting for its batch: not counted yet
    assert (tally.counts, tally.voters, tally.waiting) == ((0, 0), 0, 1)
    assert await polls.ballot_state(poll, HELPER) == "waiting"
    tally = await polls.close(poll.id, world.secretary, world.branch_id, 5001)
    assert (tally.counts, tally.voters, tally.waiting) == ((1, 0), 1, 0)
    assert await polls.ballot_state(poll, HELPER) == "counted"


async def columns(db, table):
    return [r[1] for r in await db.fetchall(f"PRAGMA table_info({table})")]


async def test_raw_tables_of_an_anonymous_poll_cannot_be_joined(world):
    """Read what the database holds after an anonymous poll and try every way to link a voter
    to a choice: a shared column, a timestamp, a rowid or the order rows were written in."""
    svc = world.svc
    db = svc.db
    poll = await new_poll(world, "问题 | 甲 | 乙 | 丙 匿名")
    order = [(SECRETARY, 3), (WISHER, 1), (MASSES, 2), (HELPER2, 1), (HELPER, 3)]
    for uid, choice in order:
        await svc.polls.vote(poll.id, uid, (choice,), world.branch_id)
    # while open, fewer than two batches wait: only who voted is written, never a choice
    assert await columns(db, "poll_waiting") == ["poll_id", "user_id"]
    assert len(await db.fetchall("SELECT * FROM poll_waiting")) == 5
    assert {r[0] for r in await db.fetchall("SELECT votes FROM poll_tallies")} == {0}
    await svc.polls.close(poll.id, world.secretary, world.branch_id, 5001)
    assert await db.fetchall("SELECT * FROM poll_waiting") == []

    voter_cols = await columns(db, "poll_voters")
    tally_cols = await columns(db, "poll_tallies")
    assert voter_cols == ["poll_id", "user_id"]  # no time, no choice, nothing else
    assert tally_cols == ["poll_id", "position", "votes"]
    assert set(voter_cols) & set(tally_cols) == {"poll_id"}  # only the poll itself is shared

    # no hidden rowid to order either table by (WITHOUT ROWID)
    for table in ("poll_voters", "poll_tallies"):
        with pytest.raises(Exception, match="no such column"):
            await db.fetchall(f"SELECT rowid FROM {table}")
    # nothing written to the named tables, and no sequence counter for these tables
    assert await db.fetchall("SELECT * FROM poll_ballots WHERE poll_id = ?", (poll.id,)) == []
    sequences = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_sequence")}
    assert not sequences & {"poll_voters", "poll_tallies", "poll_waiting"}

    # the stored order of voters is by QQ number, not by when they voted
    voters = [r[0] for r in await db.fetchall(
        "SELECT user_id FROM poll_voters WHERE poll_id = ?", (poll.id,))]
    assert voters == sorted(uid for uid, _ in order) != [uid for uid, _ in order]
    # what was chosen is three counters: one row per option, however many voted
    tallies = await db.fetchall(
        "SELECT position, votes FROM poll_tallies WHERE poll_id = ?", (poll.id,))
    assert [tuple(r) for r in tallies] == [(1, 2), (2, 1), (3, 2)]
    # the poll row itself carries nothing per voter
    assert "user_id" not in await columns(db, "polls")


async def vote_as(world, voters, poll, choice_of):
    for uid in voters:
        assert (await world.svc.polls.vote(poll.id, uid, (choice_of(uid),),
                                           world.branch_id)).outcome == "received"


async def counted(world, poll) -> tuple[int, tuple[int, ...], int]:
    tally = await world.svc.polls.tally(poll)
    return tally.voters, tally.counts, tally.waiting


async def test_anonymous_ballots_are_counted_in_batches_of_at_least_the_setting(world, settings):
    """Ballots wait until twice the batch size waits; then the oldest are counted together and
    one batch always stays behind, so the batch counted at the close is full too."""
    k = settings.anonymous_batch
    assert k == 5
    poll = await new_poll(world, "问题 | 甲 | 乙 匿名")
    voters = list(range(3001, 3013))  # twelve people (a profile is not needed in the group)
    choice = {uid: 1 + uid % 2 for uid in voters}
    await vote_as(world, voters[:9], poll, choice.get)
    assert await counted(world, poll) == (0, (0, 0), 9)
    await vote_as(world, voters[9:10], poll, choice.get)  # ten wait: the oldest five count
    assert await counted(world, poll) == (5, (2, 3), 5)
    first_five = {r[0] for r in await world.svc.db.fetchall("SELECT user_id FROM poll_voters")}
    assert first_five == set(voters[:5])
    await vote_as(world, voters[10:], poll, choice.get)
    assert await counted(world, poll) == (5, (2, 3), 7)
    tally = await world.svc.polls.close(poll.id, world.secretary, world.branch_id, 5001)
    assert (tally.voters, tally.counts, tally.waiting) == (12, (6, 6), 0)


async def test_a_restart_loses_waiting_ballots_and_their_voters_are_told(world, settings,
                                                                          clock, tmp_path):
    from domain.services import open_services

    poll = await new_poll(world, "问题 | 甲 | 乙 匿名")
    await vote_as(world, [HELPER, WISHER], poll, lambda uid: 1)
    # the bot stops (the choices were only in its memory) and starts again on the same file
    again = await open_services(settings, clock, world.svc.db.path)
    try:
        caught = await again.polls.catch_up()
        assert caught.lost == 2
        lost = [r for r in await again.outbox.repo.all() if "没能保存" in r[5]]
        assert sorted(r[2] for r in lost) == [WISHER, HELPER]
        assert all(r[1] == "private" and f"/投票 #{poll.id}" in r[5] for r in lost)
        assert await again.db.fetchall("SELECT * FROM poll_waiting") == []
        # they may vote again, and this time it is counted at the close
        assert (await again.polls.vote(poll.id, HELPER, (2,), world.branch_id)
                ).outcome == "received"
        tally = await again.polls.close(poll.id, world.secretary, world.branch_id, 5001)
        assert (tally.voters, tally.counts) == (1, (0, 1))
    finally:
        await again.db.close()


async def test_a_planned_stop_counts_whole_batches_only(world, settings):
    poll = await new_poll(world, "问题 | 甲 | 乙 匿名")
    small = await new_poll(world, "问题 | 甲 | 乙 匿名")
    await vote_as(world, range(4001, 4001 + settings.anonymous_batch + 1), poll, lambda uid: 1)
    await vote_as(world, range(4001, 4001 + settings.anonymous_batch - 1), small, lambda uid: 2)
    assert await world.svc.polls.count_before_stopping() == settings.anonymous_batch + 1
    assert (await counted(world, poll))[0] == settings.anonymous_batch + 1
    assert await counted(world, small) == (0, (0, 0), settings.anonymous_batch - 1)


def test_waiting_ballots_keep_one_batch_behind():
    from domain.anonymity import WaitingBallots

    async def unused(*_):
        raise AssertionError

    waiting = WaitingBallots(None, 3, what="poll", waiting=unused, store=unused, drop=unused,
                             tell_lost=unused)
    for uid in range(1, 6):
        waiting.add(7, uid, (1,))
    assert waiting.due(7) == []  # 5 < 2 × 3
    waiting.add(7, 6, (2,))
    assert [uid for uid, _ in waiting.due(7)] == [1, 2, 3]
    waiting.add(7, 7, (2,))
    assert [uid for uid, _ in waiting.due(7)] == [1, 2, 3, 4]
    waiting.forget(7, [1, 2, 3, 4])
    assert waiting.count(7) == 3 and waiting.due(7) == []
    assert [uid for uid, _ in waiting.all(7)] == [5, 6, 7]


# closing at the deadline is tested with the scheduler in tests/runtime/test_poll_restart.py
