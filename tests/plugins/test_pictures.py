"""Pictures in QQ (issue 23): /统计 图, /积分榜 图, the text when there is no CJK font or the QQ
side refuses the image, and /统计 网页 (the link only privately, only to an admin)."""

import base64
import io
import re

import pytest
from nonebot.adapters.onebot.v11 import ActionFailed, Bot, Message

from domain.models import Category
from runtime import charts
from runtime.reply import NO_FONT_NOTE, REFUSED_NOTE
from tests.fakes import Says, converse, group_message, private_message
from tests.plugins.conftest import HELPER, MASSES, SECRETARY, WISHER

NOT_CJK = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


class GroupInfoBot(Bot):
    """Answers the member count /统计 asks the QQ side for (30 in the test group)."""

    async def call_api(self, api: str, **data):
        if api == "get_group_info":
            return {"group_id": data["group_id"], "member_count": 30}
        return await super().call_api(api, **data)


class Picture:
    """Matches a sent message that is exactly one base64 PNG image segment; keeps the PNG."""

    def __init__(self) -> None:
        self.png: bytes | None = None

    def __eq__(self, other) -> bool:
        if not isinstance(other, Message) or [s.type for s in other] != ["image"]:
            return False
        file = other[0].data["file"]
        if not file.startswith("base64://"):
            return False
        self.png = base64.b64decode(file[len("base64://"):])
        return self.png.startswith(b"\x89PNG")

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    def size(self) -> tuple[int, int]:
        from PIL import Image

        return Image.open(io.BytesIO(self.png)).size


@pytest.fixture(autouse=True)
def fresh_font():
    charts.reset_font()
    yield
    charts.reset_font()


@pytest.fixture
def cjk(services):
    if charts.configure(services.settings.picture_font) is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk); pictures untested")


async def test_report_as_a_picture_and_as_text(app, branch, services, cjk):
    picture = Picture()
    await converse(
        app,
        (group_message(SECRETARY, "/统计 图"), picture),
        (group_message(SECRETARY, "/统计 文字"), Says("支部工作报告", "积分达标率：")),
        (group_message(SECRETARY, "/统计"), Says("支部工作报告", "积分达标率：")),
        (group_message(MASSES, "/统计 图"), Says("只有支委、书记或群管理员")),
        (group_message(SECRETARY, "/统计 没有这个学期 图"), Says("没有找到学期「没有这个学期」")),
        bot_cls=GroupInfoBot,
    )
    width, height = picture.size()
    assert width == 1080 and height > 1500  # a phone screen's width, one long page
    term = await services.branches.current_term(branch.id)
    await converse(app, (group_message(SECRETARY, f"/统计 #{term.id} 图"), Picture()),
                   bot_cls=GroupInfoBot)


async def test_no_cjk_font_answers_with_the_text_and_a_note(app, branch, services, caplog):
    services.settings.picture_font = NOT_CJK  # a real font, without Chinese glyphs
    await converse(
        app,
        (group_message(SECRETARY, "/统计 图"),
         Says(NO_FONT_NOTE, "支部工作报告", "积分达标率：")),
        (group_message(SECRETARY, "/积分榜 图"), Says("本学期积分榜还没有人上榜")),
        bot_cls=GroupInfoBot,
    )
    await services.points.book(branch.id, WISHER, Category.AWARD, 5, "x", ref=None)
    await converse(app, (group_message(WISHER, "/积分榜 图"),
                         Says(NO_FONT_NOTE, "本学期积分榜", "我：第 1 名，5 分")))
    warnings = [r for r in caplog.records if "no font with Chinese glyphs" in r.getMessage()]
    assert len(warnings) == 1  # one warning, not one per picture


async def test_a_refused_picture_is_answered_in_text(app, branch, services, cjk):
    event = group_message(SECRETARY, "/统计 图")
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=GroupInfoBot, self_id="42")
        ctx.receive_event(bot, event)
        ctx.should_call_send(event, Picture(), exception=ActionFailed(retcode=1200))
        ctx.should_call_send(event, Says(REFUSED_NOTE, "支部工作报告", "积分达标率："),
                             result={"message_id": 2})


async def test_board_as_a_picture_with_my_place(app, branch, services, cjk):
    for uid, pts in ((WISHER, 8), (HELPER, 8), (SECRETARY, 3)):
        await services.points.book(branch.id, uid, Category.AWARD, pts, "x", ref=None)
    mine, again = Picture(), Picture()
    await converse(
        app,
        (group_message(SECRETARY, "/积分榜 图"), mine),
        (group_message(SECRETARY, "/积分榜 周 图"), again),
        (group_message(SECRETARY, "/积分榜 周 文字"), Says("本周积分榜", "我：第 3 名，3 分")),
        (group_message(SECRETARY, "/积分榜 年 图"), Says("用法：/积分榜")),
    )
    assert mine.size()[0] == 1080


async def test_page_link_only_privately_and_only_to_admins(app, branch, services):
    await converse(
        app,
        (group_message(SECRETARY, "/统计 网页"), Says("只在私聊中发送", absent=("http",))),
        (group_message(MASSES, "/统计 网页"), Says("只有支委、书记或群管理员")),
        (private_message(MASSES, "/统计 网页"), Says("只有支委、书记可以获取")),
        (private_message(SECRETARY, "/统计 网页 多余"), Says("用法：/统计 网页")),
    )
    event = private_message(SECRETARY, "/统计 网页")
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=Bot, self_id="42")
        ctx.receive_event(bot, event)
        ctx.should_call_api("send_private_msg", {
            "user_id": SECRETARY, "message": LinkMessage()}, result={"message_id": 3})
    link = LinkMessage.last
    assert link is not None
    token = link.rsplit("/", 1)[1]
    viewing = await services.dashboard.open(token)
    assert viewing is not None and viewing.branch_id == branch.id


class LinkMessage:
    """The private message carrying the page link (text only, no group)."""

    last: str | None = None

    def __eq__(self, other) -> bool:
        text = "".join(s.data.get("text", "") for s in other if s.type == "text")
        found = re.search(r"http://\S+/zhibu/dashboard/[A-Za-z0-9_-]+", text)
        LinkMessage.last = found.group(0) if found else None
        return found is not None and "小时内有效" in text and "请勿转发" in text
