"""/岗位, /任务 and /成员 特长 through the matcher: the whole loops, the refusals, the usage
lines for missing, malformed and hostile input, and another branch's numbers."""

import json

from domain.branches import Actor
from domain.tasks import OPEN, Target
from tests.fakes import OTHER_GROUP, Says, at, converse, group_message
from tests.plugins.conftest import HELPER, MASSES, SECRETARY, WISHER

HELPER2 = 20105  # 预备党员 on 4楼


async def queued(services, kind: str) -> list[tuple[int, str]]:
    rows = await services.db.fetchall(
        "SELECT target_id, segments FROM outbox WHERE kind = ? ORDER BY id", (kind,))
    return [(r[0], "".join(s["data"].get("text", "") for s in json.loads(r[1])
                           if s["type"] == "text")) for r in rows]


async def add_helper2(services, branch):
    await services.branches.register(branch.id, HELPER2, "小孙", "4楼", "401")
    await services.branches.set_role(branch.id, Actor(1, is_superuser=True), HELPER2, "预备党员")


async def test_posts_set_listed_and_cancelled(app, branch, services):
    await add_helper2(services, branch)
    await converse(
        app,
        (group_message(SECRETARY, at(HELPER, "/岗位 设置 ", " 责任区 3楼 301-310")),
         Says("已设置 小李 为党员责任区：责任区 3楼 301–310")),
        (group_message(SECRETARY, f"/岗位 设置 {HELPER2} 先锋岗 学习先锋"),
         Says("已设置 小孙 为党员先锋岗：先锋岗「学习先锋」")),
        (group_message(SECRETARY, f"/岗位 设置 {HELPER2} 先锋岗 服务先锋"),
         Says("先锋岗「服务先锋」", "（原来是先锋岗「学习先锋」）")),
        (group_message(WISHER, "/岗位"),
         Says("岗位（共 2 个）", "【党员先锋岗】", "小孙：服务先锋", "【党员责任区】",
              "小李：3楼 301–310")),
        (group_message(HELPER, "/我的"), Says("岗位：责任区 3楼 301–310")),
        (group_message(SECRETARY, f"/岗位 取消 {HELPER2} 先锋岗"),
         Says("已取消 小孙 的先锋岗「服务先锋」")),
        (group_message(SECRETARY, f"/岗位 取消 {HELPER2}"), Says("现在没有岗位")),
    )


async def test_post_refusals_and_usage(app, branch, services):
    await converse(
        app,
        (group_message(HELPER, f"/岗位 设置 {HELPER} 观察员"), Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, f"/岗位 设置 {MASSES} 观察员"), Says("岗位由入党积极分子")),
        (group_message(SECRETARY, "/岗位 设置"), Says("用法：/岗位 设置 <@某人>")),
        (group_message(SECRETARY, f"/岗位 设置 {HELPER} 队长"), Says("用法：/岗位 设置")),
        (group_message(SECRETARY, "/岗位 设置 123 观察员"), Says("「123」不是 QQ 号")),
        (group_message(SECRETARY, f"/岗位 设置 {HELPER} 责任区 3楼 310-301"),
         Says("宿舍范围写得不对")),
        (group_message(SECRETARY, f"/岗位 设置 {HELPER} 先锋岗 " + "长" * 21),
         Says("先锋岗名称最多 20 字")),
        (group_message(SECRETARY, f"/岗位 取消 {HELPER} 队长"), Says("用法：/岗位 取消")),
        (group_message(WISHER, "/岗位 乱写"), Says("用法：", "/岗位 设置 <@某人>")),
        (group_message(WISHER, "/岗位"), Says("还没有设置岗位")),
    )
    assert await services.db.fetchval("SELECT COUNT(*) FROM posts") == 0


async def test_a_task_returned_redone_confirmed_and_booked(app, branch, services):
    await converse(
        app,
        (group_message(SECRETARY, at(HELPER, "/任务 发布 整理公告栏 明天 18:00 ", " 5")),
         Says("已发布任务 #1「整理公告栏」：指定（1 人），11-28 18:00 截止，积分 5。",
              "已私聊通知执行人")),
        (group_message(HELPER, "/任务"), Says("我的任务：", "#1 整理公告栏", "待完成")),
        (group_message(WISHER, "/任务 完成 #1 我做的"), Says("不是你的任务")),
        (group_message(HELPER, "/任务 完成 #1"), Says("用法：/任务 完成 <编号> <说明>")),
        (group_message(HELPER, "/任务 完成 #1 贴好了"), Says("已报告完成任务 #1")),
        (group_message(HELPER, "/任务 确认 #1"), Says("只有支委、书记")),
        (group_message(SECRETARY, "/任务 退回 #1"), Says("用法：/任务 退回")),
        (group_message(SECRETARY, "/任务 退回 #1 照片不清楚"), Says("已退回 小李 的任务 #1")),
        (group_message(HELPER, "/任务"), Says("待完成（被退回：照片不清楚）")),
        (group_message(HELPER, "/任务 完成 1 重新拍了"), Says("已报告完成任务 #1")),
        (group_message(SECRETARY, "/任务 确认 #1"), Says("已确认任务 #1：小李 +5 分")),
        (group_message(SECRETARY, "/任务 确认 #1"), Says("任务 #1 已完成")),
        (group_message(HELPER, "/积分"), Says("积分：5", "服务 5")),
        (group_message(WISHER, "/任务 详情 #1"),
         Says("任务 #1「整理公告栏」【已完成】", "小李 已确认：重新拍了", "退回 1 次：照片不清楚")),
    )
    kinds = [k for k in ("task_assigned", "task_done", "task_returned", "task_confirmed")
             if await queued(services, k)]
    assert kinds == ["task_assigned", "task_done", "task_returned", "task_confirmed"]


async def test_publishing_reads_every_form_and_refuses_the_rest(app, branch, services):
    await add_helper2(services, branch)
    await converse(
        app,
        (group_message(SECRETARY, "/任务 发布 宿舍 文化 建设 截止 12-01 19:30 楼层:3 2"),
         Says("已发布任务 #1「宿舍 文化 建设」：楼层:3楼（1 人），12-01 19:30 截止，积分 2")),
        (group_message(SECRETARY, "/任务 发布 搬运物资 全体"), Says("全体（2 人）", "积分 3")),
        (group_message(SECRETARY, "/任务 发布 学习强国打卡 岗位:观察员"),
         Says("现在没有人担任观察员")),
        (group_message(SECRETARY, "/任务 发布 帮忙 后天 9:00"),
         Says("已发布任务 #3「帮忙」：认领", "/任务 认领 #3")),
        (group_message(HELPER2, "/任务 认领 #3"), Says("认领成功：任务 #3")),
        (group_message(HELPER, "/任务 认领 #3"), Says("已经被别人认领了")),
        (group_message(MASSES, "/任务 发布 偷偷加分"), Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, "/任务 发布"), Says("用法：/任务 发布 <标题>")),
        (group_message(SECRETARY, "/任务 发布 标题 截止 下周"), Says("截止后面要写时间")),
        (group_message(SECRETARY, "/任务 发布 标题 岗位:队长"), Says("岗位只能是")),
        (group_message(SECRETARY, at(HELPER, "/任务 发布 标题 ", " 楼层:3楼")),
         Says("对象只能写一种")),
        (group_message(SECRETARY, "/任务 发布 标题 80"), Says("0 到 50")),
        (group_message(SECRETARY, "/任务 发布 过期 2020-01-01 10:00"), Says("该时间已经过去")),
        (group_message(SECRETARY, "/任务 发布 整理 19:30 活动室"),
         Says("「整理 19:30 活动室」：认领")),
        (group_message(SECRETARY, "/任务 发布 [CQ:at,qq=all] 大家好"),
         Says("「[CQ:at,qq=all] 大家好」")),
        (group_message(HELPER, "/任务"), Says("我的任务：", "#1 宿舍 文化 建设", "#2 搬运物资",
                                            "可认领的任务", "#4 整理 19:30 活动室")),
        (group_message(MASSES, "/任务"), Says("本楼层的任务：", "#1 宿舍 文化 建设")),
        (group_message(SECRETARY, "/任务 清单"), Says("任务清单：进行中 5 个，其中逾期 0 个")),
        (group_message(HELPER, "/任务 清单"), Says("只有支委、书记或群管理员")),
        (group_message(HELPER, "/任务 详情 #99"), Says("没有找到任务 #99")),
        (group_message(HELPER, "/任务 详情 #1", group_id=OTHER_GROUP), Says("本群还没有设置支部")),
        (group_message(SECRETARY, "/任务 取消 #5"), Says("已取消任务 #5")),
        (group_message(SECRETARY, "/任务 乱写"), Says("用法：", "/任务 发布 <标题>")),
    )
    assert await services.db.fetchval("SELECT COUNT(*) FROM tasks") == 5  # refused: none made


async def test_another_branchs_task_is_not_found(app, branch, services):
    other = await services.branches.branch_for_group(OTHER_GROUP)
    await services.branches.register(other.id, SECRETARY, "老张", "1楼", "101")
    await services.tasks.publish(branch.id, None, Actor(SECRETARY, is_superuser=True), "本支部",
                                 None, Target(OPEN), None)
    await converse(app, (group_message(SECRETARY, "/任务 详情 #1", group_id=OTHER_GROUP),
                         Says("没有找到任务 #1")))


async def test_skills_own_and_by_an_admin_and_the_match_notice(app, branch, services):
    await converse(
        app,
        (group_message(HELPER, "/成员 特长"), Says("你还没有填写特长")),
        (group_message(HELPER, "/成员 特长 高数、英语 高数"),
         Says("已更新你的特长：高数、英语。有适合的心愿时会私聊通知你")),
        (group_message(HELPER, "/成员 特长"), Says("你的特长：高数、英语（心愿匹配通知：开）")),
        (group_message(WISHER, "/许愿 求高数辅导"), Says("心愿 #1 已发布")),
        (group_message(HELPER, "/成员 特长 关闭"), Says("已关闭你的心愿匹配通知")),
        (group_message(WISHER, "/许愿 求英语口语陪练"), Says("心愿 #2 已发布")),
        (group_message(MASSES, at(HELPER, "/成员 特长 ", " 党史")), Says("只有支委、书记")),
        (group_message(SECRETARY, at(HELPER, "/成员 特长 ", " 党史")),
         Says("已更新小李的特长：党史。心愿匹配通知目前是关闭的")),
        (group_message(HELPER, "/我的"), Says("特长：党史（心愿匹配通知已关闭）")),
        (group_message(HELPER, "/成员 特长 " + "长" * 21), Says("最多 20 字")),
        (group_message(HELPER, "/成员 列表"), Says("只有支委、书记或群管理员")),
        (group_message(30999, "/成员 特长 高数"), Says("请先发送 /登记")),
    )
    told = await queued(services, "wish_match")
    assert told == [(HELPER, "有一个心愿可能适合你：#1 求高数辅导（你的特长：高数），发送 "
                             "/心愿 认领 #1\n不想再收到这类消息可发送 /成员 特长 关闭")]


async def test_help_knows_the_new_features(app, services):
    await converse(
        app,
        (group_message(10001, "/帮助"), Says("任务清单", "岗位")),
        (group_message(10001, "/帮助 任务"), Says("【任务清单】", "/任务 发布 <标题>")),
        (group_message(10001, "/帮助 岗位"), Says("【岗位】", "/岗位 设置 <@某人>")),
        (group_message(10001, "/帮助 特长"), Says("/成员 特长")),
    )
