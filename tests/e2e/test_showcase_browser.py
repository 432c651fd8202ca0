"""The showcase page (展示页) in a real headless Chromium (Debian's, through Playwright), against
the real bot.py: it shows the term's exemplars, a case, a 微党课 ranking and the activities, and
no QQ number; it works inside an iframe and prints on A4; 30 views from 3 visitors count 3 for
the day in /统计; once closed, the old link shows nothing."""

import re
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.e2e.onebot import OneBotClient, advance, message_text
from tests.e2e.test_screen_browser import browser_or_skip

GROUP = 89501
SECRETARY = 67001
W1, W2, W3, SPEAKER, A1, A2 = 67011, 67012, 67013, 67014, 67015, 67016
NAMES = {SECRETARY: "陈书记", W1: "王同学", W2: "李同学", W3: "赵同学", SPEAKER: "周讲者",
         A1: "听众一", A2: "听众二"}
STORY1 = "连续三年专业第一，带动宿舍共同进步"
STORY2 = "坚持社区志愿服务两百小时"
LINK = re.compile(r"http://[^\s]+/zhibu/show/[A-Za-z0-9_-]+")


async def ask(qq: OneBotClient, user: int, typed: str | list[dict],
              role: str = "member") -> str:
    """The bot's reply in the group; what the queue sends meanwhile is passed over."""
    await qq.group_message(GROUP, user, typed, role)
    while True:
        call = await qq.next_call()
        if call["action"] == "send_msg" and call["params"].get("group_id") == GROUP:
            return message_text(call)


@contextmanager
def college_site(link: str):
    """A college website on another port of this machine whose news page embeds ``link`` in
    an iframe (served from a real address: Chromium refuses to frame a local page into a page
    it did not load from the network)."""
    page = (f'<!doctype html><meta charset="utf-8"><h1>学院新闻</h1><iframe id="f" src="{link}" '
            'width="100%" height="600"></iframe>').encode()

    class News(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), News)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/news.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_the_showcase_page_in_a_real_browser(fast_bot, bot_clock):
    browser_path, async_playwright = browser_or_skip("showcase page")

    async with OneBotClient(fast_bot.port) as qq:
        qq.results["get_group_info"] = {"member_count": 20}
        await qq.set_up_group(GROUP, SECRETARY)
        for uid, name in NAMES.items():
            assert "已登记" in await ask(qq, uid, f"/登记 {name}")
        deadline = bot_clock.now() + timedelta(days=1)
        await ask(qq, SECRETARY, f"/典型 征集 {deadline:%Y-%m-%d %H:%M}", "owner")
        assert "已记录自荐 #1" in await ask(qq, W1, f"/典型 自荐 学业 {STORY1}")
        assert "已记录推荐 #2" in await ask(qq, W3, [
            {"type": "text", "data": {"text": "/典型 推荐 "}},
            {"type": "at", "data": {"qq": str(W2)}},
            {"type": "text", "data": {"text": f" 服务 {STORY2}"}}])
        for n in (1, 2):
            assert "已通过" in await ask(qq, SECRETARY, f"/典型 审核 #{n} 通过", "owner")
            assert "已确定" in await ask(qq, SECRETARY, f"/典型 确定 #{n}", "owner")
        assert "已公示 2 位微典型" in await ask(qq, SECRETARY, "/典型 公示", "owner")
        assert "已整理为案例 #1" in await ask(qq, SECRETARY, "/典型 案例 #1 学霸养成记", "owner")

        # a 微党课 scored by two listeners, closed a day after it ended
        starts = bot_clock.now() + timedelta(minutes=20)
        assert "已发起微党课 #1" in await ask(
            qq, SECRETARY, f"/活动 发起 微党课 青年说 {starts:%Y-%m-%d %H:%M} 60 无码", "owner")
        assert "已设置" in await ask(qq, SECRETARY, [
            {"type": "text", "data": {"text": "/活动 讲者 #1 "}},
            {"type": "at", "data": {"qq": str(SPEAKER)}},
            {"type": "text", "data": {"text": " 初心如磐"}}], "owner")
        for uid in (SPEAKER, A1, A2, W1):
            assert "签到成功" in await ask(qq, uid, "/签到")
        start = starts.replace(second=0).timestamp()
        await advance(fast_bot.port, start + 60)
        for uid, score in ((A1, 5), (A2, 4)):
            await qq.private_message(uid, f"/评分 #1 1 {score}")
            while True:
                call = await qq.next_call()
                if call["action"] == "send_msg" and call["params"].get("user_id") == uid:
                    assert f"打 {score} 分" in message_text(call)
                    break
        closed = start + 3600 + 24 * 3600 + 60
        # the page's views must all fall on one day: never start them just before midnight
        moment = datetime.fromtimestamp(closed, bot_clock.tz)
        if moment.hour == 23 and moment.minute >= 50:
            closed = (moment + timedelta(minutes=20)).timestamp()
        await advance(fast_bot.port, closed)

        reply = await ask(qq, SECRETARY, "/典型 展示页", "owner")
        link = LINK.search(reply).group(0)
        assert link in await ask(qq, SECRETARY, "/典型 展示页", "owner")  # a stable link

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=browser_path, headless=True)
            try:
                visitors = [await browser.new_context(user_agent=f"ShowcaseVisitor/{i}")
                            for i in range(3)]
                page = await visitors[0].new_page()
                response = await page.goto(link)
                assert response.status == 200
                exemplars = await page.text_content("#exemplars")
                assert "王同学" in exemplars and STORY1 in exemplars
                assert "李同学" in exemplars and STORY2 in exemplars
                assert "学霸养成记" in await page.text_content("#cases")
                lectures = await page.text_content("#lectures")
                assert "周讲者" in lectures and "初心如磐" in lectures and "4.50 分" in lectures
                activities = await page.text_content("#activities")
                assert "青年说" in activities and "微党课" in activities
                shown = await page.text_content("body")
                html = await page.content()
                assert not re.search(r"\d{5,}", shown)  # no QQ number, nor anything like one
                assert not any(str(uid) in html for uid in NAMES)
                # A4: the print stylesheet hides the screen hint; Chromium prints a PDF
                await page.emulate_media(media="print")
                assert not await page.is_visible(".no-print")
                assert (await page.pdf(format="A4")).startswith(b"%PDF")
                await page.emulate_media(media="screen")
                # inside another site's iframe (this load is visitor 0's 2nd view)
                with college_site(link) as college:
                    await page.goto(college)
                    framed = page.frame_locator("#f").locator("#exemplars")
                    assert "王同学" in await framed.text_content(timeout=10000)
                for i, visitor in enumerate(visitors):
                    tab = page if i == 0 else await visitor.new_page()
                    for _ in range(8 if i == 0 else 10):
                        assert (await tab.goto(link)).status == 200
            finally:
                await browser.close()

        report = ""
        await qq.group_message(GROUP, SECRETARY, "/统计", role="owner")
        while "展示页浏览量" not in report:
            call = await qq.next_call()
            if call["action"] == "send_msg":
                report += message_text(call)
        assert "展示页浏览量：3 人次" in report  # 30 views, 3 visitors, one day

        assert "展示页已关闭" in await ask(qq, SECRETARY, "/典型 展示页 关闭", "owner")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=browser_path, headless=True)
            try:
                page = await browser.new_page()
                response = await page.goto(link)
                assert response.status == 404
                body = await page.text_content("body")
                assert "王同学" not in body and "测试支部" not in body and "青年说" not in body
            finally:
                await browser.close()
        again = await ask(qq, SECRETARY, "/典型 展示页", "owner")
        assert "已生成" in again and LINK.search(again).group(0) != link
