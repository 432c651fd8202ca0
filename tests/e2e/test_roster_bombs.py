"""Hostile roster files through ``/成员 导入`` and ``python -m tools.roster`` (issue 20, finding
2): each is refused with one sentence, no traceback, and the bot keeps answering other groups
while it reads one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from domain.spreadsheet import TOO_COMPLEX
from tests.bombs import deflate_bomb, dimension_bomb, wide_row_bomb
from tests.e2e.onebot import ROOT, BotProcess, OneBotClient, message_text

GROUP, OTHER_GROUP = 87401, 87402
OWNER, OTHER_OWNER = 66001, 66002
DIMENSION = ("名册表格声明的范围太大（A1:XFD1048576，上限 200 列），没有导入；"
             "请把名册复制到一个新表格后再试。")
UNPACKED = ("名册文件解压后太大（300 MB，上限 32 MB），没有导入；"
            "请只保留名册本身，另存为新文件后再试。")


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {"dimension": dimension_bomb(), "deflate": deflate_bomb(300),
            "wide": wide_row_bomb()}


def offer(qq: OneBotClient, path, data: bytes) -> None:
    """Put ``data`` in the group's files as 名册.xlsx, as the QQ side lists and serves it."""
    path.write_bytes(data)
    qq.results["get_group_root_files"] = {"files": [{
        "file_id": "roster", "file_name": "名册.xlsx", "busid": 102, "file_size": len(data),
        "upload_time": 100, "uploader": OWNER}], "folders": []}
    qq.results["get_group_file_url"] = {"url": path.as_uri()}


async def import_while_another_group_asks(qq: OneBotClient) -> list[dict]:
    """``/成员 导入`` in one group, ``/支部 信息`` in another right after; both replies, in the
    order they came."""
    await qq.group_message(GROUP, OWNER, "/成员 导入", role="owner")
    await qq.group_message(OTHER_GROUP, OTHER_OWNER, "/支部 信息", role="owner")
    replies = []
    while len(replies) < 2:
        call = await qq.next_call(timeout=60)
        if call["action"] == "send_msg":
            replies.append(call)
    return replies


async def test_roster_bombs_are_refused_in_one_sentence_while_other_groups_are_answered(
        tmp_path, bombs):
    bot = BotProcess(tmp_path / "bombs.db", tmp_path / "bot.log", ROSTER_PARSE_SECONDS="3")
    bot.start()
    try:
        async with OneBotClient(bot.port) as qq:
            await qq.set_up_group(GROUP, OWNER)
            await qq.set_up_group(OTHER_GROUP, OTHER_OWNER, "另一个支部")
            for name, refusal in (("dimension", DIMENSION), ("deflate", UNPACKED),
                                  ("wide", TOO_COMPLEX)):
                offer(qq, tmp_path / "名册.xlsx", bombs[name])
                replies = await import_while_another_group_asks(qq)
                by_group = {r["params"]["group_id"]: message_text(r) for r in replies}
                assert "另一个支部" in by_group[OTHER_GROUP]
                assert by_group[GROUP] == refusal, name
                if name == "wide":  # read for seconds: the other group is not kept waiting
                    assert replies[0]["params"]["group_id"] == OTHER_GROUP
    finally:
        bot.stop()
    log = bot.log()
    assert "Traceback" not in log and "command /成员 failed" not in log


@pytest.mark.parametrize("name", ["dimension", "deflate", "wide"])
def test_the_command_line_refuses_a_bomb_with_the_sentence_and_no_traceback(tmp_path, bombs,
                                                                            name):
    from tests.tools.test_roster_cli import make_db

    db = tmp_path / "zhibu.db"
    branch = make_db(db)
    roster = tmp_path / "名册.xlsx"
    roster.write_bytes(bombs[name])
    done = subprocess.run(
        [sys.executable, "-m", "tools.roster", "import", str(roster), "--branch", str(branch),
         "--db", str(db), "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "ROSTER_PARSE_SECONDS": "3"})
    assert done.returncode != 0
    assert done.stderr.strip() == {"dimension": DIMENSION, "deflate": UNPACKED,
                                   "wide": TOO_COMPLEX}[name]
    assert "Traceback" not in done.stderr + done.stdout
