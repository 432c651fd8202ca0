"""The rendering module (issue 23): a CJK font that really draws Chinese (no tofu), no picture
without one, and a report card whose drawn figures are /统计's figures."""

import io
import re
import xml.etree.ElementTree as ET

import pytest

from domain.branches import Actor
from domain.models import Category
from runtime import charts

NOT_CJK = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
GROUP = 730001
OWNER = Actor(1, is_superuser=True)


@pytest.fixture(scope="module")
def font() -> charts.Font:
    found = charts.find_font()
    if found is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk); pictures untested")
    return found


def glyph(font: charts.Font, char: str):
    """The bitmap FreeType draws for ``char`` with the picture font, as an array."""
    from matplotlib import font_manager

    index = next(e.index for e in font_manager.fontManager.ttflist
                 if e.fname == font.path and e.name == font.family)
    face = font_manager.get_font(font_manager.FontPath(font.path, index))
    face.set_size(48, 72)
    face.set_text(char)
    face.draw_glyphs_to_bitmap()
    return face.get_image().copy()


def test_the_font_draws_chinese_not_tofu(font):
    assert font.covers("支部助手积分达标率民情满意度↑↓")  # every character in the font's map
    with pytest.warns(UserWarning, match="missing from font"):
        missing = glyph(font, "\U000f0000")  # a private-use point: the font's box (tofu)
    drawn = {c: glyph(font, c) for c in "支部助手"}
    for char, bitmap in drawn.items():
        assert bitmap.any(), char  # ink
        assert bitmap.shape != missing.shape or (bitmap != missing).any(), char  # not the box
    assert (drawn["支"].shape != drawn["部"].shape
            or (drawn["支"] != drawn["部"]).any())  # two characters, two shapes


def test_a_font_without_chinese_is_no_font(caplog):
    assert charts.find_font(NOT_CJK) is None
    assert charts.find_font("/nonexistent/font.ttc") is None
    charts.reset_font()
    try:
        assert charts.configure(NOT_CJK) is None
        assert charts.configure(NOT_CJK) is None
    finally:
        charts.reset_font()
    assert sum("no font with Chinese glyphs" in r.getMessage() for r in caplog.records) == 1


def test_names_lose_what_the_font_cannot_draw(font):
    assert charts.readable(font, "小王😀") == "小王"
    assert charts.readable(font, "😀") == "?"


async def seed_two_terms(svc, clock):
    """A branch with a previous term and a current one with every kind of record."""
    branch = await svc.branches.branch_for_group(GROUP)
    people = {}
    for i, (name, floor, identity) in enumerate((
            ("甲", "1楼", "正式党员"), ("乙", "1楼", "预备党员"), ("丙", "2楼", "入党积极分子"),
            ("丁", "2楼", "群众"), ("戊", "3楼", "发展对象"), ("己", "1楼", "正式党员"))):
        uid = 40001 + i
        people[name] = uid
        await svc.branches.register(branch.id, uid, name, floor, None)
        if identity != "群众":
            await svc.branches.set_role(branch.id, OWNER, uid, identity)
    await svc.branches.set_role(branch.id, OWNER, people["甲"], "书记")
    for name, pts in (("甲", 25), ("乙", 12)):
        await svc.points.book(branch.id, people[name], Category.AWARD, pts, "上学期", ref=None)
    wish = await svc.wishes.post(branch.id, GROUP, people["丁"], "帮我看看申请书")
    await svc.wishes.claim(branch.id, wish.id, people["甲"])
    await svc.wishes.mark_done(branch.id, wish.id, people["甲"], None)
    await svc.wishes.rate(branch.id, wish.id, people["丁"], 3, None)
    clock.advance(days=30)
    await svc.branches.start_term(branch.id, OWNER, "本学期")
    clock.advance(days=1)
    for name, pts in (("甲", 30), ("乙", 21), ("丙", 8), ("戊", 20)):
        await svc.points.book(branch.id, people[name], Category.AWARD, pts, "本学期", ref=None)
    for rating in (5, 4):
        wish = await svc.wishes.post(branch.id, GROUP, people["丁"], "借一把伞")
        await svc.wishes.claim(branch.id, wish.id, people["乙"])
        await svc.wishes.mark_done(branch.id, wish.id, people["乙"], None)
        await svc.wishes.rate(branch.id, wish.id, people["丁"], rating, None)
    for category, wait_hours in (("报修", 3), ("报修", 9), ("学业", 30)):
        problem = await svc.problems.raise_problem(branch.id, GROUP, people["丁"],
                                                   f"{category} 宿舍的灯坏了", False)
        clock.advance(hours=wait_hours)
        await svc.problems.take_on(branch.id, problem.id, OWNER, people["甲"])
    clock.advance(days=2)
    return branch, people


async def test_the_card_draws_the_figures_of_the_text_report(svc, clock, font):
    branch, _ = await seed_two_terms(svc, clock)
    term = await svc.branches.current_term(branch.id)
    text = {label: value for label, value in
            (await svc.reports.build(branch.id, OWNER, None, 12)).figures()}
    history = await svc.reports.history(branch.id, term, 12)
    earlier = dict((await svc.reports.build(branch.id, OWNER, f"#{history[0].term.id}",
                                            12)).figures())
    card = charts.card_of(history[-1], history, "2026-12-01 20:00")
    svg = charts.draw_card(card, font, "svg").decode()
    drawn = [("".join(e.itertext())).strip() for e in ET.fromstring(svg).iter()
             if e.tag.endswith("text")]

    def shown(content: str) -> bool:
        return any(content in d for d in drawn)

    assert shown("支部工作报告") and shown(f"{card.title} · {card.term}")

    # the headline tiles: each value is the /统计 line of the same label, beside its trend
    for tile in card.tiles:
        assert shown(tile.label) and shown(tile.value) and shown(tile.detail), tile
        line = text.get(tile.label)
        if tile.label == "心愿收集":
            line = text["心愿收集"]
        if line is not None:
            assert line.startswith(tile.value), (tile, line)
            if tile.before is None:
                continue
            assert shown(tile.trend)
            if tile.label == "问题解决率":  # /统计 shows it per term: the previous term's
                before = earlier["问题解决率"].split("（")[0]
                assert tile.before == f"上学期 {before}", (tile, earlier["问题解决率"])
            else:
                assert tile.before in line, (tile, line)
                assert tile.change is None or tile.change in line, (tile, line)
    assert text["积分达标率"].startswith("60.0%（3/5") and "上学期 20.0%" in text["积分达标率"]
    compliance = next(t for t in card.tiles if t.label == "积分达标率")
    assert (compliance.value, compliance.before, compliance.change) == (
        "60.0%", "上学期 20.0%", "↑40.0")
    assert next(t for t in card.tiles if t.label == "成员").detail == f"覆盖率 {text['覆盖率'][:5]}"
    # per floor: the bar's text and length are the floor line's 积分达标
    for bar in card.floors:
        line = text[bar.label]
        share = re.search(r"积分达标 (\d+) 人（([^）]+)）", line)
        eligible = re.search(r"及以上 (\d+) 人", line).group(1)
        assert shown(bar.text) and bar.text == f"{share.group(2)}（{share.group(1)}/{eligible}）"
        assert bar.value is None or f"{bar.value * 100:.1f}%" == share.group(2)
    # the line over the terms: the data handed to the chart are each term's /统计 figures
    assert len(card.terms) == 2 and card.terms[-1] == "本学期"
    current = {k: v[-1] for k, v in card.series.items()}
    for label in ("积分达标率", "平均出勤率", "满意度", "问题解决率"):
        value = current[label]
        assert text[label].startswith("—" if value is None else f"{value * 100:.1f}%"), label
    before = {k: v[-2] for k, v in card.series.items()}
    assert f"上学期 {before['积分达标率'] * 100:.1f}%" in text["积分达标率"]
    assert f"上学期 {before['满意度'] * 100:.1f}%" in text["满意度"]
    # 民情 response times per category: the median drawn is the report's
    for bar in card.responses:
        line = text[f"民情·{bar.label}"]
        median = re.search(r"首次响应中位 ([\d.—]+)", line).group(1)
        assert shown(bar.text)
        assert (bar.value is None and median == "—") or f"{bar.value:.1f}" == median, line
    repair = next(b for b in card.responses if b.label == "报修")
    assert repair.text == "中位 6.0 · 90% 9.0（2 个）"
    assert shown(card.top) and card.top == text["积分前三"]


async def test_png_is_a_phone_page(svc, clock, font):
    from PIL import Image

    branch, _ = await seed_two_terms(svc, clock)
    term = await svc.branches.current_term(branch.id)
    history = await svc.reports.history(branch.id, term)
    png = charts.draw_card(charts.card_of(history[-1], history, "now"), font)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size[0] == 1080 and image.size[1] > 1500
    assert len(png) < 400_000


def test_board_and_poster_draw(font):
    from PIL import Image

    rows = [charts.BoardRow(1, "小王", 30), charts.BoardRow(1, "小李", 30, mine=True),
            charts.BoardRow(3, "老张", 3)]
    board = Image.open(io.BytesIO(charts.draw_board("本学期积分榜", "#1 支部 · 3 人上榜", rows,
                                                    "我：第 1 名，30 分", font)))
    poster = Image.open(io.BytesIO(charts.draw_poster("#1 社区第一党支部", "11月23日 – 11月29日",
                                                      rows, font)))
    assert board.size[0] == poster.size[0] == 1080
    assert poster.size[1] == 1350
