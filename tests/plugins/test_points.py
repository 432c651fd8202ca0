from nonebot.adapters.onebot.v11 import ActionFailed, Bot

from domain.branches import Actor
from domain.models import Category
from tests.fakes import GROUP, SELF_ID, Says, at, converse, group_message
from tests.plugins.conftest import HELPER, MASSES, SECRETARY, WISHER


async def test_adjust_reverse_and_statement(app, branch, services):
    await converse(
        app,
        (group_message(HELPER, at(WISHER, "/积分 调整 ", " +5 表现好")),
         Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, at(WISHER, "/积分 调整 ", " +5 组织志愿活动")),
         Says("已为 小王 记 +5 分", "流水 #1", "组织志愿活动")),
        (group_message(SECRETARY, at(WISHER, "/积分 调整 ", " 51 太多")),
         Says("调整分数须在 -50 到 +50 之间")),
        (group_message(SECRETARY, at(WISHER, "/积分 调整 ", " -3")), Says("用法：/积分 调整")),
        (group_message(SECRETARY, "/积分 撤销 #1 记错了"), Says("已撤销流水 #1", "-5 分", "#2")),
        (group_message(SECRETARY, "/积分 撤销 #1"), Says("已经撤销过")),
        (group_message(SECRETARY, "/积分 撤销 2"), Says("本身是撤销记录")),
        (group_message(SECRETARY, "/积分 撤销 #99"), Says("没有找到流水 #99")),
        (group_message(WISHER, "/积分 明细"),
         Says("积分明细（第 1/1 页）", "#2", "奖惩 -5 撤销 #1：记错了", "#1", "+5")),
        (group_message(WISHER, "/积分 明细 x"), Says("用法：/积分 明细 [页码]")),
        (group_message(MASSES, "/积分 明细"), Says("你还没有积分流水")),
    )


async def test_rank_board_with_ties_and_my_place(app, branch, services):
    for uid, pts in ((WISHER, 8), (HELPER, 8), (SECRETARY, 3)):
        await services.points.book(branch.id, uid, Category.AWARD, pts, "x", ref=None)
    await converse(
        app,
        (group_message(SECRETARY, "/积分榜"),
         Says("本学期积分榜（3 人上榜）", "1. 小王 8 分", "1. 小李 8 分", "3. 老张 3 分",
              "我：第 3 名，3 分")),
        (group_message(MASSES, "/rank 周"), Says("本周积分榜", "我：暂未上榜")),
        (group_message(MASSES, "/积分榜 年"), Says("用法：/积分榜 [周|月|学期|总]")),
        (group_message(HELPER, "/积分"), Says("积分：8", "第 1/3 名", "奖惩 8")),
    )


async def test_pairing_command_and_my_partner(app, branch, services):
    owner = Actor(1, is_group_admin=True)
    await services.branches.set_role(branch.id, owner, WISHER, "预备党员")
    await services.points.book(branch.id, HELPER, Category.AWARD, 9, "x", ref=None)
    await converse(
        app,
        (group_message(HELPER, "/结对"), Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, "/结对 2"), Says("最多结 1 对")),
        (group_message(SECRETARY, "/结对 x"), Says("用法：/结对 [人数]")),
        (group_message(SECRETARY, "/结对 1"),
         Says("结对帮扶（1 对）", "小李（9 分）→ 小王（0 分）")),
        (group_message(WISHER, "/我的"), Says("结对：帮扶我的是 小李")),
        (group_message(HELPER, "/我的"), Says("结对：我帮扶 小王")),
    )


async def test_term_commands(app, branch):
    await converse(
        app,
        (group_message(HELPER, "/学期"), Says("当前学期：2026-2027学年第一学期")),
        (group_message(HELPER, "/学期 开始 2027春"), Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, "/学期 开始"), Says("用法：/学期")),
        (group_message(SECRETARY, "/学期 开始 2027春"), Says("新学期「2027春」已开始")),
        (group_message(HELPER, "/学期"), Says("当前学期：2027春", "往期：2026-2027学年第一学期")),
    )


async def test_stats_asks_the_group_size_and_answers_every_figure(app, branch, services):
    event = group_message(SECRETARY, "/统计")
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_api("get_group_info", {"group_id": GROUP},
                            result={"group_id": GROUP, "member_count": 8})
        ctx.should_call_send(event, Says(
            "支部工作报告", "成员：4 人", "覆盖率：50.0%（4/8）", "心愿收集：0 个",
            "导学举办：0 场", "积分达标率：0.0%（0/1 人达到标准）",
            "3楼：成员 4 人，其中入党积极分子及以上 1 人", absent=("楼层 3楼",)), result={})


async def test_stats_without_group_size_and_refusals(app, branch):
    event = group_message(SECRETARY, "/统计")
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_api("get_group_info", {"group_id": GROUP},
                            exception=ActionFailed(status="failed", retcode=1, message="no"))
        ctx.should_call_send(event, Says("覆盖率：未知"), result={})
    await converse(app, (group_message(HELPER, "/统计"), Says("只有支委、书记或群管理员")))
    event = group_message(SECRETARY, "/统计 不存在的学期")
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, event)
        ctx.should_call_api("get_group_info", {"group_id": GROUP}, result={"member_count": 8})
        ctx.should_call_send(event, Says("没有找到学期「不存在的学期」"), result={})


class Xlsx:
    """Equal to an upload's ``file``: a base64:// workbook, or a path to one that exists."""

    def __init__(self, encoded: bool) -> None:
        self.encoded = encoded

    def __eq__(self, other) -> bool:
        import base64
        import io
        from pathlib import Path

        from openpyxl import load_workbook

        if not isinstance(other, str):
            return False
        if self.encoded:
            if not other.startswith("base64://"):
                return False
            book = load_workbook(io.BytesIO(base64.b64decode(other[len("base64://"):])))
        else:
            if other.startswith("base64://") or not Path(other).is_file():
                return False
            book = load_workbook(other)
        return "汇总" in book.sheetnames

    def __repr__(self) -> str:
        return f"Xlsx(encoded={self.encoded})"


async def test_stats_export_reaches_the_secretary_and_leaves_no_file(app, branch, services,
                                                                    tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    name = "2026-2027学年第一学期-支部报告.xlsx"
    failed = ActionFailed(status="failed", retcode=1400)
    # base64 goes everywhere; a path only where the QQ side reads the bot's disk (Lagrange)
    for shared, outcome in ((False, "group"), (False, "private"), (False, "nothing"),
                            (True, "group by path"), (True, "nothing")):
        monkeypatch.setattr(services.settings, "onebot_shares_filesystem", shared)
        event = group_message(SECRETARY, "/统计 导出")
        async with app.test_matcher() as ctx:
            bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
            ctx.receive_event(bot, event)
            ctx.should_call_api("get_group_info", {"group_id": GROUP}, result={"member_count": 8})
            group_upload = {"group_id": GROUP, "file": Xlsx(True), "name": name}
            by_path = {"group_id": GROUP, "file": Xlsx(False), "name": name}
            private = {"user_id": SECRETARY, "file": Xlsx(True), "name": name}
            private_path = {"user_id": SECRETARY, "file": Xlsx(False), "name": name}
            if outcome == "group":
                ctx.should_call_api("upload_group_file", group_upload, result=None)
                ctx.should_call_send(event, Says("已上传群文件"), result={})
                continue
            ctx.should_call_api("upload_group_file", group_upload, exception=failed)
            if shared:
                if outcome == "group by path":
                    ctx.should_call_api("upload_group_file", by_path, result=None)
                    ctx.should_call_send(event, Says("已上传群文件"), result={})
                    continue
                ctx.should_call_api("upload_group_file", by_path, exception=failed)
            if outcome == "private":
                ctx.should_call_api("upload_private_file", private, result=None)
                ctx.should_call_send(event, Says("已上传私聊文件"), result={})
                continue
            ctx.should_call_api("upload_private_file", private, exception=failed)
            if shared:
                ctx.should_call_api("upload_private_file", private_path, exception=failed)
                ctx.should_call_send(event, Says("没有接受这个文件", "python -m tools.export"),
                                     result={})
            else:
                ctx.should_call_send(event, Says("没有接受这个文件", "python -m tools.export",
                                                 "ONEBOT_SHARES_FILESYSTEM=true"), result={})
    assert not list(tmp_path.rglob("*.xlsx"))  # every export was removed after its upload
