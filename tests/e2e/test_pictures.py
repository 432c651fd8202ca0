"""Pictures over the real WebSocket (issue 23): /统计 图 arrives as one base64 PNG image
segment; a QQ side that refuses pictures gets the text; a bot without a CJK font answers with
the text report and a one-line note."""

import base64

import pytest

from runtime.charts import find_font
from runtime.reply import NO_FONT_NOTE, REFUSED_NOTE
from tests.e2e.onebot import BotProcess, OneBotClient, message_text, segment_types

GROUP = 86101
OWNER, MEMBER = 72001, 72002
NOT_CJK = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


async def set_up(qq: OneBotClient) -> None:
    qq.results["get_group_info"] = {"group_id": GROUP, "member_count": 30}
    qq.quiet.add("get_group_info")
    await qq.set_up_group(GROUP, OWNER)
    await qq.reply_to(GROUP, OWNER, "/登记 陈书记 1楼 101", role="owner")
    await qq.reply_to(GROUP, MEMBER, "/登记 张三 1楼 102")


async def test_report_picture_and_the_text_where_refused(bot_process):
    if find_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    async with OneBotClient(bot_process.port) as qq:
        await set_up(qq)
        call = await qq.reply_to(GROUP, OWNER, "/统计 图", role="owner", timeout=30)
        assert segment_types(call) == ["image"]
        file = call["params"]["message"][0]["data"]["file"]
        assert file.startswith("base64://")
        assert base64.b64decode(file[len("base64://"):]).startswith(b"\x89PNG")
        call = await qq.reply_to(GROUP, MEMBER, "/积分榜 图")
        assert message_text(call) == "本学期积分榜还没有人上榜。"

        qq.refuse_images = True
        refused = await qq.reply_to(GROUP, OWNER, "/统计 图", role="owner", timeout=30)
        assert segment_types(refused) == ["image"]  # tried, and the QQ side said no
        text = message_text(await qq.next_call())
        assert text.startswith(REFUSED_NOTE) and "积分达标率：" in text
    assert "refused by the QQ side" in bot_process.log()


async def test_no_cjk_font_answers_with_the_text(tmp_path):
    bot = BotProcess(tmp_path / "e2e.db", tmp_path / "bot.log", PICTURE_FONT=NOT_CJK)
    bot.start()
    try:
        async with OneBotClient(bot.port) as qq:
            await set_up(qq)
            for _ in range(2):
                call = await qq.reply_to(GROUP, OWNER, "/统计 图", role="owner")
                assert segment_types(call) == ["text"]
                lines = message_text(call).splitlines()
                assert lines[0] == NO_FONT_NOTE and lines[1] == "📊 支部工作报告"
                assert any(line.startswith("覆盖率：6.7%（2/30）") for line in lines)
    finally:
        bot.stop()
    assert bot.log().count("no font with Chinese glyphs") == 1
