"""A secretary's first term (issue 14): each numbered item as a member or secretary meets it."""

import time
from datetime import datetime

from nonebot.adapters.onebot.v11 import Bot

from domain.branches import Actor
from domain.models import Category
from tests.conftest import TZ
from tests.fakes import GROUP, SELF_ID, Says, at, converse, group_message, private_message
from tests.plugins.conftest import HELPER, MASSES, SECRETARY, WISHER

FLOOR = 700005
CHEN, LI, OWNER = 40001, 40002, 40003
TONIGHT = datetime(2026, 11, 27, 21, 0, tzinfo=TZ)
NOTE = "今天学习了党章总纲，明白了党员要在宿舍和楼层里带头服务同学。" * 2


async def test_binding_a_floor_group_brings_its_members_wishes_and_points(app, branch):
    await converse(
        app,
        (group_message(CHEN, "/支部 创建 五楼", group_id=FLOOR, role="owner"),
         Says("已创建支部 #2「五楼」")),
        (group_message(CHEN, "/登记 陈静 5楼 501", group_id=FLOOR),
         Says("已登记：陈静（5楼 501）")),
        (group_message(LI, "/登记 李明 五楼", group_id=FLOOR), Says("已登记：李明（5楼）")),
        (group_message(LI, "/许愿 借一把伞", group_id=FLOOR), Says("心愿 #1 已发布")),
        (group_message(CHEN, f"/积分 调整 {LI} +3 帮忙", group_id=FLOOR, role="owner"),
         Says("已为 李明 记 +3 分")),
        (group_message(SECRETARY, f"/支部 绑定 #{branch.id}", group_id=FLOOR, role="admin"),
         Says(f"本群已并入支部 #{branch.id}", "原支部 #2「五楼」的记录已一并转入",
              "并入 2 名成员、1 个心愿、1 条积分流水")),
        (group_message(CHEN, "/我的", group_id=FLOOR), Says("陈静（40001）", "5楼 501")),
        (group_message(LI, "/积分", group_id=FLOOR), Says("李明", "积分：3")),
        (group_message(WISHER, "/心愿"), Says("#1 [待认领] 借一把伞")),
        (group_message(SECRETARY, "/成员 列表 5"), Says("成员 2 人", "【5楼】", "陈静", "李明")),
    )


async def test_the_owner_of_both_groups_may_bind_the_floor_group(app, branch):
    for role, answer in (("member", Says("不能绑定到该支部")),
                         ("owner", Says(f"本群已并入支部 #{branch.id}"))):
        event = group_message(OWNER, f"/支部 绑定 #{branch.id}", group_id=FLOOR, role="owner")
        async with app.test_matcher() as ctx:
            bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
            ctx.receive_event(bot, event)
            ctx.should_call_api("get_group_member_info",
                                {"group_id": GROUP, "user_id": OWNER, "no_cache": False},
                                result={"group_id": GROUP, "user_id": OWNER, "role": role})
            ctx.should_call_send(event, answer, result={})
        if role == "member":  # the answer is cached briefly; the QQ side says owner now
            app_roles(branch).clear()


def app_roles(branch):
    from runtime import lifecycle

    return lifecycle.services().guard.roles._roles


async def test_floors_are_one_structure_with_a_group_leader(app, branch, services):
    event_steps = [
        (group_message(30101, "/登记 张三 四楼 401室"), Says("已登记：张三（4楼 401）")),
        (group_message(30102, "/登记 李四 4F 402"), Says("已登记：李四（4楼 402）")),
        (group_message(30103, "/登记 王五 4 403"), Says("已登记：王五（4楼 403）")),
        (group_message(SECRETARY, "/成员 设置 30101 组长"),
         Says("张三（30101）现在是4楼党小组组长")),
        (group_message(SECRETARY, "/成员 列表 4"),
         Says("成员 3 人", "【4楼 · 党小组组长 张三】", "李四", "王五", absent=("四楼", "4F"))),
        (group_message(SECRETARY, "/成员 列表 3"), Says("成员 4 人", "【3楼】", "小李")),
        (group_message(SECRETARY, "/成员 列表"), Says("【3楼】", "【4楼 · 党小组组长 张三】")),
    ]
    await converse(app, *event_steps)
    event = group_message(SECRETARY, "/统计")
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_api("get_group_info", {"group_id": GROUP}, result={"member_count": 9})
        ctx.should_call_send(event, Says(
            "📊 支部工作报告\n支部：", "3楼：成员 4 人",
            "4楼：成员 3 人，其中入党积极分子及以上 0 人",
            "；党小组组长 张三", "身份构成：群众 6，正式党员 1",
            absent=("楼层 ", "应服务", "支部工作报告 ·")), result={})


async def test_notes_are_readable_by_the_leader_and_admins_and_their_author(app, branch,
                                                                          services, clock):
    session = await services.sessions.create(branch.id, GROUP, Actor(SECRETARY), "党章学习",
                                             TONIGHT, 60, HELPER)
    clock.set(TONIGHT)
    await services.sessions.check_in(branch.id, WISHER, services.sessions.code_now(session).code)
    await services.sessions.add_note(branch.id, WISHER, NOTE)
    await converse(
        app,
        (group_message(MASSES, "/笔记 列表 #1"),
         Says("只有本场导学人和支委、书记、群管理员可以看")),
        (group_message(WISHER, "/笔记 我的"), Says("我的读书笔记（1 篇", "导学 #1「党章学习」",
                                                  f"{len(NOTE)} 字", NOTE[:10])),
        (group_message(MASSES, "/笔记 我的"), Says("你还没有提交过读书笔记")),
        (private_message(SECRETARY, "/笔记 列表 1"),
         Says("导学 #1「党章学习」", "读书笔记（1 篇）", "小王（20101）", NOTE)),
        (group_message(SECRETARY, "/笔记 列表"), Says("用法：/笔记 列表 <导学编号>")),
    )
    event = group_message(HELPER, "/笔记 列表 #1")
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_api("send_private_msg", {
            "user_id": HELPER, "message": Says("读书笔记（1 篇）", NOTE),
        }, result={"message_id": 1})
        ctx.should_call_send(event, Says("读书笔记（1 篇）已私聊发给你", absent=(NOTE[:10],)),
                             result={})


async def test_pairing_by_default_makes_the_pairs_it_can(app, branch, services):
    owner = Actor(1, is_group_admin=True)
    await services.branches.set_role(branch.id, owner, WISHER, "预备党员")
    await services.branches.set_role(branch.id, owner, MASSES, "入党积极分子")
    await converse(app, (group_message(SECRETARY, "/结对"),
                         Says("符合条件的成员有 3 人，默认的 5 对结不满，结了能结的 1 对",
                              "结对帮扶（1 对）")))


async def test_a_removed_member_is_off_the_boards_and_told_so(app, branch, services):
    for uid, pts in ((WISHER, 9), (HELPER, 5)):
        await services.points.book(branch.id, uid, Category.AWARD, pts, "x", ref=None)
    await converse(
        app,
        (group_message(SECRETARY, f"/成员 移除 {WISHER}"), Says("已移除 小王")),
        (group_message(HELPER, "/积分榜"), Says("1. 小李 5 分", "（1 人上榜）", absent=("小王",))),
        (group_message(HELPER, "/积分榜 总"), Says("🏆 总积分榜", absent=("小王", "总榜积分榜"))),
        (group_message(WISHER, "/我的"),
         Says("小王（20101），你的档案已被管理员从本支部移除", "积分：9（已移除，不参加排名）",
              absent=("你还没有登记", "第 1 名"))),
    )


async def test_specific_answers_for_wrong_input(app, branch, services):
    services.guard.roles.put(GROUP, int(SELF_ID), "member", time.monotonic())  # the bot's role
    await converse(
        app,
        (group_message(WISHER, "/心愿 评价 1 6"), Says("评分只能是 1 到 5 分", "用法：/心愿 评价")),
        (group_message(WISHER, "/签到 12345"), Says("签到码是 4 位数字，你发的是 5 位")),
        (group_message(WISHER, "/签到 ＃8492"),
         Says("签到码是 4 位数字，前面不用加 #", absent=("8492",))),  # never echoed in a group
        (group_message(SECRETARY, "/成员 设置 123 积极分子"), Says("「123」不是 QQ 号")),
        (group_message(SECRETARY, "/成员 移除 1234"), Says("「1234」不是 QQ 号")),
        (group_message(SECRETARY, f"/成员 设置 {MASSES} 积极分子"),
         Says("小赵（20103）现在是：入党积极分子")),
        (group_message(SECRETARY, f"/成员 设置 {MASSES} 发展"), Says("现在是：发展对象")),
        (group_message(SECRETARY, f"/成员 设置 {MASSES} 预备"), Says("现在是：预备党员")),
        (group_message(SECRETARY, f"/成员 设置 {MASSES} 正式"), Says("现在是：正式党员")),
    )


async def test_the_wording_a_student_reads(app, branch, services, clock):
    wish = await services.wishes.post(branch.id, GROUP, WISHER, "借一把伞")
    await services.branches.set_role(branch.id, Actor(1, is_superuser=True), MASSES, "预备党员")
    await services.wishes.claim(branch.id, wish.id, HELPER)
    await services.sessions.create(branch.id, GROUP, Actor(SECRETARY), "党章学习", TONIGHT, 60,
                                   HELPER)
    clock.set(TONIGHT)
    menu = Says("功能菜单")
    await converse(
        app,
        (group_message(MASSES, f"/心愿 认领 {wish.id}"),
         Says("心愿 #1 已由 小李 认领，不能再认领")),
        (group_message(SECRETARY, at(WISHER, "/导学 补签 1 ", " 手机没电")),
         Says("已为 小王 补签")),
        (group_message(SECRETARY, at(WISHER, "/导学 补签 1 ", " 手机没电")),
         Says("小王 已经签到过导学 #1", absent=(str(WISHER),))),
        (group_message(MASSES, "/帮助"), menu),
    )
    menu_lines = "".join(s.data["text"] for s in menu.seen).splitlines()
    features = [line.split("：")[0].lstrip("· ") for line in menu_lines if line.startswith("·")]
    assert features[:3] == ["微心愿", "导学", "活动"] and features[-1] == "帮助"
    assert features.index("微积分") < features.index("成员") < features.index("统计")
