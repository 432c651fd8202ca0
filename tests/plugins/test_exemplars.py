"""/典型, /活动 讲者 and /评分 through the router: usage for bad input, refusals, private parts."""

from datetime import timedelta

from domain.branches import Actor
from tests.fakes import GROUP, Says, at, converse, group_message, private_message
from tests.plugins.conftest import HELPER, MASSES, SECRETARY, WISHER

USAGE = "用法：/典型"


async def test_the_nomination_loop_through_the_router(app, branch, services):
    await converse(
        app,
        (group_message(WISHER, "/典型 自荐 学业 期末全优"), Says("还没有开始微典型征集")),
        (group_message(WISHER, "/典型 征集 明天 20:00"), Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, "/典型 征集 明天 20:00 多余"), Says("用法：/典型 征集")),
        (group_message(SECRETARY, "/典型 征集 明天 20:00"),
         Says("微典型征集开始，截止 11-28 20:00", "领域：思想引领、学业、服务、实践、文体")),
        (group_message(WISHER, "/典型 自荐 体育 跑得快"),
         Says("领域可以是：思想引领、学业、服务、实践、文体", "用法：/典型 自荐")),
        (group_message(WISHER, "/典型 自荐 学业"), Says("用法：/典型 自荐")),
        (group_message(WISHER, "/典型 推荐 学业 他很好"), Says("用法：/典型 推荐")),
        (group_message(WISHER, "/典型 自荐 学业 期末全优 [CQ:at,qq=all]"),
         Says("已记录自荐 #1：小王 · 学业")),
        (group_message(HELPER, at(WISHER, "/典型 推荐 ", " 学业 又一次")),
         Says("小王本学期已经有学业的推荐了")),
        (group_message(HELPER, at(WISHER, "/典型 推荐 ", " 服务 常帮同学")),
         Says("已记录推荐 #2：小王 · 服务")),
        (group_message(SECRETARY, "/典型 审核 #1 好"), Says("用法：/典型 审核")),
        (group_message(SECRETARY, "/典型 审核 #1 退回"),
         Says("退回要写明原因", "用法：/典型 审核")),
        (group_message(HELPER, "/典型 审核 #1 通过"), Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, "/典型 审核 #2 退回 事迹太简单"),
         Says("推荐 #2（小王 · 服务）已退回，已私聊告诉本人和推荐人", absent=("事迹太简单",))),
        (group_message(SECRETARY, "/典型 审核 #1 通过"), Says("推荐 #1（小王 · 学业）已通过")),
        (group_message(MASSES, "/典型"),
         Says("【学业】", "#1 小王（自荐）已通过", "【服务】", "#2 小王（推荐）已退回",
              absent=("事迹太简单",))),
        (group_message(WISHER, "/典型 我的"),
         Says("#2 服务 · 小李 推荐我 · 已退回（原因请私聊", absent=("事迹太简单",))),
        (private_message(WISHER, "/典型 我的"), Says("#2 服务 · 小李 推荐我 · 已退回：事迹太简单")),
        (group_message(SECRETARY, "/典型 评选 学业"),
         Says("学业只有 1 位候选人 小王，不用投票", "/典型 确定 #1")),
        (group_message(SECRETARY, "/典型 评选 学业 截止"), Says("用法：/典型 评选")),
        (group_message(SECRETARY, "/典型 确定 #1"), Says("已确定：小王 为学业微典型（推荐 #1）")),
        (group_message(SECRETARY, "/典型 公示"),
         Says("已公示 1 位微典型", "学业 小王", "1 人各获得 10 积分（荣誉）")),
        (group_message(WISHER, "/积分"), Says("荣誉 10")),
        (group_message(WISHER, "/我的"), Says("荣誉：", "学业微典型")),
        (group_message(HELPER, "/典型 案例 #1 学霸之路"), Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, "/典型 案例 #1"), Says("用法：/典型 案例")),
        (group_message(SECRETARY, "/典型 案例 #1 学霸之路 作者"), Says("用法：/典型 案例")),
        (group_message(SECRETARY, "/典型 案例 #1 学霸之路\n期末全优的故事。"),
         Says("已整理为案例 #1《学霸之路》（学业 · 小王，作者 小王")),
        (group_message(MASSES, "/典型 案例"),
         Says("典型案例（共 1 个", "案例 #1《学霸之路》作者 小王", "期末全优的故事。")),
    )
    # the broadcast is literal text: the story's CQ code is nobody's @
    posted = await services.db.fetchval("SELECT segments FROM outbox "
                                        "WHERE kind = 'exemplar_publicity' LIMIT 1")
    assert "[CQ:at,qq=all]" in posted and '"type": "at"' not in posted


async def test_the_showcase_link_is_stable_and_closes(app, branch, services):
    await converse(
        app,
        (group_message(WISHER, "/典型 展示页"), Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, "/典型 展示页"), Says("支部展示页已生成", "/zhibu/show/",
                                                    "<iframe")),
        (group_message(SECRETARY, "/典型 展示页 打开"), Says("用法：/典型 展示页")),
    )
    (token,) = [r[0] for r in await services.db.fetchall("SELECT token FROM showcase_pages")]
    await converse(
        app,
        (group_message(SECRETARY, "/典型 展示页"), Says(f"/zhibu/show/{token}",
                                                    absent=("已生成",))),
        (group_message(SECRETARY, "/典型 展示页 关闭"), Says("展示页已关闭")),
        (group_message(SECRETARY, "/典型 展示页 关闭"), Says("没有开放的展示页")),
    )


async def test_speakers_and_scores_through_the_router(app, branch, services):
    svc = services
    starts = svc.clock.now() + timedelta(minutes=10)
    night = await svc.activities.create(branch.id, GROUP, Actor(SECRETARY), "微党课", "青年说",
                                        starts, 60, with_code=False)
    await svc.sessions.check_in(branch.id, WISHER, None)
    await svc.sessions.check_in(branch.id, HELPER, None)
    await converse(
        app,
        (group_message(SECRETARY, "/活动 讲者 #1"), Says("微党课 #1 还没有设讲者")),
        (group_message(SECRETARY, "/活动 讲者 #1 初心"), Says("用法：/活动 讲者")),
        (group_message(SECRETARY, at(HELPER, "/活动 讲者 #1 ", "")),
         Says("每位讲者后面要写上讲题", "用法：/活动 讲者")),
        (group_message(MASSES, at(HELPER, "/活动 讲者 #1 ", " 初心")),
         Says("只有支委、书记、群管理员或活动负责人")),
        (group_message(SECRETARY, at(HELPER, "/活动 讲者 #1 ", " 初心与使命 匿名")),
         Says("已设置微党课 #1「青年说」的讲者（匿名评分", "1. 小李《初心与使命》",
              "私聊我发送 /评分 #1")),
        (group_message(WISHER, "/评分 #1"), Says("评分请私聊我发送 /评分 #1")),
        (group_message(WISHER, "/评分 #1 1 5"), Says("评分请私聊我")),
        (private_message(WISHER, "/评分 #1 1 9"), Says("评分只能是 1 到 5 分", "用法：/评分")),
        (private_message(WISHER, "/评分 #1 1"), Says("用法：/评分")),
        (private_message(WISHER, "/评分 #1"), Says("还没开始")),
    )
    svc.clock.set(starts + timedelta(minutes=1))
    await converse(
        app,
        (private_message(HELPER, "/评分 #1"), Says("唯一的讲者，不能给自己评分")),
        (private_message(HELPER, "/评分 #1 1 5"), Says("不能给自己评分")),
        (private_message(MASSES, "/评分 #1 1 5"), Says("只有签到了微党课 #1的同学可以评分")),
        (private_message(WISHER, "/评分 #1"), Says("请给每位讲者打 1-5 分", "第 1/1 位：小李")),
        (private_message(WISHER, "很好"), Says("请回复 1 到 5 的数字")),
        (private_message(WISHER, "4"), Says("感谢评分", "你这次给出 1 个分数")),
        (private_message(WISHER, "/评分 #1 1 5"),
         Says("已给微党课 #1 第 1 位讲者 小李《初心与使命》打 5 分（替换了之前的 4 分）")),
    )
    assert await svc.lectures.repo.scores_by(night.id, WISHER) == {HELPER: 5}


def test_the_showcase_page_escapes_every_text():
    from domain.exemplars import Showcase, ShownActivity, ShownCase, ShownExemplar, ShownLecture
    from plugins.exemplars.page import render

    evil = '<script>alert("x")</script>'
    html = render(Showcase(
        branch=evil, term="学期", exemplars=[ShownExemplar("学业", evil, evil)],
        cases=[ShownCase(evil, evil, evil, "学业", evil)],
        lectures=[ShownLecture("微党课 #1", evil, "2026-11-27", [(1, evil, evil, 4.5, 2)])],
        activities=[ShownActivity("微党课", evil, "2026-11-27", 3)], activities_held=1))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<iframe" not in html and "第 1 名" in html and "4.50 分" in html
