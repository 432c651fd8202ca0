"""The outgoing queue under abuse and restarts: fairness across branches, the pacing window
rebuilt from the database, at-least-once re-sends, backlog warnings and pruning."""

import asyncio
from contextlib import asynccontextmanager
from itertools import pairwise

from domain.branches import Actor
from domain.outbox import text_segment
from domain.services import open_services
from runtime.outbox import OutboxDispatcher
from tests.runtime.test_outbox_dispatcher import FakeBot, dispatcher_for

ADMIN = Actor(1, is_group_admin=True)
BUSY_GROUP, QUIET_GROUP, THIRD_GROUP = 710001, 720001, 730001


def assert_paced(calls, settings):
    """At most the rate in any 60 s, and the per-group interval, over ``calls``."""
    times = sorted(t for t, _, _ in calls)
    for i, t in enumerate(times):
        window = sum(1 for u in times[i:] if u < t + 60)
        assert window <= settings.send_rate_per_minute, (t, window)
    by_target: dict = {}
    for t, _, data in calls:
        by_target.setdefault((data.get("group_id"), data.get("user_id")), []).append(t)
    for sends in by_target.values():
        sends.sort()
        gaps = [b - a for a, b in pairwise(sends)]
        assert all(g >= settings.send_interval_seconds - 1e-6 for g in gaps), gaps


async def steps_until(dispatcher, bot, predicate, max_steps=2000):
    for _ in range(max_steps):
        if predicate(bot.calls):
            return
        await dispatcher.tick()
    raise AssertionError("condition never reached")


def group_calls(calls, group_id):
    return [c for c in calls if c[2].get("group_id") == group_id and c[1] == "send_group_msg"]


# --- fairness ----------------------------------------------------------------------------


async def test_one_branch_backlog_does_not_starve_another_branch(svc, clock, settings):
    busy = await svc.branches.branch_for_group(BUSY_GROUP)
    quiet = await svc.branches.branch_for_group(QUIET_GROUP)
    for i in range(300):  # what 300 `cron * * * * *` reminders queue in one minute
        await svc.outbox.to_branch(busy.id, [text_segment(f"⏰ 提醒：刷屏{i}")], "reminder")
    await svc.outbox.to_branch(quiet.id, [text_segment("📢 公告：今晚支部大会")], "announcement")

    bot = FakeBot(clock)
    dispatcher = dispatcher_for(svc, clock, bot)
    start = clock.now().timestamp()
    await steps_until(dispatcher, bot, lambda calls: group_calls(calls, QUIET_GROUP))
    # two targets have messages waiting: one rotation is two sends
    assert len(bot.calls) <= 2
    [(sent_at, _, data)] = group_calls(bot.calls, QUIET_GROUP)
    assert data["message"][0].data["text"] == "📢 公告：今晚支部大会"
    # at most one account spacing (60/rate seconds) after the busy branch's first send
    assert sent_at - start <= 60 / settings.send_rate_per_minute

    # the busy branch keeps going, still within both limits
    await steps_until(dispatcher, bot, lambda calls: len(calls) >= 45)
    assert_paced(bot.calls, settings)
    assert len(group_calls(bot.calls, BUSY_GROUP)) >= 40


async def test_targets_take_turns(svc, clock, settings):
    first = await svc.branches.branch_for_group(BUSY_GROUP)
    second = await svc.branches.branch_for_group(QUIET_GROUP)
    third = await svc.branches.branch_for_group(THIRD_GROUP)
    for i in range(60):
        await svc.outbox.to_branch(first.id, [text_segment(f"A{i}")], "reminder")
        await svc.outbox.to_branch(second.id, [text_segment(f"B{i}")], "reminder")
    bot = FakeBot(clock)
    dispatcher = dispatcher_for(svc, clock, bot)
    await steps_until(dispatcher, bot, lambda calls: len(calls) >= 10)
    await svc.outbox.to_branch(third.id, [text_segment("C")], "announcement")
    await steps_until(dispatcher, bot, lambda calls: len(calls) >= 30)
    order = [d["group_id"] for _, _, d in bot.calls]
    assert THIRD_GROUP in order[10:13]  # three targets busy: within one rotation
    busy = [g for g in order if g != THIRD_GROUP]
    assert all(a != b for a, b in pairwise(busy))  # strict alternation
    # each target's own messages stay in their order
    texts = [d["message"][0].data["text"] for _, _, d in bot.calls if d["group_id"] == BUSY_GROUP]
    assert texts == [f"A{i}" for i in range(len(texts))]
    assert_paced(bot.calls, settings)


async def test_due_heads_is_one_row_per_target(svc, clock):
    now = clock.now().timestamp()
    repo = svc.outbox.repo
    async with svc.db.transaction():
        for _ in range(5):
            await repo.add(branch_id=None, target_type="group", target_id=1, segments=[],
                           kind="x", now=now)
        await repo.add(branch_id=None, target_type="private", target_id=1, segments=[],
                       kind="x", now=now)
        later = await repo.add(branch_id=None, target_type="group", target_id=2, segments=[],
                               kind="x", now=now + 100)
        await repo.add(branch_id=None, target_type="group", target_id=2, segments=[],
                       kind="x", now=now)
        await repo.mark_retry(1, "boom", now + 50)  # group 1's oldest waits for its retry
    heads = await repo.due_heads(now)
    assert [(m.target_key, m.id) for m in heads] == [
        ("group:1", 2), ("private:1", 6), ("group:2", later + 1)]


# --- restarts ----------------------------------------------------------------------------


@asynccontextmanager
async def process(path, settings, clock, bot):
    """One bot process: services and a dispatcher on the database at ``path``."""
    svc = await open_services(settings, clock, str(path))
    try:
        yield svc, dispatcher_for(svc, clock, bot)
    finally:
        await svc.db.close()


async def test_restart_rebuilds_the_pacing_window(tmp_path, clock, settings):
    path = tmp_path / "pace.db"
    bot = FakeBot(clock)
    async with process(path, settings, clock, bot) as (svc, dispatcher):
        for i in range(settings.send_rate_per_minute):
            await svc.outbox.to_group(800000 + i, [text_segment(f"第{i}条")], "announcement")
        await dispatcher.drain()
    assert len(bot.calls) == settings.send_rate_per_minute
    last_send = bot.calls[-1][0]
    clock.advance(seconds=0.5)  # killed and restarted right after the last send

    async with process(path, settings, clock, bot) as (svc, dispatcher):
        for i in range(5):
            await svc.outbox.to_group(800000 + i, [text_segment(f"重启后{i}")], "announcement")
        await dispatcher.drain()
    after = [t for t, _, _ in bot.calls[settings.send_rate_per_minute:]]
    assert len(after) == 5
    # the account's spacing and its minute window are remembered: not sent at once
    assert min(after) >= last_send + 60 / settings.send_rate_per_minute
    assert_paced(bot.calls, settings)


async def test_restart_keeps_the_per_group_interval(tmp_path, clock, settings):
    path = tmp_path / "interval.db"
    bot = FakeBot(clock)
    async with process(path, settings, clock, bot) as (svc, dispatcher):
        await svc.outbox.to_group(810000, [text_segment("一")], "announcement")
        await dispatcher.drain()
    clock.advance(seconds=0.5)
    async with process(path, settings, clock, bot) as (svc, dispatcher):
        await svc.outbox.to_group(810000, [text_segment("二")], "announcement")
        await dispatcher.drain()
    [(t1, _, _), (t2, _, _)] = bot.calls
    assert t2 - t1 >= settings.send_interval_seconds


class KilledDuringSend(FakeBot):
    """The QQ side takes the message, then the process dies before the reply arrives."""

    def __init__(self, clock, kill_at_call: int):
        super().__init__(clock)
        self.kill_at_call = kill_at_call

    async def call_api(self, api: str, **data):
        answer = await super().call_api(api, **data)
        if len(self.calls) == self.kill_at_call:
            await asyncio.Event().wait()  # never answers: the task is cancelled here
        return answer


async def test_kill_between_send_and_mark_is_found_in_the_history_not_sent_twice(
        tmp_path, clock, settings):
    path = tmp_path / "kill.db"
    rate = settings.send_rate_per_minute
    bot = KilledDuringSend(clock, kill_at_call=rate)
    async with process(path, settings, clock, bot) as (svc, dispatcher):
        for i in range(rate + 5):
            await svc.outbox.to_group(820000 + i, [text_segment(f"消息{i}")], "announcement")
        task = asyncio.create_task(dispatcher.drain())
        while len(bot.calls) < rate:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        task.cancel()  # kill -9 while the last call is in flight
        await dispatcher.stop()
        await asyncio.gather(task, return_exceptions=True)
        counts = await svc.outbox.repo.counts()
        assert counts == {"sent": rate - 1, "pending": 6}
    clock.advance(seconds=1)

    async with process(path, settings, clock, bot) as (svc, dispatcher):
        await dispatcher.drain()
        assert (await svc.outbox.repo.counts()) == {"sent": rate + 5}
    sends = [c for c in bot.calls if c[1] == "send_group_msg"]
    texts = [d["message"][0].data["text"] for _, _, d in sends]
    # the QQ side had taken the in-flight message: the group's history says so after the
    # restart, and it is marked sent instead of going twice
    assert texts.count(f"消息{rate - 1}") == 1 and len(sends) == rate + 5
    assert [c[1] for c in bot.calls].count("get_group_msg_history") == 1
    assert_paced(sends, settings)


# --- backlog warning ---------------------------------------------------------------------


async def make_secretary(svc, branch_id, user_id=60001):
    await svc.branches.register(branch_id, user_id, "王书记", None, None)
    await svc.branches.set_role(branch_id, ADMIN, user_id, "书记")
    return user_id


async def warnings(svc):
    rows = await svc.db.fetchall(
        "SELECT target_type, target_id FROM outbox WHERE kind = 'backlog_warning' ORDER BY id")
    return [tuple(r) for r in rows]


async def test_backlog_warns_the_secretary_once_until_it_clears(tmp_path, clock, settings):
    path = tmp_path / "backlog.db"
    threshold = settings.outbox_backlog_warn
    bot = FakeBot(clock)
    async with process(path, settings, clock, bot) as (svc, dispatcher):
        branch = await svc.branches.branch_for_group(BUSY_GROUP)
        secretary = await make_secretary(svc, branch.id)
        for i in range(threshold):
            await svc.outbox.to_branch(branch.id, [text_segment(f"提醒{i}")], "reminder")
        assert await warnings(svc) == []  # at the threshold: not yet
        for i in range(threshold):
            await svc.outbox.to_branch(branch.id, [text_segment(f"更多{i}")], "reminder")
        assert await warnings(svc) == [("private", secretary)]

        # the warning is its own target: it goes out within one rotation, not after the backlog
        await steps_until(dispatcher, bot, lambda calls: any(
            c[1] == "send_private_msg" for c in calls))
        assert len(bot.calls) <= 2
        [(_, _, data)] = [c for c in bot.calls if c[1] == "send_private_msg"]
        assert data["user_id"] == secretary and "group_id" not in data  # never a temp route
        assert f"积压超过 {threshold} 条" in data["message"][0].data["text"]

    async with process(path, settings, clock, bot) as (svc, dispatcher):  # a restart
        await svc.outbox.to_group(BUSY_GROUP, [text_segment("再来")], "reminder",
                                  branch_id=branch.id)
        assert len(await warnings(svc)) == 1  # remembered across the restart
        await dispatcher.drain()  # the backlog clears
        for i in range(threshold + 1):
            await svc.outbox.to_branch(branch.id, [text_segment(f"又积压{i}")], "reminder")
        assert len(await warnings(svc)) == 2  # a new backlog: told again, once


async def test_backlog_without_registered_admins_tells_the_group(svc, clock, settings):
    branch = await svc.branches.branch_for_group(BUSY_GROUP)
    for i in range(settings.outbox_backlog_warn + 20):
        await svc.outbox.to_branch(branch.id, [text_segment(f"提醒{i}")], "reminder")
    assert await warnings(svc) == [("group", BUSY_GROUP)]


# --- pruning -----------------------------------------------------------------------------


async def add_row(svc, target_id, state, age_days):
    now = svc.clock.now().timestamp()
    repo = svc.outbox.repo
    async with svc.db.transaction():
        row_id = await repo.add(branch_id=None, target_type="group", target_id=target_id,
                                segments=[text_segment("x")], kind="reminder",
                                now=now - age_days * 86400)
        if state == "sent":
            await repo.mark_sent(row_id, now - age_days * 86400)
        elif state == "failed":
            await repo.mark_failed(row_id, "风控")
    return row_id


async def test_sent_rows_are_pruned_after_keep_days_hourly(svc, clock, settings):
    keep = settings.outbox_keep_days
    await add_row(svc, 1, "sent", keep + 1)
    await add_row(svc, 2, "sent", keep - 1)
    await add_row(svc, 3, "failed", keep + 10)
    dispatcher = OutboxDispatcher(svc, lambda: None)  # no bot: pruning still happens
    await dispatcher.step()
    assert [(r[2], r[3]) for r in await svc.outbox.repo.all()] == [(2, "sent"), (3, "failed")]

    clock.advance(minutes=59)
    await add_row(svc, 4, "sent", keep + 5)
    await dispatcher.step()  # the last pruning was less than an hour ago
    assert [r[2] for r in await svc.outbox.repo.all()] == [2, 3, 4]
    clock.advance(minutes=2)
    await dispatcher.step()
    assert [(r[2], r[3]) for r in await svc.outbox.repo.all()] == [(2, "sent"), (3, "failed")]
