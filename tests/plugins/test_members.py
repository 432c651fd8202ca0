from tests.fakes import GROUP, OTHER_GROUP, Says, at, converse, group_message, private_message
from tests.plugins.conftest import HELPER, MASSES, SECRETARY, WISHER


async def test_register_and_me(app, branch):
    await converse(
        app,
        (group_message(30101, "/登记 张三 3楼 301"), Says("已登记：张三（3楼 301）", "身份：群众")),
        (group_message(30101, "/我的"), Says("张三（30101）", "群众", "3楼 301", "积分：0")),
        (group_message(30102, "/me"), Says("你还没有登记")),
        (group_message(30101, "/登记"), Says("用法：/登记 <姓名>")),
        (group_message(30101, "/登记 " + "长" * 21), Says("姓名最多 20 字")),
    )


async def test_member_admin_commands(app, branch):
    await converse(
        app,
        (group_message(SECRETARY, at(MASSES, "/成员 设置 ", " 入党积极分子")),
         Says("小赵（20103）现在是：入党积极分子")),
        (group_message(SECRETARY, f"/成员 设置 {MASSES} 支委"), Says("入党积极分子·支委")),
        (group_message(SECRETARY, "/成员 设置 12345 党员"), Says("身份只能是")),
        (group_message(SECRETARY, "/成员 设置"), Says("用法：/成员 设置 <@某人> <身份>")),
        (group_message(SECRETARY, "/成员 列表"), Says("成员 4 人", "【3楼】", "301", "小李")),
        (group_message(SECRETARY, "/成员 列表 9楼"), Says("9楼 没有成员")),
        (group_message(SECRETARY, f"/成员 移除 {WISHER}"), Says("已移除 小王", "积分记录保留")),
        (group_message(SECRETARY, f"/成员 移除 {WISHER}"), Says("没有 20101 的档案")),
    )


async def test_member_commands_refuse_non_admins_before_anything(app, branch):
    await converse(
        app,
        (group_message(HELPER, "/成员 列表"), Says("只有支委、书记或群管理员")),
        (group_message(HELPER, "/成员 胡说"), Says("只有支委、书记或群管理员")),
        (group_message(HELPER, "/成员 设置 1 2 3 4"), Says("只有支委、书记或群管理员")),
    )


async def test_group_owner_is_admin_and_superuser_too(app, branch):
    await converse(
        app,
        (group_message(99999, "/成员 列表", role="owner"), Says("成员 4 人")),
        (group_message(10000, "/成员 列表"), Says("成员 4 人")),
    )


async def test_branch_info_rename_and_bind(app, branch):
    await converse(
        app,
        (group_message(HELPER, "/支部 信息"), Says(f"支部 #{branch.id}", "未命名支部", str(GROUP))),
        (group_message(HELPER, "/支部 命名 一支部"), Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, "/支部 命名 社区第一党支部"), Says("已改名为「社区第一党支部」")),
        (group_message(SECRETARY, f"/支部 绑定 #{branch.id}", group_id=OTHER_GROUP),
         Says("只有本群群主、群管理员")),
        (group_message(SECRETARY, f"/支部 绑定 #{branch.id}", group_id=OTHER_GROUP, role="admin"),
         Says("本群已并入支部", "社区第一党支部")),
        (group_message(HELPER, "/支部", group_id=OTHER_GROUP),
         Says("社区第一党支部", str(GROUP), str(OTHER_GROUP))),
        (group_message(SECRETARY, "/支部 绑定 abc"), Says("用法：/支部 绑定 <支部编号>")),
    )


async def test_group_commands_in_private_chat_are_explained(app, services):
    await converse(
        app,
        (private_message(30101, "/心愿 认领 1"), Says("请在支部的QQ群里使用")),
        (private_message(30101, "/我的"), Says("你还没有在任何支部登记", "/登记 <姓名>")),
    )


async def test_help_is_built_from_plugin_metadata(app, services):
    await converse(
        app,
        (group_message(10001, "/帮助"), Says("功能菜单", "微心愿", "微积分", "成员", "支部")),
        (group_message(10001, "/帮助 心愿"), Says("【微心愿】", "/心愿 认领 <编号>")),
        (group_message(10001, "/help wish"), Says("【微心愿】")),
        (group_message(10001, "/帮助 不存在"), Says("没有叫「不存在」的功能")),
    )
