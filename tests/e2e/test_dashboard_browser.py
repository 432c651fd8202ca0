"""The secretary's page (支部工作网页) in a real headless Chromium at phone width (issue 23).

An admin asks `/统计 网页` privately; the page opened from that link, with JavaScript off, shows
every headline figure and every /统计 row as the group's /统计 says them, its charts as SVG, the
open 民情 and the activity to come; the export downloads the same figures; the page makes no
request to another site; a wrong token and, a day later, the expired link show nothing. A
screenshot is saved in the test's tmp folder. Needs Debian's ``chromium`` and ``playwright``.
"""

import re
from datetime import timedelta

from tests.e2e.onebot import BotProcess, OneBotClient, bot_time, message_text
from tests.e2e.test_screen_browser import browser_or_skip, fetch

GROUP = 86201
OWNER, MEMBER, HELPER = 73001, 73002, 73003
LINK = re.compile(r"http://\S+/zhibu/dashboard/[A-Za-z0-9_-]+")


async def seed(qq: OneBotClient) -> None:
    """A branch with members on two floors, points, a served wish, a problem and an upcoming
    微分享 with a sign-up."""
    qq.results["get_group_info"] = {"group_id": GROUP, "member_count": 25}
    qq.quiet.add("get_group_info")
    await qq.set_up_group(GROUP, OWNER, "社区第一党支部")
    await qq.reply_to(GROUP, OWNER, "/登记 陈书记 1楼 101", role="owner")
    await qq.reply_to(GROUP, MEMBER, "/登记 张三 1楼 102")
    await qq.reply_to(GROUP, HELPER, "/登记 李四 2楼 201")
    await qq.reply_to(GROUP, OWNER, f"/成员 设置 {OWNER} 书记", role="owner")
    await qq.reply_to(GROUP, OWNER, f"/成员 设置 {HELPER} 正式党员", role="owner")
    await qq.reply_to(GROUP, OWNER, f"/成员 设置 {MEMBER} 积极分子", role="owner")
    await qq.reply_to(GROUP, OWNER, f"/积分 调整 {HELPER} +25 组织志愿服务", role="owner")
    await qq.reply_to(GROUP, MEMBER, "/许愿 帮我看看入党申请书")
    await qq.reply_to(GROUP, HELPER, "/心愿 认领 1")
    await qq.reply_to(GROUP, HELPER, "/心愿 完成 1")
    await qq.reply_to(GROUP, MEMBER, "/心愿 评价 1 5")
    await qq.reply_to(GROUP, MEMBER, "/反映 报修 三楼水房的灯坏了")
    starts = bot_time.now() + timedelta(days=3)
    reply = await qq.reply_to(GROUP, OWNER, f"/活动 发起 微分享 考研经验 "
                              f"{starts:%Y-%m-%d %H:%M} 90 名额 30", role="owner")
    while "已发起" not in message_text(reply):  # the organiser's private note comes first
        reply = await qq.next_call()
    await qq.reply_to(GROUP, MEMBER, "/报名 1")
    while not qq.calls.empty():
        qq.calls.get_nowait()


async def test_secretarys_page_in_a_real_browser(bot_process, tmp_path):
    browser_path, async_playwright = browser_or_skip("the secretary's page")
    from openpyxl import load_workbook

    base = f"http://127.0.0.1:{bot_process.port}"
    async with OneBotClient(bot_process.port) as qq:
        await seed(qq)
        report = message_text(await qq.reply_to(GROUP, OWNER, "/统计", role="owner"))
        stats = dict(line.split("：", 1) for line in report.splitlines()[1:])
        assert stats["覆盖率"].startswith("12.0%（3/25）")

        in_group = await qq.reply_to(GROUP, OWNER, "/统计 网页", role="owner")
        assert "私聊" in message_text(in_group) and "/zhibu/" not in message_text(in_group)
        await qq.private_message(OWNER, "/统计 网页")
        private = await qq.next_call()
        assert private["action"] == "send_private_msg" and "group_id" not in private["params"]
        link = LINK.search(message_text(private)).group(0)
        assert link.startswith(base + "/zhibu/dashboard/")
        await qq.private_message(MEMBER, "/统计 网页")
        assert "只有支委、书记" in message_text(await qq.next_call())

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=browser_path, headless=True)
            try:
                context = await browser.new_context(
                    viewport={"width": 390, "height": 844}, java_script_enabled=False,
                    accept_downloads=True, device_scale_factor=2)
                page = await context.new_page()
                requested: list[str] = []
                page.on("request", lambda r: requested.append(r.url))
                response = await page.goto(link)
                assert response.status == 200
                assert await page.text_content("#branch") == "#1 社区第一党支部 · " + stats["学期"]

                # every headline figure, as /统计 says it
                tiles = await page.eval_on_selector_all(
                    ".tile", "els => els.map(e => [e.dataset.label, "
                    "e.querySelector('.value').textContent, "
                    "(e.querySelector('.before') || {textContent: ''}).textContent])")
                assert len(tiles) == 8
                for label, value, before in tiles:
                    line = stats[label]
                    assert line.startswith(value), (label, value, line)
                    if label in ("积分达标率", "平均出勤率", "满意度") and before:
                        assert before.split()[1] in line, (label, before, line)
                assert dict((t[0], t[1]) for t in tiles)["积分达标率"] == "50.0%"
                # every row of /统计, word for word
                rows = await page.eval_on_selector_all(
                    "#figures tr", "rows => rows.map(r => [r.cells[0].textContent, "
                    "r.cells[1].textContent])")
                assert dict(rows) == stats
                # the charts are inline SVG (drawn by the same module as the picture)
                svgs = await page.eval_on_selector_all("svg", "els => els.length")
                assert svgs == 3
                floor_chart = await page.text_content("section:has(h2:text('各楼层积分达标率'))")
                assert "1楼" in floor_chart and "2楼" in floor_chart
                body = await page.text_content("body")
                assert "三楼水房的灯坏了" in body and "待受理" in body  # open 民情, with age
                assert re.search(r"#1\s*报修\s*待受理\s*[\d.]+ (分钟|小时|天)", body)
                assert "考研经验" in body and "1/30" in body  # upcoming, with its sign-ups
                await page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
                assert all(url.startswith(base) for url in requested), requested

                # the export: a real download of the same figures
                async with page.expect_download() as info:
                    await page.click("#export")
                download = await info.value
                assert download.suggested_filename.endswith("-支部报告.xlsx")
                saved = tmp_path / "export.xlsx"
                await download.save_as(saved)
                sheet = load_workbook(saved)["汇总"]
                summary = {}
                for label, value, *_ in sheet.iter_rows(min_row=2, values_only=True):
                    if label == "原始数值（核对用）":
                        break
                    if label is not None:
                        summary[label] = value
                assert summary == stats

                # a wrong token shows nothing of the branch
                token = link.rsplit("/", 1)[1]
                wrong = link[:-len(token)] + token[::-1]
                response = await page.goto(wrong)
                assert response.status == 404
                text = await page.text_content("body")
                assert "链接无效或已过期" in text and "社区第一党支部" not in text
            finally:
                await browser.close()

    # a day later (the bot's clock 25 hours on) the link has expired
    bot_process.stop()
    offset = float(bot_time.env().get("CLOCK_OFFSET_SECONDS", 0)) + 25 * 3600
    later = BotProcess(bot_process.db_path, tmp_path / "later.log",
                       CLOCK_OFFSET_SECONDS=str(offset))
    later.start()
    try:
        moved = link.replace(f":{bot_process.port}/", f":{later.port}/")
        status, body = fetch(moved)
        assert status == 404 and "链接无效或已过期" in body and "社区第一党支部" not in body
        status, body = fetch(moved + "/export")
        assert status == 404 and "PK" not in body[:2]
    finally:
        later.stop()
