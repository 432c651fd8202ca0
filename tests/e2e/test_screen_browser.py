"""The screen page (投屏页) in a real headless Chromium, against the real bot.py (issue 13).

The bot runs with 5-second codes. The page is opened from the link the leader got privately;
it shows a code, which a member sends privately over the WebSocket; the page's count rises and
then its code changes by itself. Needs Debian's ``chromium`` (``.ci/run`` installs it) and the
``playwright`` package (its own browser download is not used).
"""

import asyncio
import re
import shutil
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.onebot import BotProcess, OneBotClient, message_text

GROUP = 84001
OWNER, LEADER, MEMBER, LATE, OUTSIDER = 71001, 71002, 71003, 71004, 71009
PERIOD = 5
LINK = re.compile(r"http://[^\s]+/zhibu/screen/[A-Za-z0-9_-]+")


def chromium() -> str | None:
    """Debian's Chromium binary (the real one, not the /usr/bin wrapper script, if present)."""
    for path in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "",
                 shutil.which("chromium-browser") or ""):
        if path and Path(path).exists():
            return path
    return None


def browser_or_skip(what: str):
    """(Chromium's path, Playwright's ``async_playwright``), or skip the test saying why."""
    browser_path = chromium()
    if browser_path is None:
        pytest.skip(f"no Chromium installed (apt-get install -y chromium); {what} untested")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    return browser_path, async_playwright


@pytest.fixture
def short_code_bot(tmp_path):
    proc = BotProcess(tmp_path / "e2e.db", tmp_path / "bot.log",
                      CHECKIN_CODE_PERIOD_SECONDS=str(PERIOD))
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def private_reply(qq: OneBotClient, user_id: int, text: str) -> str:
    await qq.private_message(user_id, text)
    call = await qq.next_call()
    assert call["params"]["user_id"] == user_id, call
    return message_text(call)


async def test_screen_page_in_a_real_browser(short_code_bot, bot_clock):
    browser_path, async_playwright = browser_or_skip("screen page")

    starts = bot_clock.now() + timedelta(minutes=10)
    async with OneBotClient(short_code_bot.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        await qq.reply_to(GROUP, LEADER, "/登记 李导学 3楼 301")
        await qq.reply_to(GROUP, MEMBER, "/登记 王同学 3楼 302")
        await qq.reply_to(GROUP, LATE, "/登记 赵同学 3楼 303")
        await qq.reply_to(GROUP, OWNER, f"/成员 设置 {LEADER} 正式党员", role="owner")
        await qq.group_message(GROUP, OWNER, [
            {"type": "text", "data": {"text": f"/导学 发起 党章学习 {starts:%Y-%m-%d %H:%M} 60 "}},
            {"type": "at", "data": {"qq": str(LEADER)}},
        ], role="owner")
        private = [await qq.next_call(), await qq.next_call()]
        group_reply = await qq.next_call()
        to_leader = next(c for c in private if c["params"]["user_id"] == LEADER)
        link = LINK.search(message_text(to_leader)).group(0)
        assert link.startswith(f"http://127.0.0.1:{short_code_bot.port}/zhibu/screen/")
        assert "/zhibu/screen/" not in message_text(group_reply)

        # a wrong token shows nothing of the session
        status, body = fetch(link[:-4] + "abcd")
        assert status == 404 and "链接无效" in body and "党章学习" not in body

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=browser_path, headless=True)
            try:
                page = await browser.new_page()
                await page.goto(link)
                await page.wait_for_function(
                    "/^\\d{4}$/.test(document.getElementById('code').textContent)",
                    timeout=15000)
                assert await page.text_content("#topic") == "党章学习"
                assert re.fullmatch(r"\d+ 秒后更换", await page.text_content("#countdown"))
                first = await page.text_content("#code")
                # opening the page books nobody (anyone holding the link may open it)
                await asyncio.sleep(1.5)
                assert await page.text_content("#count") == "已签到 0 人"

                reply = await private_reply(qq, OUTSIDER, f"/签到 {first}")
                assert "/登记" in reply and "签到成功" not in reply
                code = await page.text_content("#code")
                reply = await private_reply(qq, MEMBER, f"/签到 {code}")
                assert "签到成功：导学 #1" in reply and code not in reply
                await page.wait_for_function(
                    "document.getElementById('count').textContent === '已签到 1 人'",
                    timeout=10000)
                await page.wait_for_function(
                    f"document.getElementById('code').textContent !== '{first}'",
                    timeout=(2 * PERIOD + 5) * 1000)
                changed = await page.text_content("#code")
                assert re.fullmatch(r"\d{4}", changed) and changed != first
                assert await page.text_content("#count") == "已签到 1 人"

                # a session whose check-in opens later: its topic, when, and a countdown
                later = bot_clock.now() + timedelta(hours=3)
                await qq.group_message(GROUP, OWNER, [{"type": "text", "data": {
                    "text": f"/导学 发起 党史学习 {later:%Y-%m-%d %H:%M} 60 "}},
                    {"type": "at", "data": {"qq": str(LEADER)}}], role="owner")
                calls = [await qq.next_call() for _ in range(3)]
                to_leader = next(c for c in calls if c["params"].get("user_id") == LEADER
                                 and "党史学习" in message_text(c))
                await page.goto(LINK.search(message_text(to_leader)).group(0))
                await page.wait_for_function(
                    "document.getElementById('topic').textContent === '党史学习'",
                    timeout=10000)
                opens = later - timedelta(minutes=30)
                assert f"签到 {opens:%m-%d %H:%M} 开放" in await page.text_content("#hint")
                assert re.fullmatch(r"距签到开放还有 2:\d\d:\d\d",
                                    await page.text_content("#countdown"))
                assert await page.text_content("#code") == ""
            finally:
                await browser.close()

        # a code from two periods back is refused as expired, not counted as wrong
        await asyncio.sleep(2 * PERIOD + 1)
        reply = await private_reply(qq, LATE, f"/签到 {first}")
        assert "签到码已更新，请看现场屏幕上的最新签到码" in reply
