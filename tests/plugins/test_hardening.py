"""Issue 9's findings, one test each: duplicates, floods, roles, edges, set-up, oracles."""

import asyncio
from datetime import timedelta

from nonebot.adapters.onebot.v11 import Bot, Message, MessageSegment

from domain.branches import Actor
from tests.fakes import (
    GROUP,
    OTHER_GROUP,
    SELF_ID,
    Says,
    converse,
    group_message,
    private_message,
)
from tests.plugins.conftest import HELPER, MASSES, SECRETARY, WISHER


def router_matcher():
    from plugins.router import commands

    return commands


async def test_the_same_event_delivered_twice_is_acted_on_once(app, branch, services):
    event = group_message(SECRETARY, at_text := f"/积分 调整 {WISHER} +5 组织活动")
    assert at_text
    await converse(app, (event, Says("记 +5 分")))
    async with app.test_matcher(router_matcher()) as ctx:  # same self_id and message_id
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, event)
        ctx.should_not_pass_rule(router_matcher())
    # re-delivered under a new message id: same sender, group, text and event time
    again = event.model_copy(update={"message_id": event.message_id + 1000})
    async with app.test_matcher(router_matcher()) as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, again)
        ctx.should_not_pass_rule(router_matcher())
    summary = await services.points.summary(branch.id, WISHER)
    assert summary.total == 5


async def test_two_racing_term_starts_make_one_term(services, branch):
    secretary = Actor(SECRETARY)
    results = await asyncio.gather(
        services.branches.start_term(branch.id, secretary, "2027春"),
        services.branches.start_term(branch.id, secretary, "2027春"),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert [t.name for t in await services.branches.terms(branch.id)].count("2027春") == 1


async def test_a_flooder_gets_one_warning_then_silence_and_others_are_answered(
        app, branch, services, clock, settings):
    burst = settings.flood_burst
    steps = [(group_message(WISHER, f"/积分榜 周{'' if i % 2 else ' '}"), Says("积分榜"))
             for i in range(burst)]
    steps.append((group_message(WISHER, "/积分"), Says("太快了")))
    await converse(app, *steps)
    for _ in range(3):  # silence: the rule drops them before any handler
        async with app.test_matcher(router_matcher()) as ctx:
            bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
            ctx.receive_event(bot, group_message(WISHER, "/积分"))
            ctx.should_not_pass_rule(router_matcher())
    await converse(app, (group_message(HELPER, "/积分"), Says("小李", "积分：0")))
    clock.advance(seconds=burst * settings.flood_refill_seconds)  # the allowance refills
    await converse(app, (group_message(WISHER, "/积分"), Says("小王", "积分：0")))


async def test_records_created_per_person_per_day_are_limited(app, branch, services, clock):
    services.settings.daily_create_limit = services.guard.quota.limit = 2
    await converse(
        app,
        (group_message(WISHER, "/许愿 一"), Says("心愿 #1 已发布")),
        (group_message(WISHER, "/心愿 发布 二"), Says("心愿 #2 已发布")),
        (group_message(WISHER, "/许愿 三"), Says("今天已经创建了 2 条记录")),
        (group_message(HELPER, "/许愿"), Says("用法：/许愿")),  # refused: not counted
        (group_message(HELPER, "/许愿 " + "长" * 300), Says("最多 200 字")),
        (group_message(HELPER, "/许愿 四"), Says("心愿 #3 已发布")),
    )
    clock.advance(days=1)
    await converse(app, (group_message(WISHER, "/许愿 五"), Says("心愿 #4 已发布")))


async def test_a_lagrange_owner_with_unknown_role_is_asked_for_and_recognised(app, branch):
    for role in ("unknown", ""):
        event = group_message(MASSES, "/成员 列表", role=role)
        async with app.test_matcher() as ctx:
            bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
            ctx.receive_event(bot, event)
            if role == "unknown":  # asked once, then cached
                ctx.should_call_api("get_group_member_info",
                                    {"group_id": GROUP, "user_id": MASSES, "no_cache": False},
                                    result={"role": "owner", "user_id": MASSES})
            ctx.should_call_send(event, Says("成员 4 人"), result={})
    # a role the QQ side does not vouch for is not trusted
    event = group_message(HELPER, "/成员 列表", role="unknown")
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_api("get_group_member_info",
                            {"group_id": GROUP, "user_id": HELPER, "no_cache": False},
                            result={"role": "superadmin"})
        ctx.should_call_send(event, Says("只有支委、书记或群管理员"), result={})


async def test_hostile_edges_get_clear_answers_not_the_generic_error(app, branch, services):
    hidden = "\u200b\u200b\u2060"
    await converse(
        app,
        (group_message(SECRETARY, "/导学 发起 t 9999-12-31 23:59 60"),
         Says("时间太远了", "用法：", absent=("出错了",))),
        (group_message(SECRETARY, "/提醒 添加 2100-01-01 08:00 开会"),
         Says("时间太远了", absent=("出错了",))),
        (group_message(WISHER, "/许愿 借伞\ud800"), Says("心愿 #1 已发布：借伞")),
        (group_message(WISHER, f"/许愿 {hidden}"), Says("用法：/许愿 <内容>")),
        (group_message(WISHER, "/许愿 \u202e已完成\u202c 借书"),
         Says("心愿 #2 已发布：已完成 借书")),
        (group_message(WISHER, "/许愿 a\x00b\x1b[31mc"), Says("心愿 #3 已发布：ab[31mc")),
    )
    for user_id, group_id in ((2**64, GROUP), (WISHER, 2**63)):
        event = group_message(WISHER, "/我的")
        event = event.model_copy(update={"user_id": user_id, "group_id": group_id})
        await converse(app, (event, Says("无法识别这个QQ号或群号")))
    stored = [w.content for w in (await services.wishes.list_page(branch.id, 1)).wishes]
    assert stored == ["借伞", "已完成 借书", "ab[31mc"]


async def test_a_group_becomes_a_branch_only_when_its_admin_sets_it_up(app, services):
    new_group = 700099
    await converse(
        app,
        (group_message(WISHER, "/许愿 借伞", group_id=new_group), Says("本群还没有设置支部")),
        (group_message(WISHER, "/帮助", group_id=new_group), Says("功能菜单")),
        (group_message(WISHER, "/支部 创建 一支部", group_id=new_group),
         Says("只有本群群主、群管理员")),
    )
    assert await services.branches.find_branch_for_group(new_group) is None
    await converse(
        app,
        (group_message(WISHER, "/支部 创建 社区第一党支部", group_id=new_group, role="owner"),
         Says("已创建支部 #1「社区第一党支部」", "/支部 绑定 #1")),
        (group_message(WISHER, "/支部 创建 又一个", group_id=new_group, role="owner"),
         Says("本群已经属于支部 #1")),
        (group_message(WISHER, "/许愿 借伞", group_id=new_group), Says("心愿 #1 已发布")),
    )


async def test_session_numbers_of_another_branch_are_simply_not_found(app, branch, services):
    session = await services.sessions.create(
        branch.id, GROUP, Actor(SECRETARY), "党章", services.clock.now() + timedelta(hours=1), 60,
        HELPER)
    other = await services.branches.branch_for_group(OTHER_GROUP)
    await services.branches.register(other.id, 30001, "外人", None, None)
    await converse(
        app,
        (private_message(30001, f"/导学 签到表 #{session.id}"),
         Says(f"没有找到导学 #{session.id}")),
        (private_message(30001, f"/导学 签到码 #{session.id}"),
         Says(f"没有找到导学 #{session.id}")),
        (private_message(WISHER, f"/导学 签到码 #{session.id}"), Says("只发给本场导学人")),
    )


async def test_a_message_of_only_an_image_after_the_command_is_usage(app, branch):
    message = Message([MessageSegment.text("/许愿 "), MessageSegment.image("file:///x.png")])
    await converse(app, (group_message(WISHER, message), Says("用法：/许愿 <内容>")))
