"""/反映 and /民情 through the matcher, in a group and in a private chat: every sub-command, the
refusals, the usage lines, another branch's numbers, the jobs, and privacy (a privately raised
problem's text never reaches a group reply or a group-targeted outbox row)."""

import json

from nonebot.adapters.onebot.v11 import Bot

from domain.branches import Actor
from tests.fakes import (
    GROUP,
    OTHER_GROUP,
    SELF_ID,
    Says,
    at,
    converse,
    group_message,
    private_message,
)
from tests.plugins.conftest import HELPER, MASSES, SECRETARY, WISHER

SECRET = "隔壁宿舍每晚打游戏到三点我已经失眠一周"
FIX = "已和隔壁同学谈过约定十一点后戴耳机"
HELPER2 = 20105


def hidden(*fragments: str, at: int | None = None) -> Says:
    """A group reply: contains ``fragments`` and none of the private problem's text."""
    return Says(*fragments, at=at, absent=(SECRET, SECRET[:10], FIX, "小王"))


async def outbox_rows(services, target_type: str) -> list[tuple[int, str, str]]:
    rows = await services.db.fetchall(
        "SELECT target_id, kind, segments FROM outbox WHERE target_type = ? ORDER BY id",
        (target_type,))
    return [(r[0], r[1], "".join(s["data"].get("text", "") for s in json.loads(r[2])))
            for r in rows]


async def assert_no_group_row_leaks(services) -> None:
    for _, _, text in await outbox_rows(services, "group"):
        assert SECRET[:10] not in text and FIX not in text


def jobs():
    """The plugin's jobs (imported after NoneBot is initialised)."""
    import plugins.problems as plugin

    return plugin


def test_anonymous_word_is_a_whole_word_at_either_end():
    split_anonymous = jobs().split_anonymous
    assert split_anonymous("生活 食堂太咸 匿名") == ("生活 食堂太咸", True)
    assert split_anonymous("匿名 食堂太咸") == ("食堂太咸", True)
    assert split_anonymous("我想匿名说") == ("我想匿名说", False)
    assert split_anonymous("匿名") == ("", True)


async def test_whole_loop_in_the_group(app, branch, services, clock):
    await converse(
        app,
        (group_message(MASSES, "/反映 报修 三楼走廊灯坏了"),
         Says("已收到民情 #1 [报修]", "三楼走廊灯坏了", "/民情 详情 #1")),
        (group_message(HELPER, "/民情"), Says("民情·未办结（第 1/1 页，共 1 个）",
                                              "#1 [报修] 待受理", "三楼走廊灯坏了")),
        (group_message(HELPER, "/民情 受理 #1"),
         Says("民情 #1「三楼走廊灯坏了」已受理，处理人：小李", "/民情 解决 #1")),
    )
    clock.advance(hours=1)
    await converse(
        app,
        (group_message(HELPER, "/民情 进展 1 已报给宿管"), Says("已记录民情 #1 的进展")),
        (group_message(HELPER, "/民情 解决 #1 换了灯管"),
         Says("民情 #1「三楼走廊灯坏了」已解决，已提醒反映人确认。")),
        (group_message(MASSES, "/民情 确认 #1 5 很快"),
         Says("感谢确认！民情 #1 已办结（5 分），处理人 小李 获得 3 积分")),
        (group_message(WISHER, "/民情 详情 #1"),
         Says("民情 #1 [报修] 已办结", "反映人：小赵", "内容：三楼走廊灯坏了", "处理人：小李",
              "评分：5 分", "小赵 反映", "小李 受理 → 小李", "小李 进展：已报给宿管",
              "小李 解决：换了灯管", "小赵 确认：5 分：很快")),
        (group_message(WISHER, "/民情 清单"),
         Says("问题清单：未解决 0 个，其中超时 0 个", "本周已解决 1 个", "#1 [报修] 已办结")),
        (group_message(HELPER, "/积分"), Says("服务 3")),
    )
    # the reporter is @-mentioned in the group through the queue, queued with the change
    [(group, kind, told)] = await outbox_rows(services, "group")
    assert (group, kind) == (GROUP, "problem_solved")
    assert told.startswith(" 你反映的民情 #1 已由 小李 解决：换了灯管")
    assert "/民情 确认 #1 <1-5>" in told and "3 天内可发送 /民情 重开 #1" in told
    [row] = await services.db.fetchall("SELECT segments FROM outbox WHERE kind = ?", (kind,))
    assert json.loads(row[0])[0] == {"type": "at", "data": {"qq": str(MASSES)}}
    # the private notices are the progress note (to the reporter) and the confirmation (to
    # the handler)
    private = await outbox_rows(services, "private")
    expected = [(MASSES, "你反映的民情 #1 已受理"),
                (MASSES, "你反映的民情 #1 有新进展：已报给宿管"),
                (HELPER, "民情 #1 [报修] 已办结，反映人评分 5 分")]
    assert len(private) == len(expected)
    for (uid, _, text), (want_uid, want) in zip(private, expected, strict=True):
        assert uid == want_uid and text.startswith(want), text


async def test_private_problem_never_reaches_the_group(app, branch, services, clock):
    await converse(app, (
        private_message(WISHER, f"/反映 心理 {SECRET}"),
        Says("已收到你的反映：民情 #1 [心理]", SECRET, "群里不会显示"),
    ))
    problem = await services.problems.get(branch.id, 1)
    assert problem.private and problem.group_id is None
    # the secretary hears of it privately, with the content
    [(uid, kind, text)] = await outbox_rows(services, "private")
    assert (uid, kind) == (SECRETARY, "problem_new_private") and SECRET in text and "小王" in text

    clock.advance(hours=2)
    await converse(
        app,
        (group_message(MASSES, "/民情"), hidden("#1 [心理] 待受理", "（私下反映，内容不公开）")),
        (group_message(HELPER, "/民情 受理 #1"), hidden("私下反映的，由支委指派处理人")),
        (group_message(SECRETARY, at(HELPER, "/民情 受理 #1 ")),
         hidden("民情 #1 已受理，处理人：小李。")),
        (group_message(MASSES, "/民情 清单"), hidden("问题清单：未解决 1 个", "#1 [心理] 处理中",
                                                   "（私下反映，内容不公开）")),
        (group_message(MASSES, "/民情 详情 #1"),
         hidden("反映人：匿名同学（私下反映）", "内容：（私下反映，内容不公开）", "匿名同学 反映",
                "老张 受理 → 小李")),
        (group_message(SECRETARY, "/民情 详情 #1"), hidden("完整内容已私聊发给你")),
        (private_message(HELPER, "/民情 详情 #1"), Says(SECRET, "反映人：小王", "处理人：小李")),
        (private_message(HELPER, "/民情 进展 #1 约了周三谈"), Says("已记录民情 #1 的进展")),
    )
    # notes typed in the group are refused (and recalled where the bot is a group admin)
    for role, recalled in (("admin", "你的消息已撤回，"), ("member", "")):
        for sub in ("进展", "解决"):
            event = group_message(HELPER, f"/民情 {sub} #1 {FIX}")
            async with app.test_matcher() as ctx:
                bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
                ctx.receive_event(bot, event)
                ctx.should_call_api("get_group_member_info", {
                    "group_id": GROUP, "user_id": int(SELF_ID), "no_cache": False},
                    result={"role": role})
                if recalled:
                    ctx.should_call_api("delete_msg", {"message_id": event.message_id},
                                        result=None)
                ctx.should_call_send(event, hidden(
                    f"民情 #1 的内容不在群里公开，{recalled}请私聊我发送 /民情 {sub} #1 <说明>。"),
                    result={"message_id": 1})
            services.guard.roles._roles.clear()
    assert (await services.problems.get(branch.id, 1)).state == "in_progress"  # unchanged
    await converse(
        app,
        (private_message(HELPER, f"/民情 解决 #1 {FIX}"),
         Says("民情 #1 已标记解决，已私聊通知反映人确认")),
        (private_message(WISHER, "/民情 重开 #1 还是很吵"),
         Says("民情 #1 已重开，回到处理中，处理人 小李 会继续跟进")),
        (private_message(HELPER, f"/民情 解决 #1 {FIX}"),
         Says("民情 #1 已标记解决，已私聊通知反映人确认")),
        (group_message(WISHER, "/民情 确认 #1 5"), hidden("民情 #1 已办结（5 分）", "获得 3 积分")),
        (group_message(MASSES, "/民情 详情 #1"),
         hidden("匿名同学 反映", "匿名同学 重开", "匿名同学 确认", "评分：5 分")),
        (group_message(MASSES, "/民情 已办结"), hidden("#1 [心理] 已办结")),
        (private_message(WISHER, "/民情 详情 #1"),
         Says(SECRET, "反映人：小王", f"小李 解决：{FIX}", "小王 重开：还是很吵")),
    )
    private = await outbox_rows(services, "private")
    by_user = {}
    for uid, _, text in private:
        by_user.setdefault(uid, []).append(text)
    assert any(SECRET in t and "你被指派处理" in t for t in by_user[HELPER])
    assert any("完整内容" not in t and SECRET in t for t in by_user[SECRETARY][1:])
    assert any(FIX in t and "/民情 确认 #1" in t for t in by_user[WISHER])
    assert any("有新进展：约了周三谈" in t for t in by_user[WISHER])
    await jobs().post_weekly_problems()
    await assert_no_group_row_leaks(services)


async def test_anonymous_in_the_group_hides_content_and_name(app, branch, services):
    await converse(
        app,
        (group_message(WISHER, "/反映 生活 食堂的菜太咸了 匿名"),
         Says("已收到民情 #1 [生活]（匿名）", "群里不显示内容和反映人",
              absent=("食堂的菜太咸了",))),
        (group_message(MASSES, "/民情 详情 #1"),
         Says("反映人：匿名同学", "（匿名反映，内容不公开）", absent=("小王", "太咸"))),
        (private_message(SECRETARY, "/民情 详情 #1"),
         Says("反映人：小王（匿名）", "食堂的菜太咸了")),
    )
    assert (await services.problems.get(branch.id, 1)).anonymous


async def test_private_branch_choice(app, branch, services):
    await converse(app, (private_message(30001, "/反映 宿舍漏水"),
                         Says("你还没有在任何支部登记，无法私聊反映")))
    other = await services.branches.branch_for_group(OTHER_GROUP)
    await services.branches.register(other.id, WISHER, "小王", None, None)
    await converse(
        app,
        (private_message(WISHER, "/反映 宿舍漏水"),
         Says("你在多个支部登记了", f"#{branch.id}", f"#{other.id}", f"/反映 支部#{branch.id}")),
        (private_message(WISHER, f"/反映 支部#{other.id} 报修 宿舍漏水"),
         Says("民情 #1 [报修]", "宿舍漏水")),
        (private_message(WISHER, "/反映 支部#9 宿舍漏水"), Says("你没有在支部 #9 登记")),
        (private_message(WISHER, f"/民情 列表 支部#{other.id}"),
         Says("#1 [报修] 待受理", "宿舍漏水")),
        (private_message(WISHER, f"/民情 清单 支部#{other.id}"), Says("未解决 1 个", "宿舍漏水")),
    )
    assert (await services.problems.get(other.id, 1)).branch_id == other.id


async def test_another_branch_number_is_not_found(app, branch, services):
    await services.problems.raise_problem(branch.id, None, WISHER, SECRET)
    other = await services.branches.branch_for_group(OTHER_GROUP)
    await services.branches.register(other.id, 30002, "外支部", None, None)
    await converse(
        app,
        (group_message(30002, "/民情 详情 #1", group_id=OTHER_GROUP), Says("没有找到民情 #1")),
        (group_message(30002, "/民情 受理 #1", group_id=OTHER_GROUP), Says("没有找到民情 #1")),
        (private_message(30002, "/民情 详情 #1"), Says("没有找到民情 #1")),
        (private_message(30002, "/民情 确认 #1 5"), Says("没有找到民情 #1")),
        (private_message(30003, "/民情 详情 #1"), Says("没有找到民情 #1")),
        (group_message(HELPER, "/民情 详情 #99"), Says("没有找到民情 #99")),
    )


async def test_refusals(app, branch, services):
    await services.branches.register(branch.id, HELPER2, "小孙", None, None)
    await services.branches.set_role(branch.id, Actor(SECRETARY), HELPER2, "预备党员")
    await services.problems.raise_problem(branch.id, GROUP, WISHER, "报修 窗户关不上")
    await converse(
        app,
        (group_message(MASSES, "/民情 受理 #1"), Says("处理民情需要身份", "你目前是群众")),
        (group_message(WISHER, "/民情 受理 #1"), Says("不能受理自己反映的民情")),
        (group_message(HELPER, at(HELPER2, "/民情 受理 #1 ")),
         Says("只有支委、书记或群管理员可以指派")),
        (group_message(HELPER, "/民情 解决 #1 好了"), Says("只有处理人或支委可以标记解决")),
        (group_message(SECRETARY, "/民情 解决 #1 好了"), Says("当前待受理，不能标记解决")),
        (group_message(HELPER, "/民情 受理 #1"), Says("已受理，处理人：小李")),
        (group_message(HELPER2, "/民情 受理 #1"), Says("当前处理中，不能受理")),
        (group_message(HELPER2, "/民情 进展 #1 看看"), Says("只有处理人或支委可以报告进展")),
        (group_message(HELPER2, "/民情 解决 #1 好了"), Says("只有处理人或支委可以标记解决")),
        (group_message(HELPER, "/民情 确认 #1 5"), Says("只有反映人可以确认民情 #1")),
        (group_message(WISHER, "/民情 确认 #1 5"), Says("当前处理中，不能确认")),
        (group_message(WISHER, "/民情 重开 #1 没修好"), Says("当前处理中，不能重开")),
        # admin-only: refused in a group before the arguments are read
        (group_message(HELPER, "/民情 转办"), Says("只有支委、书记或群管理员")),
        (group_message(HELPER, at(HELPER2, "/民情 转办 #1 ")), Says("只有支委、书记或群管理员")),
        (group_message(HELPER, "/民情 上报 #1 社区办"), Says("只有支委、书记或群管理员")),
        (group_message(HELPER, "/民情 关闭 #1 重复"), Says("只有支委、书记或群管理员")),
        # and in a private chat by the domain, against the problem's branch
        (private_message(HELPER, "/民情 关闭 #1 重复"), Says("只有支委、书记或群管理员")),
        (private_message(HELPER, "/民情 上报 #1 社区办"), Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, at(HELPER, "/民情 转办 #1 ")),
         Says("TA 已经是这个民情的处理人了")),
        (group_message(SECRETARY, at(MASSES, "/民情 转办 #1 ")), Says("小赵目前是群众")),
        (group_message(SECRETARY, at(WISHER, "/民情 转办 #1 ")),
         Says("不能把民情指派给反映人自己")),
    )


async def test_admin_subcommands_in_group_and_private(app, branch, services):
    await services.branches.register(branch.id, HELPER2, "小孙", None, None)
    await services.branches.set_role(branch.id, Actor(SECRETARY), HELPER2, "预备党员")
    for text in ("报修 窗户关不上", "其他 重复的问题", "生活 热水不热"):
        await services.problems.raise_problem(branch.id, GROUP, WISHER, text)
    await services.problems.raise_problem(branch.id, None, WISHER, SECRET)
    await converse(
        app,
        (group_message(SECRETARY, at(HELPER, "/民情 受理 #1 ")), Says("处理人：小李")),
        (group_message(SECRETARY, at(HELPER2, "/民情 转办 #1 ")),
         Says("民情 #1 已转办给 小孙")),
        (group_message(SECRETARY, "/民情 关闭 #2 与 #1 重复"), Says("民情 #2 已关闭：与 #1 重复")),
        (group_message(SECRETARY, "/民情 上报 #3 后勤维修中心"),
         Says("民情 #3 已上报至 后勤维修中心", "/民情 解决 #3 <结果>")),
        (group_message(SECRETARY, "/民情 上报 #4 心理中心"), hidden("民情 #4 已上报。")),
        (private_message(SECRETARY, f"/民情 转办 #4 {HELPER}"), Says("民情 #4 已转办给 小李")),
        (private_message(SECRETARY, "/民情 关闭 #4 已转心理中心跟进"),
         Says("民情 #4 已关闭：已转心理中心跟进")),
        (private_message(SECRETARY, f"/民情 受理 #3 {HELPER}"), Says("当前已上报，不能受理")),
        (group_message(HELPER, "/民情 已关闭"), hidden("民情·已关闭（第 1/1 页，共 2 个）", "#4",
                                                    "#2")),
        (group_message(HELPER, "/民情 报修"), Says("民情·报修", "#1 [报修] 处理中")),
        (group_message(HELPER, "/民情 全部"), hidden("共 4 个")),
    )
    notices = await outbox_rows(services, "private")
    assert any(uid == HELPER2 and "转办给你处理" in text for uid, _, text in notices)
    assert any(uid == WISHER and "已上报至 后勤维修中心" in text for uid, _, text in notices)
    assert any(uid == WISHER and "已关闭：已转心理中心跟进" in text for uid, _, text in notices)
    await assert_no_group_row_leaks(services)


async def test_usage_lines_and_limits(app, branch, services):
    await converse(
        app,
        (group_message(WISHER, "/反映"), Says("用法：/反映 [分类] <内容> [匿名]")),
        (group_message(WISHER, "/反映 报修"), Says("用法：/反映 [分类] <内容> [匿名]")),
        (group_message(WISHER, "/反映 匿名"), Says("用法：/反映 [分类] <内容> [匿名]")),
        (private_message(WISHER, "/反映"), Says("用法：/反映 [分类] <内容> [匿名]")),
        (group_message(WISHER, "/反映 " + "长" * 501), Says("反映内容最多 500 字")),
        (group_message(WISHER, "/民情 详情"), Says("用法：/民情 详情 <编号>")),
        (group_message(WISHER, "/民情 详情 #1 多余"), Says("用法：/民情 详情 <编号>")),
        (group_message(HELPER, "/民情 受理 abc"), Says("用法：/民情 受理 <编号> [@处理人]")),
        (group_message(HELPER, "/民情 受理 #1 某人"), Says("用法：/民情 受理 <编号> [@处理人]")),
        (group_message(HELPER, "/民情 进展 #1"), Says("用法：/民情 进展 <编号> <说明>")),
        (group_message(HELPER, "/民情 解决 #1"), Says("用法：/民情 解决 <编号> <说明>")),
        (group_message(WISHER, "/民情 确认 #1"), Says("用法：/民情 确认 <编号> <1-5> [评语]")),
        (group_message(WISHER, "/民情 确认 #1 6"), Says("用法：/民情 确认 <编号> <1-5> [评语]")),
        (group_message(WISHER, "/民情 重开 #1"), Says("用法：/民情 重开 <编号> <原因>")),
        (group_message(SECRETARY, "/民情 转办 #1"), Says("用法：/民情 转办 <编号> <@某人>")),
        (group_message(SECRETARY, "/民情 上报 #1"), Says("用法：/民情 上报 <编号> <去向>")),
        (group_message(SECRETARY, "/民情 关闭"), Says("用法：/民情 关闭 <编号> <原因>")),
        (group_message(WISHER, "/民情 清单 多余"), Says("用法：/民情 清单")),
        (group_message(WISHER, "/民情 列表 报修 2 3"), Says("用法：/民情 [列表]")),
        (group_message(WISHER, "/民情 报修 2 3"), Says("用法：", "/民情 确认 <编号>")),
        (group_message(WISHER, "/民情 列表 0"), Says("用法：/民情 [列表]")),
        (group_message(WISHER, "/民情 飞"), Says("没有「飞」这个状态或分类", "待受理", "报修")),
        (group_message(WISHER, "/民情"), Says("没有未办结的民情", "/反映 <内容>")),
        (group_message(WISHER, "/feedback 学业 奖学金怎么评"), Says("民情 #1 [学业]")),
        (group_message(WISHER, "/反映 这个分类不存在"), Says("民情 #2 [其他]")),
        (group_message(WISHER, "/民情 列表 2"), Says("只有 1 页")),
    )
    long = "好" * 101
    await converse(app, (group_message(HELPER, "/民情 受理 #1"), Says("已受理")),
                   (group_message(HELPER, f"/民情 进展 #1 {long}"), Says("进展说明最多 100 字")))


async def test_stats_shows_the_problem_figures(app, branch, services, clock):
    """Hand count: #1 报修 taken on after 2 h, solved after 6 h, confirmed 5; #2 closed;
    #3 其他 still waiting. 收集 3, 已办结 1, 已关闭 1, 解决率 1/(3−1) = 50 %."""
    await converse(app, (group_message(WISHER, "/反映 报修 灯坏了"), Says("民情 #1")),
                   (group_message(WISHER, "/反映 重复的灯坏了"), Says("民情 #2")),
                   (group_message(MASSES, "/反映 自习室太少"), Says("民情 #3")))
    clock.advance(hours=2)
    await converse(app, (group_message(HELPER, "/民情 受理 #1"), Says("已受理")),
                   (group_message(SECRETARY, "/民情 关闭 #2 与 #1 重复"), Says("已关闭")))
    clock.advance(hours=4)
    await converse(app, (group_message(HELPER, "/民情 解决 #1 换了"), Says("已解决")),
                   (group_message(WISHER, "/民情 确认 #1 5"), Says("已办结")))
    event = group_message(SECRETARY, "/统计")
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_api("get_group_info", {"group_id": GROUP}, result={"member_count": 8})
        ctx.should_call_send(event, Says(
            "民情收集：3 个", "民情已办结：1 个", "民情已关闭：1 个（不计入解决率）",
            "问题解决率：50.0%（1/2）", "民情满意度：100.0%（1/1 个评价 ≥4 分）",
            "首次响应用时：中位 2.0 小时，90% 2.0 小时（1 个）",
            "解决用时：中位 6.0 小时，90% 6.0 小时（1 个）", "民情超时：0 个",
            "民情·报修：1 个，首次响应中位 2.0 小时"), result={})


async def test_jobs_queue_through_the_outbox(app, branch, services, clock):
    problems = services.problems
    await problems.raise_problem(branch.id, GROUP, MASSES, "报修 水龙头漏水")
    await problems.raise_problem(branch.id, None, WISHER, SECRET)
    await converse(app, (group_message(SECRETARY, at(HELPER, "/民情 受理 #2 ")), hidden("已受理")))
    clock.advance(hours=80)  # past every target
    before = len(await outbox_rows(services, "private"))
    await jobs().remind_overdue_problems()
    reminders = (await outbox_rows(services, "private"))[before:]
    assert {(uid, kind) for uid, kind, _ in reminders} == {
        (HELPER, "problem_overdue"), (SECRETARY, "problem_overdue_admin")}
    await jobs().remind_overdue_problems()  # once a day
    assert len(await outbox_rows(services, "private")) == before + 2

    await jobs().post_weekly_problems()
    [(gid, kind, text)] = await outbox_rows(services, "group")
    assert (gid, kind) == (GROUP, "problem_weekly")
    assert "未解决 2 个" in text and "水龙头漏水" in text and "私下反映" in text

    await converse(app, (private_message(HELPER, "/民情 解决 #2 谈过了"),
                         Says("民情 #2 已标记解决，已私聊通知反映人确认。")))
    clock.advance(days=3, seconds=1)
    await jobs().auto_confirm_problems()
    problem = await problems.get(branch.id, 2)
    assert problem.state.label == "已办结" and problem.rating is None
    assert any(uid == HELPER and "已自动办结" in text
               for uid, _, text in await outbox_rows(services, "private"))
    await assert_no_group_row_leaks(services)


async def test_private_problem_text_is_not_logged_at_info(app, branch, services, caplog):
    caplog.set_level("INFO")
    await converse(app, (private_message(WISHER, f"/反映 {SECRET}"), Says("已收到你的反映")))
    assert "problem #1 raised" in caplog.text
    assert SECRET[:10] not in caplog.text


def test_private_messages_are_logged_without_their_text():
    jobs()  # loading the plugin hides private text from NoneBot's event log
    logged = private_message(WISHER, f"/反映 {SECRET}").get_log_string()
    assert str(WISHER) in logged and "内容不记录" in logged and SECRET[:10] not in logged
    assert "/反映 报修" in group_message(WISHER, "/反映 报修 灯坏了").get_log_string()
