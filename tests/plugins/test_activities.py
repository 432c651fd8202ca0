"""/活动, /报名 and /请假 through the router, as members would type them."""

from nonebot.adapters.onebot.v11 import Bot

from domain.branches import Actor
from tests.fakes import GROUP, OTHER_GROUP, SELF_ID, Says, converse, group_message
from tests.plugins.conftest import HELPER, MASSES, SECRETARY, WISHER


async def test_create_a_sharing_with_places_and_sign_up_until_the_waitlist(app, branch):
    event = group_message(SECRETARY, "/活动 发起 微分享 考研经验 今天 21:00 60 名额 2 "
                                     "截止 今天 20:30 地点 一楼活动室")
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_api("send_private_msg", {
            "user_id": SECRETARY, "message": Says("微分享 #1", "签到码："),
        }, result={"message_id": 1})
        ctx.should_call_send(event, Says("已发起微分享 #1「考研经验」", "地点：一楼活动室",
                                         "名额 2 人", "报名截止 11-27 20:30", "/报名 #1",
                                         "签到码已私聊发给负责人"), result={})
    await converse(
        app,
        (group_message(WISHER, "/报名 #1"), Says("报名成功：微分享 #1「考研经验」")),
        (group_message(WISHER, "/报名 1"), Says("已经报名了", "不用重复报名")),
        (group_message(HELPER, "/报名 #1 带朋友", group_id=GROUP), Says("报名成功")),
        (group_message(MASSES, "/报名 #1"), Says("名额已满", "候补第 1 位")),
        (group_message(MASSES, "/报名 我的"), Says("#1 [微分享]", "候补第 1 位")),
        (group_message(MASSES, "/活动 详情 #1"),
         Says("名额：2 人 · 已报名 2 人 · 候补 1 人", "我：候补第 1 位")),
        (group_message(WISHER, "/报名 取消 #1"),
         Says("已取消微分享 #1的报名", "候补第 1 位同学已递补")),
        (group_message(MASSES, "/活动 详情 #1"), Says("我：已报名")),
        (group_message(WISHER, "/活动"), Says("#1 [微分享]", "报名 2/2")),
    )


async def test_capacity_changes_and_refusals(app, branch, services):
    activity = await services.activities.create(
        branch.id, GROUP, Actor(SECRETARY), "志愿服务", "打扫楼道",
        services.clock.now().replace(hour=21), 60, capacity=1)
    await services.activities.sign_up(branch.id, WISHER, activity.id)
    await services.activities.sign_up(branch.id, HELPER, activity.id)
    await converse(
        app,
        (group_message(WISHER, f"/活动 名额 #{activity.id} 5"),
         Says("只有支委、书记、群管理员或活动负责人")),
        (group_message(SECRETARY, f"/活动 名额 #{activity.id} 3"),
         Says("名额改为 3 人", "1 位候补同学已转为正式报名")),
        (group_message(SECRETARY, f"/活动 名额 #{activity.id} 1"),
         Says("已有 2 人报名成功，名额不能少于 2")),
        (group_message(SECRETARY, f"/活动 名额 #{activity.id} 0"), Says("名额是 1 到 2000")),
        (group_message(SECRETARY, f"/活动 名额 #{activity.id}"), Says("用法：/活动 名额")),
    )


async def test_bad_input_gets_usage_or_a_clear_answer(app, branch, services):
    await services.branches.branch_for_group(OTHER_GROUP)
    await converse(
        app,
        (group_message(SECRETARY, "/活动 发起"), Says("用法：/活动 发起 <类型> <主题> <时间>")),
        (group_message(SECRETARY, "/活动 发起 聚餐 吃饭 今天 21:00"), Says("活动类型可以是")),
        (group_message(SECRETARY, "/活动 发起 微分享 x 今天 21:00 名额 9999"),
         Says("名额是 1 到 2000")),
        (group_message(SECRETARY, "/活动 发起 微分享 x 今天 21:00 截止 明天 08:00"),
         Says("报名截止时间不能晚于活动开始时间")),
        (group_message(SECRETARY, "/活动 发起 支委会 x 今天 21:00 名额 5"), Says("不用报名")),
        (group_message(SECRETARY, "/活动 发起 微分享 x 今天 21:00 胡说"), Says("用法：/活动 发起")),
        (group_message(WISHER, "/报名 abc"), Says("用法：", "/报名 <编号>")),
        (group_message(WISHER, "/报名 #99"), Says("没有找到活动 #99")),
        (group_message(WISHER, "/请假 #1"), Says("用法：/请假 <编号> <原因>")),
        (group_message(WISHER, "/活动 胡说"), Says("用法：", "/活动 发起", "/活动 名单")),
    )


async def private_roster(app, asker: int, activity_id: int, *fragments: str,
                         absent: tuple[str, ...] = (), reply: Says | None = None) -> None:
    """``/活动 名单`` in the group: the list goes privately, the group gets one line."""
    event = group_message(asker, f"/活动 名单 #{activity_id}")
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_api("send_private_msg", {
            "user_id": asker, "message": Says(*fragments, absent=absent),
        }, result={"message_id": 2})
        ctx.should_call_send(event, reply or Says("名单已私聊发给你"), result={})


async def test_meeting_leave_and_the_private_roster_with_four_states(app, branch, services,
                                                                      clock):
    from datetime import timedelta

    owner = Actor(1, is_group_admin=True)
    await services.branches.set_role(branch.id, owner, WISHER, "预备党员")
    await services.branches.set_role(branch.id, owner, MASSES, "预备党员")
    starts = clock.now() + timedelta(hours=1)
    meeting = await services.activities.create(branch.id, GROUP, Actor(SECRETARY), "支部党员大会",
                                               "年度大会", starts, 60, with_code=False)
    await converse(
        app,
        (group_message(WISHER, f"/请假 #{meeting.id} 实习在外地"),
         Says("已记录你对支部党员大会 #1「年度大会」的请假")),
        (group_message(WISHER, f"/请假 #{meeting.id} 再请"), Says("已经为支部党员大会 #1 请过假")),
        (group_message(SECRETARY, f"/请假 #{meeting.id} 书记请假"),
         Says("不在支部党员大会 #1 的应到名单")),
        (group_message(SECRETARY, f"/报名 #{meeting.id}"), Says("不需要报名")),
    )
    clock.set(starts)
    await services.sessions.check_in(branch.id, HELPER, None)
    await converse(app, (group_message(MASSES, f"/请假 #{meeting.id} 晚了"),
                         Says("已经开始，不能再请假")))
    clock.set(starts + timedelta(hours=2))  # check-in closed: the states are final
    await private_roster(app, SECRETARY, meeting.id, "应到 3 人：出席 1、补签 0、请假 1、缺席 1",
                         "请假：", "小王（20101）（实习在外地）", "缺席：", "小赵（20103）",
                         reply=Says("名单已私聊发给你", "出勤率 33%", absent=("小赵", "小王")))
    await converse(app, (group_message(WISHER, f"/活动 名单 #{meeting.id}"),
                         Says("只有支委、书记、群管理员或活动负责人")))


async def test_another_branchs_activity_is_not_found(app, branch, services):
    activity = await services.activities.create(
        branch.id, GROUP, Actor(SECRETARY), "微分享", "分享", services.clock.now().replace(
            hour=21), 60, capacity=5)
    await services.branches.branch_for_group(OTHER_GROUP)
    await converse(
        app,
        (group_message(WISHER, f"/报名 #{activity.id}", group_id=OTHER_GROUP),
         Says(f"没有找到活动 #{activity.id}")),
        (group_message(WISHER, f"/活动 详情 #{activity.id}", group_id=OTHER_GROUP),
         Says(f"没有找到活动 #{activity.id}")),
    )


async def test_session_commands_keep_working_for_guided_study(app, branch):
    await converse(app, (group_message(WISHER, "/导学"), Says("近期没有导学")))


async def test_the_organiser_is_present_as_organiser_not_a_make_up(app, branch, services,
                                                                   clock):
    from datetime import timedelta

    from tests.fakes import private_message

    owner = Actor(1, is_group_admin=True)
    await services.branches.set_role(branch.id, owner, SECRETARY, "正式党员")
    await services.branches.set_role(branch.id, owner, WISHER, "预备党员")
    starts = clock.now() + timedelta(hours=2)
    meeting = await services.activities.create(branch.id, GROUP, Actor(SECRETARY), "党小组会",
                                               "学习交流", starts, 60)
    # before the start: nobody is 缺席 yet and there is no rate
    await private_roster(app, SECRETARY, meeting.id, "名单（未开始）", "应到 3 人，请假 0 人",
                         "应到（未请假）：", absent=("缺席", "出勤率"),
                         reply=Says("名单已私聊发给你", "未开始"))
    clock.set(starts)
    await converse(app, (private_message(SECRETARY, f"/导学 签到码 #{meeting.id}"),
                         Says("党小组会 #1「学习交流」当前签到码")))
    await services.sessions.check_in(branch.id, WISHER, services.sessions.code_now(meeting).code)
    await services.sessions.manual_check_in(branch.id, Actor(SECRETARY), meeting.id, HELPER,
                                            "会后补学")
    clock.set(starts + timedelta(hours=2))
    await services.sessions.fire_job(meeting.id, "summary")
    await private_roster(app, SECRETARY, meeting.id,
                         "应到 3 人：出席 2、补签 1、请假 0、缺席 0", "出席：",
                         "老张（20104）（负责人）", "补签：\n  小李（20102）",
                         absent=("补签：\n  老张",))
    [summary] = [r for r in await services.outbox.repo.all() if "签到结束" in r[5]]
    assert "出席 3 人" in summary[5]
    entries, _ = await services.points.ledger.entries_of(branch.id, SECRETARY, limit=5)
    assert [e.reason for e in entries] == ["党小组会 #1 签到（负责人到场）"]
