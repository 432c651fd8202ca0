"""What a member naturally types in a private chat with the bot (after checking in there):
notes, /我的, /积分, /心愿 我的, /活动 我的… for the branch of their profile, or ``支部#N``."""

from datetime import datetime, timedelta

from domain.branches import Actor
from tests.conftest import TZ
from tests.fakes import GROUP, OTHER_GROUP, Says, converse, group_message, private_message
from tests.plugins.conftest import HELPER, SECRETARY, WISHER

TONIGHT = datetime(2026, 11, 27, 21, 0, tzinfo=TZ)
NOTE = "今天学习了党章第一章，理解了党员的八项义务，尤其是密切联系群众这一条，收获很大。"


async def test_a_member_checks_in_and_writes_notes_privately(app, branch, services, clock):
    session = await services.sessions.create(branch.id, GROUP, Actor(SECRETARY), "党章学习",
                                             TONIGHT, 60, HELPER)
    await services.activities.create(branch.id, GROUP, Actor(SECRETARY), "微分享", "考研经验",
                                     TONIGHT + timedelta(days=1), 60, capacity=5)
    clock.set(TONIGHT)
    code = services.sessions.code_now(session).code
    await converse(
        app,
        (private_message(WISHER, f"/签到 {code}"), Says("签到成功：导学 #1")),
        (private_message(WISHER, f"/笔记 {NOTE}"),
         Says("已收到导学 #1「党章学习」的读书笔记", "互动 +3 分")),
        (private_message(WISHER, "/笔记 我的"), Says("我的读书笔记（1 篇", "导学 #1")),
        (private_message(WISHER, "/我的"), Says("小王（20101）", "积分：5")),
        (private_message(WISHER, "/积分"), Says("小王", "积分：5", "出勤 2", "互动 3")),
        (private_message(WISHER, "/积分 明细"), Says("积分明细", "读书笔记")),
        (private_message(WISHER, "/积分榜"), Says("积分榜", "我：第 1 名")),
        (private_message(WISHER, "/心愿 我的"), Says("我发布的：无", "我认领的：无")),
        (private_message(WISHER, "/报名 #2"), Says("报名成功：微分享 #2")),
        (private_message(WISHER, "/活动 我的"), Says("我的报名：", "#2 [微分享]")),
        (private_message(WISHER, "/报名 我的"), Says("我的报名：", "#2 [微分享]")),
        (private_message(WISHER, "/导学"), Says("#1", "党章学习")),
        # what only makes sense in a group still says so
        (private_message(WISHER, "/心愿 认领 1"), Says("请在支部的QQ群里使用")),
    )


async def test_someone_in_two_branches_names_one(app, branch, services):
    other = await services.branches.branch_for_group(OTHER_GROUP)
    await converse(app, (group_message(WISHER, "/登记 小王 5楼", group_id=OTHER_GROUP),
                         Says("已登记")))
    await converse(
        app,
        (private_message(WISHER, "/积分"),
         Says("你在多个支部登记了", f"#{branch.id} ", f"#{other.id} ",
              f"/积分 [@某人] 支部#{branch.id}")),
        (private_message(WISHER, f"/笔记 我的 支部#{other.id}"), Says("你还没有提交过读书笔记")),
        (private_message(WISHER, f"/笔记 支部#{other.id} 我的"), Says("你还没有提交过读书笔记")),
        (private_message(WISHER, f"/我的 支部#{other.id}"), Says("小王（20101）", "5楼")),
        (private_message(WISHER, f"/我的 支部＃{branch.id}"), Says("小王（20101）", "3楼")),
        (private_message(WISHER, "/我的 支部#9"), Says("你没有在支部 #9 登记")),
        (private_message(SECRETARY, "/我的"), Says("老张（20104）")),  # one branch: no need
        (private_message(30999, "/积分"), Says("你还没有在任何支部登记")),
    )
    # in a group the branch is the group's, and 支部#N is just text
    await converse(app, (group_message(WISHER, f"/我的 支部#{other.id}"), Says("用法：/我的")))
