import time
from datetime import datetime, timedelta

from nonebot.adapters.onebot.v11 import ActionFailed, Bot

from domain.branches import Actor
from tests.conftest import TZ
from tests.fakes import GROUP, SELF_ID, Says, at, converse, group_message, private_message
from tests.plugins.conftest import HELPER, MASSES, SECRETARY, WISHER

TONIGHT = datetime(2026, 11, 27, 21, 0, tzinfo=TZ)


def code(services, session) -> str:
    """The code shown on the screen at the clock's time (codes rotate, issue 13)."""
    return services.sessions.code_now(session).code


def bot_is_member(services) -> None:
    """The bot is a plain member of the test group (known, so it is not asked)."""
    services.guard.roles.put(GROUP, int(SELF_ID), "member", time.monotonic())


async def schedule(services, branch, leader=HELPER, **kw):
    return await services.sessions.create(branch.id, GROUP, Actor(SECRETARY), "党章学习",
                                          TONIGHT, 60, leader, **kw)


async def test_create_sends_the_code_privately_never_to_the_group(app, branch, services):
    event = group_message(SECRETARY, at(HELPER, "/导学 发起 党章学习 今天 21:00 60 ", ""))
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, event)
        for uid in (HELPER, SECRETARY):
            ctx.should_call_api("send_private_msg", {
                "user_id": uid, "message": Says("签到码：", "不要发到群里"),
            }, result={"message_id": 1})
        group_reply = Says("已发起导学 #1「党章学习」", "2026-11-27 21:00-22:00", "导学人：小李",
                           "已私聊发给导学人和发起人")
        ctx.should_call_send(event, group_reply, result={"message_id": 2})
    session = await services.sessions.get(branch.id, 1)
    assert session.leader_id == HELPER and code(services, session) is not None
    assert code(services, session) not in str(group_reply.seen)
    assert session.screen_token not in str(group_reply.seen)


async def test_failed_private_send_points_to_the_private_command(app, branch, services, clock):
    event = group_message(SECRETARY, "/导学 发起 读书会 今天 21:00")
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_api("send_private_msg", {
            "user_id": SECRETARY, "message": Says("签到码："),
        }, exception=ActionFailed(status="failed", retcode=100, message="not friend"))
        ctx.should_call_send(event, Says("还没有加我", "没有送达", "/导学 签到码 #1"),
                             result={})
    session = await services.sessions.get(branch.id, 1)
    clock.set(TONIGHT)  # the current code is shown while check-in is open
    await converse(
        app,
        (private_message(SECRETARY, "/导学 签到码 #1"), Says(f"签到码：{code(services, session)}")),
        # a member is told who may see it (issue 14); an outsider is told nothing exists
        (private_message(WISHER, "/导学 签到码 #1"), Says("只发给本场导学人、发起人和管理员")),
        (private_message(99999, "/导学 签到码 #1"), Says("没有找到导学 #1")),
        (group_message(SECRETARY, "/导学 签到码 #1"),
         Says("只私聊发送", absent=(code(services, session),))),
    )


async def test_create_bad_input(app, branch):
    await converse(
        app,
        (group_message(SECRETARY, "/导学 发起"), Says("用法：/导学 发起 <主题> <开始时间>")),
        (group_message(SECRETARY, "/导学 发起 学习 下周 开会"), Says("时间格式不对", "用法：")),
        (group_message(SECRETARY, "/导学 发起 学习 今天 21:00 5"), Says("时长是 10 到 480 分钟")),
        (group_message(SECRETARY, "/导学 发起 学习 今天 21:00 60 胡说"),
         Says("用法：/导学 发起")),
        (group_message(MASSES, "/导学 发起 学习 今天 21:00"), Says("发起导学需要")),
    )


async def test_checkin_flow_in_the_group(app, branch, services, clock):
    session = await schedule(services, branch)
    bot_is_member(services)
    await converse(app, (group_message(WISHER, f"/签到 {code(services, session)}"),
                         Says("现在没有正在签到的导学")))
    clock.set(TONIGHT)
    wrong = next(c for c in ("0000", "1111", "2222") if c != code(services, session)
                 and services.sessions.judge(session, c, clock.timestamp()).value == "wrong")
    await converse(
        app,
        (group_message(WISHER, f"/签到 {wrong}"), Says("签到码不对，还可以再试 4 次")),
        (group_message(WISHER, f"/签到 {code(services, session)}"),
         Says("签到成功：导学 #1", "出勤 +2 分")),
        (group_message(WISHER, f"/checkin {code(services, session)}"),
         Says("已在 21:00 签到过导学 #1", "不重复计分")),
        (group_message(MASSES, "/签到"), Says("请发送 /签到 <4位签到码>")),
        (group_message(MASSES, "/签到 12345"), Says("用法：/签到 [签到码]")),
        (group_message(MASSES, "/签到 [CQ:at,qq=all]"), Says("用法：/签到 [签到码]")),
    )


async def test_list_cancel_and_sheet(app, branch, services, clock):
    session = await schedule(services, branch)
    clock.set(TONIGHT)
    await services.sessions.check_in(branch.id, HELPER, code(services, session))
    await converse(
        app,
        (group_message(WISHER, "/导学"), Says("#1 11-27 21:00-22:00「党章学习」", "导学人 小李",
                                             "签到中", "签到 1 人")),
        (group_message(WISHER, "/导学 签到表 #1"), Says("只有支委、书记、群管理员或本场导学人")),
        (group_message(WISHER, "/导学 取消 #1"), Says("只有支委、书记、群管理员或本场导学人")),
        (private_message(HELPER, "/导学 签到表 #1"),
         Says("签到表", "签到 1 人", "小李（20102）", "未到：", "无")),
    )
    event = group_message(SECRETARY, "/导学 签到表 1")
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_api("send_private_msg", {
            "user_id": SECRETARY, "message": Says("签到表", "小李"),
        }, result={"message_id": 1})
        ctx.should_call_send(event, Says("签到表已私聊发给你", absent=("小李",)), result={})
    await converse(app, (group_message(SECRETARY, "/导学 取消 #1"),
                         Says("导学 #1「党章学习」已取消")))


async def test_manual_checkin_and_rotation_commands(app, branch, services, clock):
    await schedule(services, branch)
    clock.set(TONIGHT + timedelta(minutes=5))
    await converse(
        app,
        (group_message(HELPER, at(WISHER, "/导学 补签 1 ", " 手机没电")),
         Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, at(WISHER, "/导学 补签 1 ", " 手机没电")),
         Says("已为 小王 补签导学 #1", "原因：手机没电", "记 2 积分")),
        (group_message(SECRETARY, at(WISHER, "/导学 补签 1 ")), Says("用法：/导学 补签")),
        (group_message(SECRETARY, "/导学 轮值"), Says("还没有设置轮值导学人")),
        (group_message(SECRETARY, f"/导学 轮值 {HELPER} {SECRETARY}"),
         Says("已设置轮值导学人", "→ 1. 小李", "2. 老张")),
        (group_message(HELPER, f"/导学 轮值 {HELPER}"), Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, "/导学 发起 党史 明天 19:00 无码"),
         Says("已发起导学 #2", "导学人：小李", "无需签到码")),
        (group_message(WISHER, "/导学 轮值"), Says("→ 2. 老张")),
    )


async def test_note_command(app, branch, services, clock):
    session = await schedule(services, branch)
    clock.set(TONIGHT)
    await services.sessions.check_in(branch.id, WISHER, code(services, session))
    note = "今天学习了党章总纲，" * 4
    await converse(
        app,
        (group_message(WISHER, "/笔记"), Says("用法：/笔记 <内容>")),
        (group_message(WISHER, "/笔记 太短了"), Says("读书笔记至少 30 字")),
        (group_message(WISHER, f"/笔记 {note}"), Says("已收到导学 #1「党章学习」的读书笔记",
                                                    "互动 +3 分")),
        (group_message(WISHER, f"/note {note}"), Says("已经提交过导学 #1")),
        (group_message(HELPER, f"/笔记 {note}"), Says("没有你签到过的导学")),
    )


async def test_checkin_sheet_typed_without_a_space_is_suggested_not_recalled(app, branch,
                                                                              services, clock):
    await schedule(services, branch)
    clock.set(TONIGHT)
    # the bot is a group admin: a code typed in the group would be recalled (delete_msg),
    # which nonebug would refuse here as an unexpected call
    services.guard.roles.put(GROUP, int(SELF_ID), "admin", time.monotonic())
    await converse(
        app,
        (group_message(SECRETARY, "/签到表 1"), Says("你是想用 /导学 签到表 <编号> 吗？")),
        (group_message(SECRETARY, "/签到表"), Says("你是想用 /导学 签到表 <编号> 吗？")),
        (group_message(HELPER, "/签到码 #1"), Says("你是想用 /导学 签到码 <编号>")),
    )
