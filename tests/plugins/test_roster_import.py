"""``/成员 导入`` from the group's files (the QQ side's file API stubbed) and ``/成员 导出``."""

from __future__ import annotations

import base64
import http.server
import io
import threading

import pytest
from nonebot.adapters.onebot.v11 import Bot
from nonebot.adapters.onebot.v11.exception import ActionFailed
from openpyxl import load_workbook

from tests.bombs import roster_xlsx
from tests.fakes import GROUP, SELF_ID, Says, group_message
from tests.plugins.conftest import HELPER, SECRETARY

ROSTER_ROWS = [["序号", "姓名", "QQ号", "政治面貌", "楼层", "宿舍", "职务"],
               [1, "新同学", 30101, "共青团员", 5, "501", None],
               [2, "小李", HELPER, "预备党员", 3, "301", "支委"]]


@pytest.fixture(autouse=True)
def no_pending_imports():
    from plugins.members.roster import pending_imports

    pending_imports._by_group.clear()
    yield
    pending_imports._by_group.clear()


def listing(*files: tuple[str, str, int]) -> dict:
    return {"files": [{"group_id": GROUP, "file_id": fid, "file_name": name, "busid": 102,
                       "file_size": 1000, "upload_time": at, "uploader": SECRETARY}
                      for fid, name, at in files], "folders": []}


class Captured:
    """Matches any value in an expected API call, and keeps it."""

    value = None

    def __eq__(self, other) -> bool:
        self.value = other
        return True


async def send(app, event, *steps):
    """One event; ``steps`` are ("api", name, data, result|exception) or ("send", Says)."""
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, event)
        for step in steps:
            if step[0] == "api":
                _, name, data, outcome = step
                if isinstance(outcome, Exception):
                    ctx.should_call_api(name, data, exception=outcome)
                else:
                    ctx.should_call_api(name, data, result=outcome)
            else:
                ctx.should_call_send(event, step[1], result={"message_id": 1})


async def test_preview_then_confirm_imports_the_latest_roster(app, branch, services, tmp_path):
    path = tmp_path / "名册.xlsx"
    path.write_bytes(roster_xlsx(ROSTER_ROWS))
    files = listing(("old", "旧名册.csv", 100), ("new", "名册.xlsx", 200), ("pic", "合影.jpg", 300))
    await send(app, group_message(SECRETARY, "/成员 导入"),
               ("api", "get_group_root_files", {"group_id": GROUP, "file_count": 1000}, files),
               ("api", "get_group_file_url", {"group_id": GROUP, "file_id": "new", "busid": 102},
                {"url": path.as_uri()}),
               # names and QQ numbers only privately; the group hears the counts
               ("api", "send_private_msg", {"user_id": SECRETARY, "message": Says(
                   "名册「名册.xlsx」预览（还没有导入）", "新增 1 人，更新 1 人",
                   "第 2 行 新同学（30101）群众 5楼 501",
                   "小李（20102）：身份 正式党员→预备党员，支委 否→是",
                   "支部里另有 3 人不在名册中")}, {"message_id": 5}),
               ("send", Says("新增 1 人，更新 1 人", "逐行预览已私聊发给你", "/成员 导入 确认",
                             absent=("30101", "新同学"))))
    assert await services.branches.member(branch.id, 30101) is None  # a preview writes nothing
    await send(app, group_message(SECRETARY, "/成员 导入 确认"),
               ("send", Says("已导入名册「名册.xlsx」：新增 1 人，更新 1 人", "不用再 /登记")))
    new = await services.branches.member(branch.id, 30101)
    assert (new.name, new.identity, new.floor) == ("新同学", "群众", "5楼")
    helper = await services.branches.member(branch.id, HELPER)
    assert (helper.identity, helper.is_committee) == ("预备党员", True)
    # the preview is used once
    await send(app, group_message(SECRETARY, "/成员 导入 确认"),
               ("send", Says("没有待确认的名册导入")))


async def test_refused_rows_need_skipping_and_a_preview_expires(app, branch, services, clock,
                                                                 tmp_path):
    path = tmp_path / "名册.csv"
    path.write_bytes("姓名,QQ,身份\n新同学,30101,群众\n错号,12,群众\n".encode("gbk"))
    files = listing(("f1", "名册.csv", 100))
    preview = [("api", "get_group_root_files", {"group_id": GROUP, "file_count": 1000}, files),
               ("api", "get_group_file_url", {"group_id": GROUP, "file_id": "f1", "busid": 102},
                {"url": str(path)})]
    await send(app, group_message(SECRETARY, "/成员 导入 名册"), *preview,
               ("api", "send_private_msg", {"user_id": SECRETARY, "message": Says(
                   "拒绝 1 行", "第 3 行（错号）：QQ号不对")}, {"message_id": 5}),
               ("send", Says("拒绝 1 行", "/成员 导入 确认 跳过错误")))
    await send(app, group_message(SECRETARY, "/成员 导入 确认"),
               ("send", Says("名册有 1 行被拒绝，没有导入任何一行")))
    assert await services.branches.member(branch.id, 30101) is None
    await send(app, group_message(SECRETARY, "/成员 导入 确认 跳过错误"),
               ("send", Says("新增 1 人", "跳过了被拒绝的 1 行")))
    assert await services.branches.member(branch.id, 30102) is None
    assert await services.branches.member(branch.id, 30101) is not None

    path.write_bytes("姓名,QQ,身份\n又一位,30103,群众\n".encode("gbk"))
    await send(app, group_message(SECRETARY, "/成员 导入"), *preview,
               ("api", "send_private_msg", {"user_id": SECRETARY, "message": Says("新增 1 人")},
                {"message_id": 6}),
               ("send", Says("新增 1 人", "30 分钟内")))
    clock.advance(minutes=31)
    await send(app, group_message(SECRETARY, "/成员 导入 确认"),
               ("send", Says("没有待确认的名册导入", "30 分钟内有效")))
    assert await services.branches.member(branch.id, 30103) is None


async def test_download_by_url_from_the_qq_side(app, branch, services):
    body = "姓名,QQ\n远程同学,30201\n".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/download?fname=x"
        await send(app, group_message(SECRETARY, "/成员 导入"),
                   ("api", "get_group_root_files", {"group_id": GROUP, "file_count": 1000},
                    listing(("f", "roster.CSV", 5))),
                   # Lagrange-style: no URL action; NapCat's get_file gives one
                   ("api", "get_group_file_url", {"group_id": GROUP, "file_id": "f", "busid": 102},
                    ActionFailed(retcode=1404)),
                   ("api", "get_file", {"file_id": "f"}, {"url": url, "file": ""}),
                   ("api", "send_private_msg", {"user_id": SECRETARY,
                                                "message": Says("新增 1 人", "远程同学（30201）")},
                    {"message_id": 7}),
                   ("send", Says("新增 1 人", "私聊")))
    finally:
        server.shutdown()


async def test_no_file_api_no_roster_and_non_admins(app, branch):
    await send(app, group_message(SECRETARY, "/成员 导入"),
               ("api", "get_group_root_files", {"group_id": GROUP, "file_count": 1000},
                ActionFailed(retcode=1404)),
               ("send", Says("QQ 端不支持读取群文件", "python -m tools.roster import")))
    await send(app, group_message(SECRETARY, "/成员 导入"),
               ("api", "get_group_root_files", {"group_id": GROUP, "file_count": 1000},
                listing(("p", "合影.jpg", 1))),
               ("send", Says("群文件里没有找到 .xlsx 或 .csv 名册")))
    await send(app, group_message(HELPER, "/成员 导入"),
               ("send", Says("只有支委、书记或群管理员")))
    await send(app, group_message(HELPER, "/成员 导入 确认"),
               ("send", Says("只有支委、书记或群管理员")))


async def test_export_goes_privately_to_the_admin(app, branch):
    captured = Captured()
    await send(app, group_message(SECRETARY, "/成员 导出"),
               ("api", "upload_private_file", {"user_id": SECRETARY, "file": captured,
                                               "name": Captured()}, {}),
               ("send", Says("名册（4 人）已私聊发给你")))
    data = base64.b64decode(captured.value.removeprefix("base64://"))
    rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(data)).active.iter_rows()]
    assert rows[0] == ["姓名", "QQ", "身份", "楼层", "宿舍", "职务"]
    assert ["老张", str(SECRETARY), "群众", "3楼", "301", "书记"] in rows
