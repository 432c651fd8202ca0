"""``/zhibu/health`` and ``/zhibu/metrics`` over HTTP against the real bot.py: healthy, the
database broken under the running bot, the QQ side gone, and the metrics refused to a request
from another address without the token.

The refusal is tested with a real non-loopback client address: the bot listens on every
address (``HOST=0.0.0.0``, with its access token, as it must) and the test connects to this
machine's own non-loopback address, so the request arrives from that address, not from
127.0.0.1. A machine without such an address skips that test and says so; the reverse-proxy
case (a loopback client carrying ``X-Forwarded-For``) is tested everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import re
import socket
import urllib.error
import urllib.request

import pytest

from tests.e2e.onebot import SELF_ID, TOKEN, BotProcess, OneBotClient

GROUP, OWNER = 910001, 920001


def get(port: int, path: str, host: str = "127.0.0.1", headers: dict | None = None
        ) -> tuple[int, str]:
    request = urllib.request.Request(f"http://{host}:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


async def health(port: int) -> tuple[int, dict]:
    status, body = await asyncio.to_thread(get, port, "/zhibu/health")
    return status, json.loads(body)


async def health_until(port: int, wanted: int, timeout: float = 10) -> tuple[int, dict]:
    """Ask until the answer has status ``wanted`` (a disconnect is noticed asynchronously)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status, body = await health(port)
        if status == wanted or asyncio.get_running_loop().time() > deadline:
            return status, body
        await asyncio.sleep(0.1)


def metric(text: str, name: str, **labels: str) -> float | None:
    """A sample's value in Prometheus text, or None when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "")
    found = re.search(rf"^{pattern} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


def own_address() -> str | None:
    """A non-loopback IPv4 address of this machine, or None."""
    candidates = set()
    with contextlib.suppress(OSError):
        candidates |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None,
                                                                 socket.AF_INET)}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:  # no packet is sent: this only asks which address a route would use
            probe.connect(("192.0.2.1", 9))
            candidates.add(probe.getsockname()[0])
        except OSError:
            pass
    for address in sorted(candidates):
        if not ipaddress.ip_address(address).is_loopback:
            with socket.socket() as s:
                try:
                    s.bind((address, 0))
                except OSError:
                    continue
            return address
    return None


@pytest.fixture
def start_bot(tmp_path):
    """Starts bot.py with the given settings (environment variables); stopped after the test."""
    started: list[BotProcess] = []

    def start(**env: str) -> BotProcess:
        proc = BotProcess(tmp_path / "e2e.db", tmp_path / "bot.log",
                          BACKUP_DIR=str(tmp_path / "backups"), **env)
        started.append(proc)
        proc.start()
        return proc

    yield start
    for proc in started:
        proc.stop()


async def test_healthy_bot_answers_200_and_counts_what_it_did(start_bot):
    bot = start_bot(SEND_RATE_PER_MINUTE="6000", SEND_INTERVAL_SECONDS="0.01",
                     PLAYGROUND_MODE="true")
    qq = OneBotClient(bot.port)
    qq.results["get_version_info"] = {"app_name": "NapCat.Onebot", "app_version": "4.8.0",
                                      "protocol_version": "v11"}
    async with qq:
        await qq.set_up_group(GROUP, OWNER)
        await qq.reply_to(GROUP, OWNER, "/心愿 认领", role="owner")  # its usage line
        await qq.group_message(GROUP, OWNER, "/公告 今晚七点开会", role="owner")
        await qq.until_quiet()
        await qq.reply_to(GROUP, 10000, "/支部 备份")  # a superuser backs up now
        await qq.until_quiet()
        status, body = await health(bot.port)
        assert status == 200, body
        assert body["status"] == "ok" and body["problems"] == []
        assert body["database"]["ok"] is True and body["database"]["schema_version"] > 0
        assert body["accounts"]["connected"] == 1
        assert body["accounts"]["implementations"] == ["napcat 4.8.0"]
        assert body["outbox"]["pending"] == 0
        assert body["backup"]["ok"] is True and body["backup"]["source"] == "run"
        assert body["version"] != ""
        raw = json.dumps(body, ensure_ascii=False)
        for secret in (str(SELF_ID), str(GROUP), str(OWNER), TOKEN, str(bot.db_path.parent)):
            assert secret not in raw, secret

        status, text = await asyncio.to_thread(get, bot.port, "/zhibu/metrics")
    assert status == 200
    assert metric(text, "zhibu_commands_total", command="心愿", outcome="usage") == 1
    assert metric(text, "zhibu_commands_total", command="公告", outcome="ok") == 1
    assert metric(text, "zhibu_commands_total", command="支部", outcome="ok") == 2
    assert metric(text, "zhibu_reply_seconds_count") == 4
    assert metric(text, "zhibu_outbox_sends_total", kind="announcement", result="sent") >= 1
    assert metric(text, "zhibu_outbox_pending") == 0
    assert metric(text, "zhibu_backup_seconds_count", result="ok") == 1
    assert metric(text, "zhibu_accounts_connected") == 1
    assert metric(text, "zhibu_database_ok") == 1
    # one log line per command, with its duration and never its words
    lines = [line for line in bot.log().splitlines() if "command /公告" in line]
    assert len(lines) == 1 and re.search(r"from \d+ in group \d+: ok, \d+ ms$", lines[0])
    assert "今晚七点开会" not in lines[0]


async def test_a_database_broken_under_the_running_bot_answers_503(start_bot):
    bot = start_bot(HEALTH_DB_CHECK_MINUTES="0")
    async with OneBotClient(bot.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        status, body = await health(bot.port)
        assert status == 200, body
        # the files overwritten, as a failing disk or a stray copy leaves them
        for path in (bot.db_path, bot.db_path.with_name(bot.db_path.name + "-wal")):
            if path.exists():
                path.write_bytes(b"\x5a" * path.stat().st_size)
        status, body = await health(bot.port)
        assert status == 503
        assert body["status"] == "unhealthy" and body["database"]["ok"] is False
        assert any("数据库" in problem for problem in body["problems"])
        _, text = await asyncio.to_thread(get, bot.port, "/zhibu/metrics")
        assert metric(text, "zhibu_database_ok") == 0


async def test_the_qq_side_gone_answers_503(start_bot):
    bot = start_bot(HEALTH_OFFLINE_MINUTES="0")
    status, body = await health(bot.port)
    assert status == 503 and body["accounts"]["connected"] == 0  # none has connected yet
    async with OneBotClient(bot.port):
        status, body = await health_until(bot.port, 200)
        assert status == 200 and body["accounts"]["connected"] == 1
    status, body = await health_until(bot.port, 503)
    assert status == 503, body
    assert body["accounts"]["connected"] == 0 and body["accounts"]["offline_seconds"] >= 0
    assert any("QQ 账号" in problem for problem in body["problems"])


async def test_the_qq_side_away_briefly_is_still_healthy(start_bot):
    """With the default ``health_offline_minutes`` (10) a reconnect is not an alarm."""
    bot = start_bot()
    async with OneBotClient(bot.port):
        await health_until(bot.port, 200)
    # the disconnect is noticed asynchronously: ask until it is, healthy all the while
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        status, body = await health(bot.port)
        assert status == 200, body
        if body["accounts"]["connected"] == 0 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    assert body["accounts"]["connected"] == 0


async def test_metrics_are_refused_from_another_address_without_the_token(start_bot):
    bot = start_bot(HOST="0.0.0.0")
    status, text = await asyncio.to_thread(get, bot.port, "/zhibu/metrics")
    assert status == 200 and "zhibu_commands_total" in text
    # behind a reverse proxy on this machine every request comes from 127.0.0.1
    status, _ = await asyncio.to_thread(get, bot.port, "/zhibu/metrics", "127.0.0.1",
                                        {"X-Forwarded-For": "203.0.113.9"})
    assert status == 403
    address = own_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to send a request from")
    status, text = await asyncio.to_thread(get, bot.port, "/zhibu/metrics", address)
    assert status == 403 and "zhibu_" not in text
    status, _ = await asyncio.to_thread(get, bot.port, "/zhibu/health", address)
    assert status in (200, 503)  # health is for any monitor: it holds no secret


async def test_metrics_with_a_token_need_it_from_everywhere(start_bot):
    bot = start_bot(HOST="0.0.0.0", METRICS_TOKEN="scrape-me")
    address = own_address() or "127.0.0.1"
    bearer = {"Authorization": "Bearer scrape-me"}
    status, text = await asyncio.to_thread(get, bot.port, "/zhibu/metrics", address, bearer)
    assert status == 200 and "zhibu_commands_total" in text
    for host, headers in ((address, {}), ("127.0.0.1", {}),
                          (address, {"Authorization": "Bearer wrong"})):
        status, text = await asyncio.to_thread(get, bot.port, "/zhibu/metrics", host, headers)
        assert status == 401 and "zhibu_" not in text
