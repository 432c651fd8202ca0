"""Who may speak for the QQ side (issue 20, finding 1), over real HTTP against the real bot.py.

NoneBot's OneBot adapter also takes events by HTTP POST, checked only by ONEBOT_SECRET. A forged
POST (an ``X-Self-ID`` header and a group event whose sender claims to be the group owner) used
to add points to the ledger and answer in the real group over the real WebSocket.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import urllib.error
import urllib.request

import pytest

from tests.e2e.onebot import SELF_ID, BotProcess, OneBotClient, event_time, message_text

GROUP = 87001
OWNER, MEMBER, FORGER = 62001, 62002, 62003
PATHS = ("/onebot/v11/", "/onebot/v11/http", "/onebot/v11/http/")
SECRET = "http-post-secret"


def forged_event(text: str, message_id: int) -> bytes:
    """A group message from the group's "owner", as anyone could type it."""
    return json.dumps({
        "time": event_time(), "self_id": SELF_ID, "post_type": "message",
        "message_type": "group", "sub_type": "normal", "message_id": message_id,
        "group_id": GROUP, "user_id": FORGER, "anonymous": None, "raw_message": text,
        "message": [{"type": "text", "data": {"text": text}}], "font": 14,
        "sender": {"user_id": FORGER, "nickname": "群主", "card": "", "role": "owner"},
    }, ensure_ascii=False).encode()


def post(port: int, path: str, body: bytes, signature: str | None = None) -> int:
    """POST ``body`` as an OneBot HTTP event; the HTTP status."""
    headers = {"Content-Type": "application/json", "X-Self-ID": str(SELF_ID)}
    if signature is not None:
        headers["X-Signature"] = signature
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def ledger(db_path) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT user_id, delta FROM ledger ORDER BY id").fetchall()


async def test_a_forged_http_post_is_refused_and_changes_nothing(bot_process):
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        assert "已登记" in message_text(await qq.reply_to(GROUP, MEMBER, "/登记 小王 3楼"))
        for n, path in enumerate(PATHS):
            body = forged_event(f"/积分 调整 {MEMBER} +50 x", 770001 + n)
            assert post(bot_process.port, path, body) == 403, path
            assert post(bot_process.port, path, body, signed(body, "guessed")) == 403, path
        assert await qq.until_quiet(2.0) == []  # nothing reached the group
    assert ledger(bot_process.db_path) == []
    assert "Refused an HTTP POST" in bot_process.log()


async def test_with_the_transport_on_only_a_correctly_signed_post_is_taken(tmp_path):
    bot = BotProcess(tmp_path / "http.db", tmp_path / "bot.log", ONEBOT_HTTP_POST="true",
                     ONEBOT_SECRET=SECRET)
    bot.start()
    try:
        async with OneBotClient(bot.port) as qq:
            await qq.set_up_group(GROUP, OWNER)
            await qq.reply_to(GROUP, MEMBER, "/登记 小王 3楼")
            body = forged_event(f"/积分 调整 {MEMBER} +50 x", 771001)
            assert post(bot.port, "/onebot/v11/", body) == 401  # no signature
            assert post(bot.port, "/onebot/v11/", body, signed(body, "guessed")) == 403
            assert await qq.until_quiet() == []
            assert ledger(bot.db_path) == []
            # the QQ side's own post, signed with the shared secret: taken, answered over WS
            assert post(bot.port, "/onebot/v11/http", body, signed(body)) == 204
            reply = await qq.next_call()
            assert "已为 小王 记 +50 分" in message_text(reply)
            assert post(bot.port, "/onebot/v11/http", b"{not json", signed(b"{not json")) == 400
        assert ledger(bot.db_path) == [(MEMBER, 50)]
    finally:
        bot.stop()


@pytest.mark.parametrize(("env", "named"), [
    ({"HOST": "0.0.0.0", "ONEBOT_ACCESS_TOKEN": ""}, "ONEBOT_ACCESS_TOKEN"),
    ({"ONEBOT_HTTP_POST": "true", "ONEBOT_SECRET": ""}, "ONEBOT_SECRET"),
])
def test_the_bot_refuses_to_start_with_an_open_door(tmp_path, env, named):
    bot = BotProcess(tmp_path / "open.db", tmp_path / "bot.log", **env)
    try:
        with pytest.raises(RuntimeError, match=r"bot\.py exited"):
            bot.start()
    finally:
        bot.stop()
    assert bot.proc.returncode != 0
    log = bot.log()
    assert "Refusing to start" in log and named in log
    assert "Traceback" not in log
    assert "Uvicorn running" not in log  # never half-ran
