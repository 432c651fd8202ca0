"""kill -9 at random points while changes that notify someone are being made, over the real
WebSocket (issue 20, finding 4): every promotion from a waitlist and every 民情 change that
committed has its notice queued — none is promoted or changed without being told.

Each round sends a burst of commands at once and kills the bot after a random number of their
replies (a reply is sent after its change committed; the others are in flight), then restarts
it on the same database and checks the database: the change and its notice, or neither.
"""

import json
import random
import re
import sqlite3
from datetime import timedelta
from functools import partial

from tests.e2e.onebot import BotProcess, OneBotClient, message_text

GROUP = 86701
SECRETARY, COMMITTEE, HANDLER = 61701, 61702, 61703
STUDENTS = [7_100_000 + i for i in range(300)]
REPORTERS = [7_200_000 + i for i in range(20)]
SEED = random.randrange(1_000_000)


def is_reply(call: dict) -> bool:
    """A reply to a command (queued notices go out as send_group_msg / send_private_msg)."""
    return call["action"] == "send_msg"


async def replies(qq: OneBotClient, count: int, timeout: float = 20) -> list[dict]:
    found = []
    while len(found) < count:
        call = await qq.next_call(timeout)
        if is_reply(call):
            found.append(call)
    return found


async def burst_then_kill(bot: BotProcess, qq: OneBotClient, sends, rng: random.Random) -> None:
    """Post every command at once, wait for a random number of replies (at least one, so
    something committed), then kill -9."""
    for send in sends:
        await send()
    await replies(qq, rng.randint(1, len(sends)))
    bot.proc.kill()
    bot.proc.wait()


def outbox(db_path, kind: str) -> list[tuple[int, str]]:
    """(person, text) of every private message of ``kind`` queued, sent or not."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT target_id, segments FROM outbox WHERE kind = ? "
                          "AND target_type = 'private'", (kind,)).fetchall()
    return [(uid, "".join(s["data"].get("text", "") for s in json.loads(segments)))
            for uid, segments in rows]


async def test_waitlist_promotions_survive_kill_9_with_their_notices(tmp_path, bot_clock):
    rng = random.Random(SEED)
    bot = BotProcess(tmp_path / "e2e.db", tmp_path / "bot.log")
    bot.start()
    try:
        starts = (bot_clock.now() + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
        async with OneBotClient(bot.port) as qq:
            await qq.set_up_group(GROUP, SECRETARY)
            await qq.group_message(GROUP, SECRETARY, f"/活动 发起 微分享 考研经验 {starts} 60 "
                                                     "名额 50 无码", role="owner")
            assert "已发起微分享 #1" in message_text((await replies(qq, 1))[0])
            for uid in STUDENTS:
                await qq.group_message(GROUP, uid, "/报名 #1")
            answered = await replies(qq, len(STUDENTS), timeout=60)
        confirmed = [c["params"]["user_id"] for c in answered
                     if "报名成功" in message_text(c)]
        assert len(confirmed) == 50
        bot.stop()  # each round starts it again, and kills it
        promoted_total = 0
        for round_no in range(5):  # 20 cancellations at once, killed at a random point
            bot.start()
            leaving = confirmed[round_no * 10:round_no * 10 + 10]
            async with OneBotClient(bot.port) as qq:
                await burst_then_kill(bot, qq, [
                    partial(qq.group_message, GROUP, uid, "/报名 取消 #1") for uid in leaving], rng)
            with sqlite3.connect(bot.db_path) as db:
                promoted = {r[0] for r in db.execute(
                    "SELECT user_id FROM signups WHERE promoted_at IS NOT NULL")}
                cancelled = db.execute(
                    "SELECT COUNT(*) FROM signups WHERE status = 'cancelled'").fetchone()[0]
            told = {uid for uid, text in outbox(bot.db_path, "waitlist_promoted")
                    if "候补转为微分享 #1" in text}
            assert promoted == told, f"seed {SEED}, round {round_no}: untold {promoted - told}"
            assert len(promoted) == cancelled  # each freed place went to the next waiting
            promoted_total = len(promoted)
        assert promoted_total > 0, f"seed {SEED}: no cancellation committed in 5 rounds"
    finally:
        bot.stop()


def problems(db_path) -> dict[int, dict]:
    with sqlite3.connect(db_path) as db:
        found = {pid: {"reporter": reporter, "state": state, "actions": []}
                 for pid, reporter, state in db.execute(
                     "SELECT id, reporter_id, state FROM problems")}
        for pid, action in db.execute("SELECT problem_id, action FROM problem_events"):
            found[pid]["actions"].append(action)
    return found


def notices_about(db_path, user_id: int, pattern: str) -> set[int]:
    """The problem numbers of the notices queued to ``user_id`` whose text matches
    ``pattern`` (with ``{id}`` where the number is)."""
    regex = re.compile(pattern.replace("{id}", r"(\d+)"))
    # a privately raised problem's notices are secrets of their own kinds (domain/delivery.py)
    kinds = ("problem_notice", "problem_notice_private", "problem_new_private")
    return {int(m.group(1)) for kind in kinds for uid, text in outbox(db_path, kind)
            if uid == user_id and (m := regex.search(text))}


async def test_problem_notices_survive_kill_9(tmp_path):
    rng = random.Random(SEED)
    bot = BotProcess(tmp_path / "e2e.db", tmp_path / "bot.log")
    bot.start()
    try:
        async with OneBotClient(bot.port) as qq:
            await qq.set_up_group(GROUP, SECRETARY)
            for uid, name in ((COMMITTEE, "老张"), (HANDLER, "小李"),
                              *((r, f"同学{i}") for i, r in enumerate(REPORTERS))):
                await qq.group_message(GROUP, uid, f"/登记 {name}")
            await replies(qq, 2 + len(REPORTERS))
            await qq.group_message(GROUP, SECRETARY, f"/成员 设置 {COMMITTEE} 支委", role="owner")
            await qq.group_message(GROUP, SECRETARY, f"/成员 设置 {HANDLER} 正式党员",
                                   role="owner")
            await replies(qq, 2)
            # raised privately at once: the 支委 must hear of every problem that exists
            await burst_then_kill(bot, qq, [
                partial(qq.private_message, uid, f"/反映 报修 {uid} 宿舍的灯坏了")
                for uid in REPORTERS], rng)
        raised = problems(bot.db_path)
        assert raised, f"seed {SEED}: nothing raised"
        told = notices_about(bot.db_path, COMMITTEE, "新的私下反映：民情 #{id} ")
        assert told == set(raised), f"seed {SEED}: 支委 never told of {set(raised) - told}"

        steps = [  # (who acts, the state it needs, command, the action, (who is told, what)…)
            (COMMITTEE, "pending", "/民情 受理 #{id} " + str(HANDLER), "受理",
             (("reporter", "你反映的民情 #{id} 已受理"),
              (HANDLER, "民情 #{id} \\[报修\\] 你被指派"))),
            (HANDLER, "in_progress", "/民情 解决 #{id} 换了灯管", "解决",
             (("reporter", "你反映的民情 #{id} 已解决"),)),
            ("reporter", "solved", "/民情 确认 #{id} 5", "确认",
             ((HANDLER, "民情 #{id} \\[报修\\] 已办结"),)),
        ]
        for actor, state, command, action, told_whom in steps:
            bot.start()
            sends = [(p["reporter"] if actor == "reporter" else actor, command.format(id=pid))
                     for pid, p in problems(bot.db_path).items() if p["state"] == state]
            async with OneBotClient(bot.port) as qq:
                await burst_then_kill(bot, qq, [partial(qq.private_message, uid, text)
                                                for uid, text in sends], rng)
            now = problems(bot.db_path)
            changed = {pid for pid, p in now.items() if action in p["actions"]}
            assert changed, f"seed {SEED}: no {action} committed"
            for whom, pattern in told_whom:
                for pid in changed:
                    person = now[pid]["reporter"] if whom == "reporter" else whom
                    assert pid in notices_about(bot.db_path, person, pattern), (
                        f"seed {SEED}: {action} of 民情 #{pid} committed, {person} never told")
    finally:
        bot.stop()
