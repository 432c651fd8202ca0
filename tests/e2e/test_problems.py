"""民情 over the real WebSocket: a student privately reports a broken light, the 支委 takes it on
in the group without its content being shown, the handler solves it (privately: typed in the
group it is refused and recalled), the student confirms with
5 stars in private; no group message ever carries the problem's text (nor the log, at INFO);
/统计 and the spreadsheet agree with a hand count from the database."""

import os
import sqlite3
import subprocess
import sys

from openpyxl import load_workbook

from tests.e2e.onebot import ROOT, OneBotClient

GROUP = 86001
OWNER, STUDENT, COMMITTEE, HANDLER, OTHER = 91001, 91002, 91003, 91004, 91005
LIGHT = "5楼502宿舍的顶灯坏了一直闪"
FIX = "换了新灯管"


def is_group_message(call: dict) -> bool:
    action, params = call["action"], call["params"]
    if action == "send_group_msg":
        return True
    return action == "send_msg" and (params.get("message_type") == "group" or (
        "message_type" not in params and params.get("group_id") is not None))


def is_private_reply(call: dict, user_id: int) -> bool:
    params = call["params"]
    return (call["action"] == "send_msg" and params.get("message_type") == "private"
            and params.get("user_id") == user_id)


def is_notice(call: dict, user_id: int) -> bool:
    return call["action"] == "send_private_msg" and call["params"].get("user_id") == user_id


def text_of(call: dict) -> str:
    message = call["params"].get("message")
    if isinstance(message, str):
        return message
    return "".join(seg["data"].get("text", "") for seg in message)


class Recorder:
    """Every API call the bot makes, in order; waits for the one a step expects (replies and
    queued private notices interleave: a notice queued with the change may go out before the
    command's reply, so calls not yet waited for are kept for a later step)."""

    def __init__(self, qq: OneBotClient) -> None:
        self.qq = qq
        self.calls: list[dict] = []
        self.unclaimed: list[dict] = []

    async def until(self, predicate, timeout: float = 15) -> dict:
        for call in self.unclaimed:
            if predicate(call):
                self.unclaimed.remove(call)
                return call
        while True:
            call = await self.qq.next_call(timeout)
            self.calls.append(call)
            if predicate(call):
                return call
            self.unclaimed.append(call)

    async def group_reply(self, user_id: int, text: str | list[dict], role: str = "member"):
        await self.qq.group_message(GROUP, user_id, text, role)
        return await self.until(is_group_message)

    async def private_reply(self, user_id: int, text: str) -> dict:
        await self.qq.private_message(user_id, text)
        return await self.until(lambda c: is_private_reply(c, user_id))


async def test_private_report_solved_and_confirmed_without_reaching_the_group(bot_process,
                                                                               tmp_path, bot_clock):
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        qq.results["get_group_info"] = {"group_id": GROUP, "member_count": 40}
        bot = Recorder(qq)
        for uid, name in ((STUDENT, "小明"), (COMMITTEE, "老张"), (HANDLER, "小李"),
                          (OTHER, "小红")):
            assert "已登记" in text_of(await bot.group_reply(uid, f"/登记 {name} 5楼"))
        await bot.group_reply(OWNER, f"/成员 设置 {COMMITTEE} 支委", role="owner")
        await bot.group_reply(OWNER, f"/成员 设置 {HANDLER} 正式党员", role="owner")

        # the student reports privately; the 支委 is told privately, with the content
        reply = await bot.private_reply(STUDENT, f"/反映 报修 {LIGHT}")
        assert "民情 #1 [报修]" in text_of(reply) and LIGHT in text_of(reply)
        notice = await bot.until(lambda c: is_notice(c, COMMITTEE))
        assert LIGHT in text_of(notice) and "/民情 受理 #1" in text_of(notice)

        # two group problems for the figures: one left waiting, one closed as a duplicate
        assert "民情 #2" in text_of(await bot.group_reply(OTHER, "/反映 生活 热水不够热"))
        assert "民情 #3" in text_of(await bot.group_reply(OTHER, "/反映 热水不够热"))
        reply = await bot.group_reply(COMMITTEE, "/民情 关闭 #3 与 #2 重复")
        assert "民情 #3 已关闭" in text_of(reply)

        # the 支委 assigns it in the group: the group sees the number and the handler only
        reply = await bot.group_reply(COMMITTEE, [
            {"type": "text", "data": {"text": "/民情 受理 #1 "}},
            {"type": "at", "data": {"qq": str(HANDLER)}}])
        assert "民情 #1 已受理，处理人：小李" in text_of(reply)
        notice = await bot.until(lambda c: is_notice(c, HANDLER))
        assert LIGHT in text_of(notice) and "你被指派处理" in text_of(notice)
        reply = await bot.group_reply(STUDENT, "/民情 清单")
        assert "#1 [报修] 处理中" in text_of(reply) and "私下反映" in text_of(reply)

        # the handler types the fix in the group: refused and recalled (the bot is a group
        # admin), so neither the group nor the log keeps it; privately it is taken
        qq.results["get_group_member_info"] = {"role": "admin"}
        qq.world.group(GROUP).accounts[qq.self_id] = "admin"  # QQ lets an admin recall
        await qq.group_message(GROUP, HANDLER, f"/民情 解决 #1 {FIX}")
        recall = await bot.until(lambda c: c["action"] == "delete_msg")
        reply = await bot.until(is_group_message)
        assert text_of(reply) == ("民情 #1 的内容不在群里公开，你的消息已撤回，请私聊我发送 "
                                  "/民情 解决 #1 <说明>。")
        assert isinstance(recall["params"]["message_id"], int)
        reply = await bot.private_reply(HANDLER, f"/民情 解决 #1 {FIX}")
        assert text_of(reply) == "民情 #1 已标记解决，已私聊通知反映人确认。"
        notice = await bot.until(lambda c: is_notice(c, STUDENT) and FIX in text_of(c))
        assert "/民情 确认 #1" in text_of(notice)

        # the student confirms with five stars, privately
        reply = await bot.private_reply(STUDENT, "/民情 确认 #1 5 很快就修好了")
        assert "民情 #1 已办结（5 分），处理人 小李 获得 3 积分" in text_of(reply)
        notice = await bot.until(lambda c: is_notice(c, HANDLER) and "评分 5 分" in text_of(c))

        await qq.group_message(GROUP, COMMITTEE, "/统计")
        await bot.until(lambda c: c["action"] == "get_group_info")  # the groups' member counts
        report = text_of(await bot.until(is_group_message))

    for call in bot.calls:
        if is_group_message(call):
            assert LIGHT not in text_of(call) and FIX not in text_of(call), call
    assert LIGHT not in bot_process.log()  # the bot logs at INFO in these tests
    assert FIX not in bot_process.log()

    # the hand count, from the database
    db = sqlite3.connect(bot_process.db_path)
    rows = db.execute("SELECT id, state, private, raised_at, taken_at, solved_at, rating "
                      "FROM problems ORDER BY id").fetchall()
    assert [(r[0], r[1], r[2], r[6]) for r in rows] == [
        (1, "done", 1, 5), (2, "pending", 0, None), (3, "closed", 0, None)]
    first = (rows[0][4] - rows[0][3]) / 3600
    fixed = (rows[0][5] - rows[0][3]) / 3600
    collected, done, closed = 3, 1, 1
    assert "民情收集：3 个" in report and "民情已办结：1 个" in report
    assert f"问题解决率：{done / (collected - closed) * 100:.1f}%（1/2）" in report
    assert "民情满意度：100.0%（1/1 个评价 ≥4 分）" in report
    assert f"首次响应用时：中位 {first:.1f} 小时，90% {first:.1f} 小时（1 个）" in report
    assert f"解决用时：中位 {fixed:.1f} 小时，90% {fixed:.1f} 小时（1 个）" in report
    assert db.execute("SELECT user_id, delta, ref FROM ledger").fetchall() == [
        (HANDLER, 3, "problem:1:done")]

    # the spreadsheet (admins only) has every problem, the private one's content included
    out = tmp_path / "term.xlsx"
    done_run = subprocess.run(
        [sys.executable, "-m", "tools.export", "--branch", "1", "-o", str(out), "--db",
         str(bot_process.db_path)], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, **bot_clock.env()})  # on the bot's date: the same term
    assert done_run.returncode == 0, done_run.stderr
    book = load_workbook(out)
    sheet = [[c.value for c in row] for row in book["民情"].iter_rows(min_row=2)]
    assert [(r[0], r[2], r[3]) for r in sheet] == [
        (1, "已办结", "私聊"), (2, "待受理", f"群 {GROUP}"), (3, "已关闭", f"群 {GROUP}")]
    assert sheet[0][6] == LIGHT and sheet[0][11] == 5
    rates = [row[1].value for row in book["汇总"].iter_rows(min_row=2)
             if row[0].value == "问题解决率"]
    assert rates[0] == "50.0%（1/2）" and abs(rates[1] - 0.5) < 1e-9  # as /统计 shows, and raw
