import json

from nonebot.adapters.onebot.v11 import Message, MessageSegment

from tests.fakes import GROUP, OTHER_GROUP, Says, at, converse, group_message
from tests.plugins.conftest import HELPER, MASSES, SECRETARY, WISHER


async def test_whole_wish_loop_in_the_group(app, branch, services):
    await converse(
        app,
        (group_message(WISHER, "/许愿 帮我搬一下行李"), Says("心愿 #1 已发布", "帮我搬一下行李")),
        (group_message(HELPER, "/心愿"), Says("#1 [待认领]", "帮我搬一下行李")),
        (group_message(HELPER, "/心愿 认领 #1"), Says("认领成功", "#1")),
        (group_message(HELPER, "/心愿 完成 1 已送到"),
         Says("已标记心愿 #1 完成服务，已提醒许愿人评价。")),
        (group_message(WISHER, "/心愿 评价 #1 5 太感谢了"),
         Says("已完成（5 分）", "小李 获得 7 积分")),
        (group_message(HELPER, "/积分"), Says("积分：7", "服务 7", "第 1/1 名")),
        (group_message(WISHER, "/心愿 详情 #1"),
         Says("【已完成】", "许愿人：小王", "认领人：小李", "评分：5 分", "发布", "认领", "评价")),
    )
    # the wisher was @-mentioned in the group through the queue, with the change
    [row] = await services.db.fetchall(
        "SELECT target_id, segments FROM outbox WHERE kind = 'wish_done'")
    segments = json.loads(row[1])
    assert row[0] == GROUP and segments[0] == {"type": "at", "data": {"qq": str(WISHER)}}
    assert "心愿 #1 已由 小李 完成服务" in segments[1]["data"]["text"]


async def test_wish_text_is_never_cq_code(app, branch):
    await converse(app, (
        group_message(WISHER, "/心愿 发布 [CQ:at,qq=all] 大家好"),
        Says("[CQ:at,qq=all] 大家好"),  # Says refuses any at segment when none is expected
    ))


async def test_refusals_are_answered(app, branch, services):
    await services.wishes.post(branch.id, None, WISHER, "帮忙")
    await converse(
        app,
        (group_message(MASSES, "/心愿 认领 1"), Says("认领心愿需要身份")),
        (group_message(WISHER, "/心愿 认领 1"), Says("认领心愿需要身份")),
        (group_message(HELPER, "/心愿 认领 99"), Says("没有找到心愿 #99")),
        (group_message(HELPER, "/心愿 完成 1"), Says("只有认领人")),
        (group_message(HELPER, "/心愿 撤回 1"), Says("只有许愿人")),
        (group_message(HELPER, "/心愿 关闭 1"), Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, "/心愿 关闭 #1 重复"), Says("心愿 #1 已关闭")),
    )


async def test_bad_arguments_get_the_usage_line(app, branch):
    await converse(
        app,
        (group_message(WISHER, "/许愿"), Says("用法：/许愿 <内容>")),
        (group_message(WISHER, "/许愿 " + "长" * 201), Says("最多 200 字")),
        (group_message(HELPER, "/心愿 认领"), Says("用法：/心愿 认领 <编号>")),
        (group_message(HELPER, "/心愿 认领 abc"), Says("用法：/心愿 认领 <编号>")),
        (group_message(HELPER, "/心愿 评价 1 10"), Says("用法：/心愿 评价 <编号> <1-5>")),
        (group_message(HELPER, "/心愿 飞"), Says("用法：", "/心愿 认领 <编号>")),
        (group_message(HELPER, "/心愿 列表 x"), Says("用法：/心愿 [列表] [页码]")),
    )


async def test_list_pages_and_mine(app, branch, services):
    for i in range(12):
        await services.wishes.post(branch.id, None, WISHER, f"心愿{i}")
    await converse(
        app,
        (group_message(HELPER, "/心愿 列表 2"), Says("第 2/2 页", "#11", "#12")),
        (group_message(HELPER, "/心愿 2"), Says("第 2/2 页")),
        (group_message(HELPER, "/心愿 列表 3"), Says("只有 2 页")),
        (group_message(WISHER, "/心愿 我的"), Says("我发布的", "#12", "我认领的：无")),
    )


async def test_wish_from_another_branch_is_not_found(app, branch, services):
    await services.wishes.post(branch.id, None, WISHER, "本支部的心愿")
    await services.branches.branch_for_group(OTHER_GROUP)  # another branch, set up
    await converse(app, (group_message(HELPER, "/心愿 详情 1", group_id=OTHER_GROUP),
                         Says("没有找到心愿 #1")))


async def test_english_alias_and_full_width_slash(app, branch):
    await converse(
        app,
        (group_message(WISHER, "/wish 借一把伞"), Says("心愿 #1 已发布")),
        (group_message(WISHER, "／许愿 借一支笔"), Says("心愿 #2 已发布")),
    )


async def test_points_of_someone_else_by_mention(app, branch):
    await converse(
        app,
        (group_message(WISHER, at(HELPER, "/积分 ")), Says("小李", "积分：0", "暂无排名")),
        (group_message(WISHER, "/积分 abc"), Says("用法：", "/积分 [@某人]", "/积分 明细")),
    )


async def test_at_all_in_message_is_ignored_as_a_person(app, branch):
    message = Message([MessageSegment.text("/积分 "), MessageSegment.at("all")])
    await converse(app, (group_message(WISHER, message),
                         Says("用法：", "/积分 [@某人]", "/积分 明细")))
