from tests.fakes import Says, converse, group_message
from tests.plugins.conftest import HELPER, SECRETARY


async def test_reminder_crud(app, branch, services):
    await converse(
        app,
        (group_message(SECRETARY, "/提醒 添加 每周三 19:00 支部大会 请准时参加"),
         Says("已添加提醒 #1", "每周三 19:00", "支部大会 请准时参加",
              "首次提醒：2026-12-02 19:00")),
        (group_message(SECRETARY, "/提醒 添加 明天 8:30 交思想汇报"),
         Says("已添加提醒 #2", "2026-11-28 08:30")),
        (group_message(SECRETARY, "/提醒"), Says("提醒 2 个", "#1 每周三 19:00", "#2")),
        (group_message(SECRETARY, "/提醒 暂停 #1"), Says("提醒 #1 已暂停")),
        (group_message(SECRETARY, "/提醒 列表"), Says("#1 [已暂停]")),
        (group_message(SECRETARY, "/提醒 恢复 1"), Says("提醒 #1 已恢复", "2026-12-02 19:00")),
        (group_message(SECRETARY, "/提醒 删除 #2"), Says("提醒 #2 已删除")),
        (group_message(SECRETARY, "/提醒 删除 #2"), Says("没有找到提醒 #2")),
    )
    from plugins.reminders import jobs

    assert jobs.scheduler.get_job("reminder:1") is not None
    assert jobs.scheduler.get_job("reminder:2") is None


async def test_reminder_bad_input(app, branch):
    await converse(
        app,
        (group_message(SECRETARY, "/提醒 添加"), Says("用法：/提醒 添加 <时间> <内容>", "每周三")),
        (group_message(SECRETARY, "/提醒 添加 下周二 开会"), Says("时间格式不对", "可用")),
        (group_message(SECRETARY, "/提醒 添加 每天 08:00"), Says("提醒内容不能为空")),
        (group_message(SECRETARY, "/提醒 添加 2020-01-01 08:00 旧事"), Says("已经过去")),
        (group_message(SECRETARY, "/提醒 删除"), Says("用法：/提醒 删除 <编号>")),
        (group_message(SECRETARY, "/提醒 胡说"), Says("用法：", "/提醒 添加")),
    )


async def test_reminders_and_announcements_are_admin_only(app, branch, services):
    await converse(
        app,
        (group_message(HELPER, "/提醒 添加 每天 08:00 早读"), Says("只有支委、书记或群管理员")),
        (group_message(HELPER, "/提醒"), Says("只有支委、书记或群管理员")),
        (group_message(HELPER, "/公告 明天开会"), Says("只有支委、书记或群管理员")),
    )
    assert await services.outbox.repo.all() == []


async def test_announcement_is_queued_for_every_group(app, branch, services):
    await services.branches.branches.bind_group(700009, branch.id, 1, 0)
    await converse(
        app,
        (group_message(SECRETARY, "/公告 [CQ:at,qq=all] 今晚 7 点开会"), Says("发到本支部 2 个群")),
        (group_message(SECRETARY, "/公告"), Says("用法：/公告 <内容>")),
        (group_message(SECRETARY, "/公告 " + "长" * 1001), Says("公告最多 1000 字")),
    )
    rows = await services.outbox.repo.all()
    assert sorted((r[2], r[5]) for r in rows) == [
        (700001, "📢 公告：[CQ:at,qq=all] 今晚 7 点开会"),
        (700009, "📢 公告：[CQ:at,qq=all] 今晚 7 点开会"),
    ]
