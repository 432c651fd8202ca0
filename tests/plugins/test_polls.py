"""/投票 and /问卷 through the router: what members and admins see, in groups and in private."""

from datetime import timedelta

from nonebot.adapters.onebot.v11 import Bot

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

START = "/投票 发起 周五微分享选题？ | 党史故事 | 考研 经验 | 新质生产力"


async def test_start_vote_change_mind_and_results(app, branch, services):
    await converse(
        app,
        (group_message(SECRETARY, START),
         Says("已发起投票 #1：周五微分享选题？", "1. 党史故事", "2. 考研 经验", "3. 新质生产力",
              "投票：/投票 #1 <选项号>", "截止前可以重新投票")),
        (group_message(HELPER, "/投票 #1 2"), Says("已投票：投票 #1 你选了 2「考研 经验」")),
        (group_message(WISHER, "/投票 1 3"), Says("已投票：投票 #1 你选了 3「新质生产力」")),
        (group_message(WISHER, "/投票 1 3"), Says("已经选了 3「新质生产力」，选择没有变化")),
        (group_message(HELPER, "/投票 #1 1"),
         Says("已改投：投票 #1 你现在选的是 1「党史故事」（替换了之前的 2「考研 经验」）")),
        (group_message(MASSES, "/投票 结果 #1"),
         Says("投票 #1「周五微分享选题？」（进行中；单选；记名）",
              "1. 党史故事  █████░░░░░ 1 票 50.0%", "2. 考研 经验  ░░░░░░░░░░ 0 票 0.0%",
              "已投票 2 人；参与率 50.0%（登记成员 2/4 人）")),
        (group_message(HELPER, "/投票"),
         Says("#1【进行中；单选；记名】周五微分享选题？（2 人已投）")),
    )


async def test_bad_ballots_get_the_usage_and_nothing_is_counted(app, branch, services):
    await converse(app, (group_message(SECRETARY, START), Says("已发起投票 #1")))
    usage = "用法：/投票 [列表]"
    await converse(
        app,
        (group_message(HELPER, "/投票 #1 0"), Says(usage)),
        (group_message(HELPER, "/投票 #1 11"), Says("投票 #1 只有 3 个选项。", usage)),
        (group_message(HELPER, "/投票 #1 abc"), Says(usage)),
        (group_message(HELPER, "/投票 #1 1 2"), Says("投票 #1 是单选，只能选 1 项。", usage)),
        (group_message(HELPER, "/投票 #9 1"), Says("没有找到投票 #9")),
        (group_message(HELPER, "/投票 发起 问题 | 甲 | 乙"), Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, "/投票 发起 问题 | 只有一个"),
         Says("选项需要 2 到 10 个，现在 1 个", "用法：/投票 发起")),
        (group_message(SECRETARY, "/投票 发起 问题 | 甲 | " + "长" * 51),
         Says("选项 2最多 50 字，现在 51 字")),
    )
    assert (await services.polls.tally(await services.polls.get(branch.id, 1))).voters == 0


async def test_another_branchs_poll_is_not_found(app, branch, services):
    await converse(app, (group_message(SECRETARY, START), Says("已发起投票 #1")))
    await services.branches.branch_for_group(OTHER_GROUP)
    await converse(
        app,
        (group_message(HELPER, "/投票 #1 1", group_id=OTHER_GROUP), Says("没有找到投票 #1")),
        (group_message(HELPER, "/投票 结果 #1", group_id=OTHER_GROUP), Says("没有找到投票 #1")),
    )


async def test_option_text_is_shown_literally(app, branch, services):
    await converse(
        app,
        (group_message(SECRETARY, "/投票 发起 [CQ:at,qq=all] | [CQ:face,id=1] | 乙"),
         Says("已发起投票 #1：[CQ:at,qq=all]", "1. [CQ:face,id=1]")),
        (group_message(HELPER, "/投票 #1 1"), Says("你选了 1「[CQ:face,id=1]」")),
    )


async def test_anonymous_poll_voted_privately_cannot_be_changed(app, branch, services):
    await converse(
        app,
        (group_message(SECRETARY, START + " 匿名"), Says("匿名投票：不记录谁选了什么")),
        (private_message(HELPER, "/投票 #1 2"),
         Says("已收到你在匿名投票 #1 的选票", "投出后不能更改", "每凑满 5 张一起计入",
              absent=("考研",))),
        (private_message(HELPER, "/投票 #1 3"), Says("你已经投过匿名投票 #1 了", "这次没有计入")),
        (private_message(HELPER, "/投票 #1"), Says("你的选票：已收到，等待与其他选票一起计入")),
        (group_message(WISHER, "/投票 #1 1"), Says("已收到你在匿名投票", "下次可以私聊我投匿名票")),
        (group_message(WISHER, "/投票 #1"),
         Says("另有 2 张匿名选票已收到、等待计入", absent=("你的选票",))),
        (private_message(SECRETARY, "/投票 #1"), Says("你的选票：还没有投")),
        (private_message(99999, "/投票 #1 1"), Says("没有找到投票 #1")),
        (private_message(HELPER, "/投票 名单 #1"),
         Says("投票名单只有支委、书记或群管理员可以查看")),
        (private_message(SECRETARY, "/投票 名单 #1"), Says("匿名投票", "没有名单")),
    )


async def test_hidden_results_and_roster_go_privately_to_admins(app, branch, services):
    await converse(
        app,
        (group_message(SECRETARY, START + " 隐藏结果"), Says("结果截止后公布")),
        (group_message(HELPER, "/投票 #1 2"), Says("已投票")),
        (group_message(HELPER, "/投票 结果 #1"),
         Says("本投票隐藏结果：截止或结束后公布", absent=(" 票 ",))),
    )
    for command, fragment in (("/投票 结果 #1", "2. 考研 经验  ██████████ 1 票"),
                              ("/投票 名单 #1", "2. 考研 经验（1 人）：小李")):
        event = group_message(SECRETARY, command)
        async with app.test_matcher() as ctx:
            bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
            ctx.receive_event(bot, event)
            ctx.should_call_api("send_private_msg", {
                "user_id": SECRETARY, "message": Says(fragment),
            }, result={"message_id": 1})
            ctx.should_call_send(event, Says("已私聊发给你", absent=(" 票",)),
                                 result={"message_id": 2})
    await converse(
        app,
        (private_message(SECRETARY, "/投票 结果 #1"), Says("1 票 100.0%")),
        (group_message(HELPER, "/投票 结束 #1"), Says("只有发起人、支委、书记或群管理员")),
        (group_message(SECRETARY, "/投票 结束 #1"),
         Says("投票 #1 已结束，结果如下", "2. 考研 经验  ██████████ 1 票 100.0%")),
        (group_message(WISHER, "/投票 #1 1"), Says("投票 #1 已经结束，不能再投了")),
        (group_message(HELPER, "/投票 结果 #1"), Says("1 票 100.0%")),  # public after close
    )


async def test_deadline_is_armed_with_the_poll(app, branch, services):
    from plugins.polls import jobs

    await converse(app, (group_message(SECRETARY, START + " 截止 明天 20:00"),
                         Says("进行中，截止 11-28 20:00")))
    assert jobs.scheduler.get_job("poll:1") is not None
    await converse(app, (group_message(SECRETARY, "/投票 结束 #1"), Says("已结束")))
    assert jobs.scheduler.get_job("poll:1") is None


# 问卷 ------------------------------------------------------------------------------------

SURVEY = ("/问卷 发起 11月导学反馈 匿名\n评分 本次导学对你有帮助吗\n选择 下次的形式 | 讲座 | 讨论\n"
          "填空 建议 选填")


async def test_a_survey_answered_step_by_step_in_private(app, branch, services):
    await converse(
        app,
        (group_message(SECRETARY, SURVEY),
         Says("已发起问卷 #1「11月导学反馈」，共 3 题（匿名）", "3. 建议（选填）",
              "私聊我发送 /问卷 填写 #1")),
        (group_message(HELPER, "/问卷 填写 #1"), Says("请私聊我发送 /问卷 填写 #1")),
        (private_message(HELPER, "/问卷 填写 #1"),
         Says("问卷 #1「11月导学反馈」共 3 题。匿名问卷", "第 1/3 题（评分，回复 1-5 的数字）")),
        (private_message(HELPER, "七"), Says("请回复 1 到 5 的数字")),
        (private_message(HELPER, "4"), Says("第 2/3 题（选择，回复选项号）", "1. 讲座\n2. 讨论")),
        (private_message(HELPER, "讨论"), Says("第 3/3 题（填空", "可回复“跳过”")),
        (private_message(HELPER, "跳过"), Says("已提交，感谢你填写问卷 #1「11月导学反馈」",
                                                 "每凑满 5 份一起保存")),
        (private_message(HELPER, "还有话说"),),  # the conversation is over: not answered
        (private_message(HELPER, "/问卷 填写 #1"), Says("你已经填写过问卷 #1 了")),
        (private_message(SECRETARY, "/问卷 结果 #1"),
         Says("回收 0 份", "另有 1 份匿名回答已收到、等待保存")),
        (private_message(SECRETARY, "/问卷 结束 #1"), Says("问卷 #1「11月导学反馈」已结束")),
        (private_message(SECRETARY, "/问卷 结果 #1"),
         Says("回收 1 份", "平均 4.00 分", "讲座 0，讨论 1", absent=("等待保存",))),
    )


async def test_survey_cancel_and_polite_timeout(app, branch, services, clock):
    await converse(
        app,
        (group_message(SECRETARY, SURVEY), Says("已发起问卷 #1")),
        (private_message(WISHER, "/问卷 填写 #1"), Says("第 1/3 题")),
        (private_message(WISHER, "取消"), Says("已取消问卷 #1 的填写，没有保存任何回答")),
        (private_message(WISHER, "/问卷 填写 #1"), Says("第 1/3 题")),
        (private_message(WISHER, "5"), Says("第 2/3 题")),
    )
    clock.advance(minutes=services.settings.survey_answer_timeout_minutes, seconds=1)
    await converse(
        app,
        (private_message(WISHER, "1"), Says("问卷 #1 的填写已超时（10 分钟没有回复）",
                                            "/问卷 填写 #1")),
        (private_message(WISHER, "1"),),
    )
    assert await services.surveys.repo.respondents(await services.surveys.get(branch.id, 1)) == []


async def test_survey_tied_to_a_session_asks_only_its_participants(app, branch, services,
                                                                     clock):
    from domain.branches import Actor

    starts = clock.now() + timedelta(hours=1)
    session = await services.sessions.create(branch.id, GROUP, Actor(SECRETARY), "党章学习",
                                             starts, 60, with_code=False)
    clock.set(starts)
    await services.sessions.check_in(branch.id, HELPER, None)
    clock.advance(hours=2)
    await converse(
        app,
        (group_message(SECRETARY, f"/问卷 发起 满意度 关联 导学#{session.id}"),
         Says(f"已发起问卷 #1「满意度调查：导学 #{session.id}「党章学习」」",
              f"只请导学 #{session.id} 的参加者填写：已私聊邀请 1 人")),
        (private_message(MASSES, "/问卷 填写 #1"), Says("只请导学 #1 的参加者填写，你不在其中")),
        (private_message(HELPER, "/问卷 填写 #1"), Says("记名问卷", "第 1/3 题")),
    )
    invites = [r for r in await services.outbox.repo.all() if "/问卷 填写 #1" in r[5]]
    assert [(r[1], r[2]) for r in invites] == [("private", HELPER)]
