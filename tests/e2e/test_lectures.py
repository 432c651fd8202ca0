"""A 微党课 competition over the real WebSocket: three speakers, twelve people checked in; ten of
them score privately (step by step or one at a time, one changes a score), a speaker trying to
score themself and someone who did not check in are refused; when scoring closes the ranking
and the points match a hand count. And a race: fifty people score at once, each counted once."""

import sqlite3
from datetime import timedelta

from tests.e2e.onebot import (
    OneBotClient,
    advance,
    calls_until,
    exported_workbook,
    message_text,
    texts,
)

GROUP = 89001
SECRETARY = 65001
S1, S2, S3 = 65011, 65012, 65013  # speakers: 初心如磐, 奋斗青春, 强国有我
AUDIENCE = [65020 + i for i in range(9)]
OUTSIDER = 65090  # registered, never checked in
NAMES = {S1: "讲者甲", S2: "讲者乙", S3: "讲者丙", OUTSIDER: "外人"}

# hand count of the final scores (position 1 = S1, 2 = S2, 3 = S3), by scorer
SCORES = {
    AUDIENCE[0]: (3, 4, 5),  # gives S1 a 5 first, then changes it to 3
    AUDIENCE[1]: (5, 4, 3),
    AUDIENCE[2]: (5, 4, 4),
    AUDIENCE[3]: (5, 4, 4),
    AUDIENCE[4]: (4, 4, 4),
    AUDIENCE[5]: (5, 4, 5),
    AUDIENCE[6]: (4, 4, 3),
    AUDIENCE[7]: (5, 4, 4),
    AUDIENCE[8]: (5, 4, 4),
    S1: (None, 4, 4),  # a speaker scores the others, never themself
}
# S1: 3+5+5+5+4+5+4+5+5 = 41 / 9 = 4.56; S2: 40 / 10 = 4.00; S3: 40 / 10 = 4.00 (a shared 2nd);
# 29 scores in all, 121 / 29 = 4.17. Each speaker: 出勤 2, 互动 3 + 2 (all three are in the top 3)


def speakers_message(entries: list[tuple[int, str]], head: str) -> list[dict]:
    segments = [{"type": "text", "data": {"text": head}}]
    for uid, title in entries:
        segments.append({"type": "at", "data": {"qq": str(uid)}})
        segments.append({"type": "text", "data": {"text": f" {title} "}})
    return segments


async def private_reply(qq: OneBotClient, user_id: int, typed: str) -> str:
    await qq.private_message(user_id, typed)
    call = await qq.next_call()
    assert call["action"] == "send_msg" and call["params"]["user_id"] == user_id, call
    return message_text(call)


async def a_night(qq: OneBotClient, bot_clock, speakers: list[tuple[int, str]],
                  people: list[int]) -> float:
    """The branch, everyone registered, a 微党课 in 20 minutes with its speakers, and
    ``people`` checked in; returns its start (Unix seconds)."""
    await qq.set_up_group(GROUP, SECRETARY)
    for uid in dict.fromkeys([*people, *(s for s, _ in speakers), OUTSIDER]):
        call = await qq.reply_to(GROUP, uid, f"/登记 {NAMES.get(uid, f'听众{uid % 1000}')}")
        assert "已登记" in message_text(call)
    starts = bot_clock.now() + timedelta(minutes=20)
    call = await qq.reply_to(GROUP, SECRETARY,
                             f"/活动 发起 微党课 青年说 {starts:%Y-%m-%d %H:%M} 60 无码",
                             role="owner")
    assert "已发起微党课 #1「青年说」" in message_text(call)
    await qq.group_message(GROUP, SECRETARY, speakers_message(speakers, "/活动 讲者 #1 "),
                           role="owner")
    reply = message_text(await qq.next_call())
    assert "已设置微党课 #1「青年说」的讲者" in reply
    for uid in people:
        call = await qq.reply_to(GROUP, uid, "/签到")
        assert "签到成功：微党课 #1「青年说」" in message_text(call)
    return starts.replace(second=0).timestamp()


async def test_a_lecture_night_scored_by_its_audience(fast_bot, bot_clock):
    async with OneBotClient(fast_bot.port) as qq:
        qq.results["get_group_info"] = {"member_count": 30}
        qq.results["upload_group_file"] = None
        speakers = [(S1, "初心如磐"), (S2, "奋斗青春"), (S3, "强国有我")]
        starts = await a_night(qq, bot_clock, speakers, [S1, S2, S3, *AUDIENCE])
        assert "还没开始" in await private_reply(qq, AUDIENCE[0], "/评分 #1")
        await advance(fast_bot.port, starts + 60)

        # refused: a speaker scoring themself, and someone who did not check in
        assert "不能给自己评分" in await private_reply(qq, S2, "/评分 #1 2 5")
        assert "只有签到了微党课 #1的同学可以评分" in await private_reply(qq, OUTSIDER, "/评分 #1")
        assert "评分请私聊我" in message_text(await qq.reply_to(GROUP, S3, "/评分 #1 1 5"))

        # five score step by step, four one at a time, a speaker scores the other two
        first = dict(SCORES)
        first[AUDIENCE[0]] = (5, 4, 5)
        for scorer in AUDIENCE[:5]:
            intro = await private_reply(qq, scorer, "/评分 #1")
            assert "第 1/3 位：讲者甲《初心如磐》" in intro
            for value in first[scorer][:-1]:
                assert "位：" in await private_reply(qq, scorer, str(value))
            assert "感谢评分" in await private_reply(qq, scorer, str(first[scorer][-1]))
        for scorer in AUDIENCE[5:]:
            for position, value in enumerate(SCORES[scorer], start=1):
                reply = await private_reply(qq, scorer, f"/评分 #1 {position} {value}")
                assert f"打 {value} 分" in reply
        intro = await private_reply(qq, S1, "/评分 #1")
        assert "你是讲者之一，不给自己评分" in intro and "第 1/2 位：讲者乙《奋斗青春》" in intro
        assert "第 2/2 位：讲者丙" in await private_reply(qq, S1, "4")
        assert "感谢评分" in await private_reply(qq, S1, "4")
        reply = await private_reply(qq, AUDIENCE[0], "/评分 #1 1 3")  # a change of mind
        assert "替换了之前的 5 分" in reply

        # scoring closes a day after the end: the ranking is posted
        closes = starts + 60 * 60 + 24 * 3600
        await advance(fast_bot.port, closes + 60)
        calls = await calls_until(qq, lambda c: "评分结果" in texts(c))
        ranking = texts(calls)
        assert "🏆 微党课 #1「青年说」评分结果（共 29 个评分）" in ranking
        assert "第 1 名 讲者甲《初心如磐》平均 4.56 分（9 人评分）" in ranking
        assert "第 2 名 讲者乙《奋斗青春》平均 4.00 分（10 人评分）" in ranking
        assert "第 2 名 讲者丙《强国有我》平均 4.00 分（10 人评分）" in ranking
        assert not any(str(uid) in ranking for uid in AUDIENCE)  # nobody's score shown
        assert "已于" in await private_reply(qq, AUDIENCE[1], "/评分 #1 1 1")

        for speaker in (S1, S2, S3):
            call = await qq.reply_to(GROUP, SECRETARY, f"/积分 {speaker}")
            assert "积分：7" in message_text(call)
            assert "出勤 2 · 互动 5 · 服务 0 · 奖惩 0 · 荣誉 0" in message_text(call)
        call = await qq.reply_to(GROUP, SECRETARY, f"/积分 {AUDIENCE[0]}")
        assert "出勤 2 · 互动 0" in message_text(call)  # scoring earns nothing

        await qq.group_message(GROUP, SECRETARY, "/统计", role="owner")
        report = texts(await calls_until(qq, lambda c: "最佳微党课" in texts(c)))
        assert "微党课：举办 1 场，讲者 3 人次，评分 29 个，平均 4.17 分" in report
        assert ("最佳微党课：第1名 讲者甲《初心如磐》4.56 分（微党课 #1，9 人评）；"
                "第2名 讲者乙《奋斗青春》4.00 分（微党课 #1，10 人评）；"
                "第2名 讲者丙《强国有我》4.00 分（微党课 #1，10 人评）") in report
        assert "活动·微党课：举办 1 场，参与 12 人次（12 人）" in report

        book = await exported_workbook(qq, GROUP, SECRETARY)
    rows = list(book["微党课"].iter_rows(min_row=2, values_only=True))
    assert [(r[4], r[6], r[7], r[8], r[9], r[11]) for r in rows] == [
        (S1, "初心如磐", 9, 4.56, 1, "已截止"), (S2, "奋斗青春", 10, 4.0, 2, "已截止"),
        (S3, "强国有我", 10, 4.0, 2, "已截止")]
    assert rows[0][10] == "5、5、5、5、5、5、4、4、3"
    scores = list(book["微党课评分"].iter_rows(min_row=2, values_only=True))
    assert len(scores) == 29
    assert ("讲者甲", AUDIENCE[0], 3) in {(r[2], r[4], r[6]) for r in scores}
    raw = {r[0]: r[1] for r in book["汇总"].iter_rows(values_only=True)}
    assert (raw["微党课举办"], raw["微党课讲者人次"], raw["微党课评分数"], raw["微党课平均分"]) \
        == (1, 3, 29, 4.17)


async def test_fifty_score_at_once_and_each_is_counted_once(fast_bot, bot_clock):
    people = [66000 + i for i in range(50)]
    async with OneBotClient(fast_bot.port) as qq:
        starts = await a_night(qq, bot_clock, [(S1, "初心如磐")], people)
        await advance(fast_bot.port, starts + 60)
        # everyone taps twice at the same moment: 100 scores in flight for 50 people
        for uid in people:
            await qq.private_message(uid, "/评分 #1 1 5")
            await qq.private_message(uid, "/评分 #1 1 5")
        replies = await calls_until(qq, lambda c: len(c) == 100)
        assert all("打 5 分" in message_text(c) for c in replies)
        assert sum("分数没有变化" in message_text(c) for c in replies) == 50
        await advance(fast_bot.port, starts + 60 * 60 + 24 * 3600 + 60)
        ranking = texts(await calls_until(qq, lambda c: "评分结果" in texts(c)))
        assert "第 1 名 讲者甲《初心如磐》平均 5.00 分（50 人评分）" in ranking
    with sqlite3.connect(fast_bot.db_path) as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT scorer_id) FROM lecture_scores"
                          ).fetchone() == (50, 50)
        assert db.execute("SELECT COUNT(*) FROM ledger WHERE ref LIKE 'lecture:%'"
                          ).fetchone() == (2,)  # points_lecture and the top bonus, once each
