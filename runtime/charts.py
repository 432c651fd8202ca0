"""The one rendering module: the report card, the points board, the commendation poster and the
secretary's page's charts, drawn with matplotlib (Agg, no pyplot) and packed with Pillow.

Input is what ``/统计`` and the export already compute (``domain.report.Report``, the points
``Board``); every number drawn is formatted here from those objects with the report's own
formatters, never computed a second time. Output is PNG bytes, or SVG text for the page.

Chinese needs a CJK font: ``picture_font`` names one, else one is found on the system (Noto Sans
CJK, Source Han Sans, WenQuanYi…). A font is accepted only when its character map covers the
characters drawn, so a picture never shows boxes (tofu); without one, ``NoFont`` is raised and
the caller answers in text. Drawing is serialised by a lock (matplotlib's font objects are
shared) and meant to run in a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import glob
import io
import logging
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from domain.report import Report, delta_points, hours, percent

log = logging.getLogger("zhibu.charts")

# families in order of preference; a .ttc holds several (the SC face is the one for 简体中文)
PREFERRED = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "Source Han Sans CN",
             "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC",
             "SimHei", "Noto Sans CJK JP", "Droid Sans Fallback")
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
             "/System/Library/Fonts", "/Library/Fonts", "C:/Windows/Fonts")
FONT_FILES = ("NotoSansCJK*", "NotoSansSC*", "SourceHanSans*", "wqy-zenhei*", "wqy-microhei*",
              "msyh*", "simhei*", "PingFang*", "DroidSansFallback*")
PROBE = "支部工作报告积分达标率出勤满意度民情解决党员楼层学期↑↓—·："  # what every picture draws

WIDTH_IN, DPI = 5.4, 200  # 1080 px wide: a phone screen's width
RED, DARK_RED, GOLD, INK, GREY, LIGHT = "#C62828", "#8E1B1B", "#F9A825", "#222222", "#666666", \
    "#FBEFEF"
SERIES_COLOURS = {"积分达标率": "#C62828", "平均出勤率": "#1565C0", "满意度": "#F9A825",
                  "问题解决率": "#2E7D32"}
MEDALS = ("#F9A825", "#9E9E9E", "#B87333")  # gold, silver, bronze

_lock = threading.RLock()  # drawing and finding the font share matplotlib's font objects


class NoFont(Exception):
    """No font with Chinese glyphs: pictures cannot be drawn (answer in text)."""


# fonts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Font:
    family: str
    path: str
    covered: frozenset[int] = field(repr=False, default=frozenset())

    def covers(self, text: str) -> bool:
        return all(ord(c) in self.covered or c.isspace() for c in text)


def _system_font_files() -> list[str]:
    """Candidate font files: what fontconfig lists for Chinese, then known file names."""
    found: list[str] = []
    if shutil.which("fc-list"):
        try:
            out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True,
                                 text=True, timeout=10, check=False).stdout
            found += [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]
        except (OSError, subprocess.SubprocessError):
            pass
    for folder in FONT_DIRS:
        root = os.path.expanduser(folder)
        if os.path.isdir(root):
            for pattern in FONT_FILES:
                found += glob.glob(os.path.join(root, "**", pattern), recursive=True)
    return list(dict.fromkeys(f for f in found if f.lower().endswith((".ttf", ".ttc", ".otf"))))


def _faces(path: str):
    """The font manager's entries for every face in ``path`` (added if it did not know it)."""
    from matplotlib import font_manager

    try:
        font_manager.fontManager.addfont(path)
    except Exception as exc:  # not a font FreeType can read
        log.info("font %s not usable: %s", path, exc)
        return []
    return [e for e in font_manager.fontManager.ttflist if e.fname == path]


def _coverage(entry) -> frozenset[int]:
    from matplotlib import font_manager

    index = getattr(entry, "index", 0) or 0
    font = font_manager.get_font(font_manager.FontPath(entry.fname, index)
                                 if hasattr(font_manager, "FontPath") else entry.fname)
    return frozenset(font.get_charmap())


def find_font(configured: str = "") -> Font | None:
    """The CJK font pictures are drawn with: ``configured`` (a file) only, when given;
    otherwise the best one on the system. None when there is none that covers ``PROBE``."""
    files = [configured] if configured else _system_font_files()
    best: tuple[int, Font] | None = None
    for path in files:
        if not os.path.isfile(path):
            continue
        for entry in _faces(path):
            regular = entry.style == "normal" and entry.weight in (400, "normal", "regular")
            if not regular and not configured:
                continue
            rank = PREFERRED.index(entry.name) if entry.name in PREFERRED else len(PREFERRED)
            if best is not None and rank >= best[0]:
                continue
            covered = _coverage(entry)
            font = Font(entry.name, path, covered)
            if font.covers(PROBE):
                best = (rank, font)
    return best[1] if best else None


_font: Font | None = None
_font_checked = False
_warned = False


def font_checked() -> bool:
    """Whether ``configure`` has looked for the font yet (it reads files the first time)."""
    return _font_checked


def configure(configured: str = "") -> Font | None:
    """Find the font once per process (``picture_font``); logs one warning when there is none.
    The first call reads font files: call it from a worker thread (``asyncio.to_thread``)."""
    global _font, _font_checked, _warned
    with _lock:
        if not _font_checked:
            _font = find_font(configured)
            _font_checked = True
            if _font is None and not _warned:
                _warned = True
                log.warning("no font with Chinese glyphs%s: pictures are answered in text "
                            "(Debian: apt-get install fonts-noto-cjk, or set PICTURE_FONT)",
                            f" in {configured}" if configured else " found")
            elif _font is not None:
                log.info("pictures drawn with %s (%s)", _font.family, _font.path)
    return _font


def reset_font() -> None:
    """Forget the font found (tests)."""
    global _font, _font_checked, _warned
    _font, _font_checked, _warned = None, False, False


def _use(font: Font) -> dict:
    """The rc settings a drawing runs with."""
    return {"font.family": "sans-serif", "font.sans-serif": [font.family, "DejaVu Sans"],
            "text.parse_math": False, "svg.fonttype": "none", "svg.hashsalt": "zhibu",
            "axes.unicode_minus": False}


def readable(font: Font, text: str) -> str:
    """``text`` without characters the font cannot draw (an emoji in a name), never empty."""
    kept = "".join(c for c in text if c.isspace() or ord(c) in font.covered)
    return kept.strip() or "?"


# the report card: what it shows, taken from the report -------------------------------------


@dataclass(frozen=True)
class Tile:
    label: str  # the /统计 row it repeats
    value: str
    detail: str = ""
    before: str | None = None  # "上学期 78.0%"
    change: str | None = None  # "↑18.0" (percentage points) or "持平"

    @property
    def trend(self) -> str:
        """``上学期 78.0% ↑18.0`` ('' without a previous term)."""
        return " ".join(part for part in (self.before, self.change) if part)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # 0..1 for rates, hours for times
    text: str
    second: float | None = None  # the 90th percentile beside a median


@dataclass(frozen=True)
class Card:
    """Everything the report card draws, as formatted strings and the numbers behind bars."""

    title: str
    term: str
    tiles: tuple[Tile, ...]
    floors: tuple[Bar, ...]
    terms: tuple[str, ...]
    series: dict[str, tuple[float | None, ...]]
    responses: tuple[Bar, ...]
    response_summary: str
    activities: tuple[tuple[str, ...], ...]
    top: str
    generated: str


def _trend(now: float | None, before: float | None, has_previous: bool
           ) -> tuple[str | None, str | None]:
    if not has_previous:
        return None, None
    return f"上学期 {percent(before)}", delta_points(now, before)


def card_of(report: Report, history: Sequence[Report], generated: str) -> Card:
    """The card of ``report``; ``history`` is the report of every term up to it, in order."""
    prev = report.previous
    earlier = [r for r in history if r.term.id < report.term.id]
    last = earlier[-1] if earlier else None
    pf = report.problems
    coverage = (f"覆盖率 {percent(report.coverage)}" if report.group_members
                else "覆盖率 未知")
    tiles = (
        Tile("积分达标率", percent(report.compliance),
             f"{report.reaching_standard}/{report.eligible} 人达到标准",
             *_trend(report.compliance, prev and prev.compliance, prev is not None)),
        Tile("平均出勤率", percent(report.average_attendance), f"导学 {report.sessions_held} 场",
             *_trend(report.average_attendance, prev and prev.average_attendance,
                     prev is not None)),
        Tile("满意度", percent(report.satisfaction),
             f"心愿 {report.wishes_satisfied}/{report.wishes_rated} 个评价 ≥4 分",
             *_trend(report.satisfaction, prev and prev.satisfaction, prev is not None)),
        Tile("问题解决率", percent(pf.resolution_rate),
             f"民情 {pf.done}/{pf.collected - pf.closed} 已办结",
             *_trend(pf.resolution_rate, last and last.problems.resolution_rate,
                     last is not None)),
        Tile("成员", f"{report.members} 人", coverage),
        Tile("心愿收集", f"{report.wishes_posted} 个",
             f"认领 {report.wishes_claimed} · 完成 {report.wishes_completed}"),
        Tile("导学举办", f"{report.sessions_held} 场", f"读书笔记 {report.notes} 篇"),
        Tile("民情收集", f"{pf.collected} 个", f"已办结 {pf.done} · 超时 {pf.overdue}"),
    )
    floors = tuple(Bar(f.floor, f.compliance,
                       f"{percent(f.compliance)}（{f.reaching_standard}/{f.eligible}）")
                   for f in report.floors)
    shown = [*earlier, report]
    series = {
        "积分达标率": tuple(r.compliance for r in shown),
        "平均出勤率": tuple(r.average_attendance for r in shown),
        "满意度": tuple(r.satisfaction for r in shown),
        "问题解决率": tuple(r.problems.resolution_rate for r in shown),
    }
    responses = []
    for c in pf.categories:
        mid = c.first_response_median
        p90 = c.first_response_p90
        text = ("—" if mid is None else
                f"中位 {mid:.1f} · 90% {p90:.1f}（{len(c.first_response_hours)} 个）")
        responses.append(Bar(c.category, mid, text, p90))
    summary = (f"首次响应中位 {hours(pf.first_response_median)}，90% "
               f"{hours(pf.first_response_p90)}；解决用时中位 {hours(pf.resolution_median)}")
    activities = [("导学", f"{report.sessions_held} 场", percent(report.average_attendance), "—")]
    for kind in report.activities:
        unit = "月" if kind.frequency == "month" else "季度"
        on_time = f"{kind.periods_met}/{kind.periods} {unit}" if kind.frequency else "—"
        activities.append((kind.kind, f"{kind.held} 场", percent(kind.average_attendance),
                           on_time))
    top = "；".join(f"第{rank}名 {report.names.get(uid, uid)} {pts} 分"
                   for rank, uid, pts in report.top) or "—"
    return Card(
        title=f"#{report.branch_id} {report.branch_name}", term=report.term.name,
        tiles=tiles, floors=floors, terms=tuple(r.term.name for r in shown), series=series,
        responses=tuple(responses), response_summary=summary, activities=tuple(activities),
        top=top, generated=generated,
    )


def card_strings(card: Card) -> list[str]:
    """Every string the card draws (checked against the font before drawing)."""
    strings = [card.title, card.term, card.response_summary, card.top, card.generated,
               *card.terms, *card.series]
    for t in card.tiles:
        strings += [t.label, t.value, t.detail, t.before or "", t.change or ""]
    for b in (*card.floors, *card.responses):
        strings += [b.label, b.text]
    strings += [cell for row in card.activities for cell in row]
    return strings


# drawing ---------------------------------------------------------------------------------


class _Sheet:
    """A figure laid out top to bottom in inches (matplotlib places things bottom-up in
    fractions)."""

    def __init__(self, height: float, font: Font, background: str = "white",
                 width: float = WIDTH_IN) -> None:
        from matplotlib.figure import Figure

        self.font = font
        self.height = height
        self.width = width
        self.fig = Figure(figsize=(width, height), dpi=DPI, facecolor=background)

    def y(self, inches_from_top: float) -> float:
        return 1 - inches_from_top / self.height

    def text(self, x: float, top: float, content: str, **kw):
        kw.setdefault("va", "top")
        kw.setdefault("color", INK)
        return self.fig.text(x / self.width, self.y(top), readable(self.font, content), **kw)

    def box(self, x: float, top: float, w: float, h: float, colour: str, **kw):
        from matplotlib.patches import FancyBboxPatch

        patch = FancyBboxPatch((x / self.width, self.y(top + h)), w / self.width,
                               h / self.height,
                               boxstyle=kw.pop("boxstyle", "round,pad=0,rounding_size=0.012"),
                               transform=self.fig.transFigure, facecolor=colour,
                               edgecolor="none", **kw)
        self.fig.patches.append(patch)

    def circle(self, x: float, top: float, size: float, colour: str) -> None:
        """A disc of diameter ``size`` with its top-left corner at (x, top)."""
        from matplotlib.patches import Ellipse

        self.fig.patches.append(Ellipse(
            ((x + size / 2) / self.width, self.y(top + size / 2)), size / self.width,
            size / self.height, transform=self.fig.transFigure, facecolor=colour,
            edgecolor="none"))

    def axes(self, x: float, top: float, w: float, h: float):
        return self.fig.add_axes((x / self.width, self.y(top + h), w / self.width,
                                  h / self.height))

    def heading(self, top: float, content: str) -> None:
        self.box(0.3, top + 0.06, 0.06, 0.26, RED, boxstyle="square,pad=0")
        self.text(0.45, top + 0.03, content, fontsize=12.5, fontweight="bold")

    def save(self, fmt: str = "png") -> bytes:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.backends.backend_svg import FigureCanvasSVG

        buffer = io.BytesIO()
        if fmt == "svg":
            FigureCanvasSVG(self.fig).print_svg(buffer)
            return buffer.getvalue()
        canvas = FigureCanvasAgg(self.fig)
        canvas.draw()
        return _png(canvas)


def _png(canvas) -> bytes:
    """The canvas as a compact PNG: Pillow quantises the flat colours to a palette."""
    from PIL import Image

    width, height = canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                          dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def _bars(ax, bars: Sequence[Bar], limit: float, colour: str, second: str | None = None) -> None:
    """Horizontal bars, one row per item, labelled with its text at the end of the bar."""
    rows = len(bars)
    ax.set_xlim(0, limit * 1.0001 if limit else 1)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.axis("off")
    for i, bar in enumerate(bars):
        ax.barh(i, limit, height=0.62, color="#EEEEEE")
        if second is not None and bar.second is not None:
            ax.barh(i, bar.second, height=0.62, color=second)
        if bar.value is not None:
            ax.barh(i, bar.value, height=0.62, color=colour)


def _bar_rows(sheet: _Sheet, top: float, rows: Sequence[Bar], geometry: tuple[float, ...],
              limit: float, second: str | None = None, size: float = 9.0) -> None:
    """A label, a bar and its text per row; ``geometry`` = (label x, bar x, bar width, text x,
    row height), in inches."""
    label_x, bar_x, bar_w, text_x, row_h = geometry
    _bars(sheet.axes(bar_x, top, bar_w, row_h * len(rows)), rows, limit, RED, second)
    for i, bar in enumerate(rows):
        sheet.text(label_x, top + row_h * i + row_h / 2, bar.label, fontsize=9.5, va="center")
        sheet.text(text_x, top + row_h * i + row_h / 2, bar.text, fontsize=size, va="center")


def _floor_bars(sheet: _Sheet, top: float, card: Card, geometry: tuple[float, ...]) -> None:
    _bar_rows(sheet, top, card.floors or (Bar("暂无楼层", None, "—"),), geometry, 1.0)


def _response_bars(sheet: _Sheet, top: float, card: Card, geometry: tuple[float, ...]) -> None:
    rows = card.responses or (Bar("暂无", None, "—"),)
    limit = max([b.second or b.value or 0 for b in rows] + [1])
    _bar_rows(sheet, top, rows, geometry, limit, second="#EF9A9A", size=8.5)


def _trend_lines(ax, card: Card, font: Font, ticks: Sequence[int], columns: int) -> None:
    """达标率 / 出勤率 / 满意度 / 解决率 over the terms, one line each, legend above."""
    xs = list(range(len(card.terms)))
    for label, values in card.series.items():
        points = [(x, v * 100) for x, v in zip(xs, values, strict=True) if v is not None]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=4,
                linewidth=1.8, color=SERIES_COLOURS[label], label=label)
    ax.set_ylim(0, 105)
    ax.set_xlim(-0.4, max(len(xs) - 1, 0) + 0.4)
    ax.set_xticks(xs, [readable(font, t) for t in card.terms], fontsize=8)
    ax.set_yticks(list(ticks), [f"{t}%" for t in ticks], fontsize=8)
    ax.grid(axis="y", color="#E0E0E0", linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="lower left", bbox_to_anchor=(-0.15 if columns < 4 else -0.12, 1.03),
              ncol=columns, fontsize=8 if columns == 4 else 8.5, frameon=False,
              handlelength=1.4, columnspacing=0.9)


CARD_BARS = (0.35, 1.2, 2.2, 3.5, 0.36)  # label x, bar x, bar width, text x, row height
CARD_TIMES = (0.35, 1.2, 1.6, 2.9, 0.36)


def _card_layout(card: Card) -> dict[str, float]:
    parts = {
        "header": 1.05,
        "tiles": 0.2 + 1.02 * ((len(card.tiles) + 1) // 2),
        "floors": 0.55 + 0.36 * max(len(card.floors), 1),
        "trend": 2.75,
        "responses": 0.85 + 0.36 * max(len(card.responses), 1),
        "activities": 0.6 + 0.3 * len(card.activities),
        "top": 0.85,
        "footer": 0.4,
    }
    return parts


def draw_card(card: Card, font: Font, fmt: str = "png") -> bytes:
    """The one-page report card for a phone screen."""
    with _lock:
        import matplotlib

        with matplotlib.rc_context(_use(font)):
            return _draw_card(card, font, fmt)


def _draw_card(card: Card, font: Font, fmt: str) -> bytes:
    parts = _card_layout(card)
    sheet = _Sheet(sum(parts.values()), font)
    top = 0.0
    # header
    sheet.box(0, 0, WIDTH_IN, parts["header"], RED, boxstyle="square,pad=0")
    sheet.text(0.35, 0.2, "支部工作报告", fontsize=21, fontweight="bold", color="white")
    sheet.text(0.35, 0.68, f"{card.title} · {card.term}", fontsize=11, color="#FFE0B2")
    top += parts["header"] + 0.2
    # headline tiles, two per row
    tile_w, tile_h, gap = 2.3, 0.92, 0.2
    for i, tile in enumerate(card.tiles):
        x = 0.3 + (i % 2) * (tile_w + gap)
        y = top + (i // 2) * (tile_h + 0.1)
        sheet.box(x, y, tile_w, tile_h, LIGHT)
        sheet.text(x + 0.14, y + 0.08, tile.label, fontsize=9.5, color=GREY)
        sheet.text(x + 0.14, y + 0.3, tile.value, fontsize=19, fontweight="bold",
                   color=DARK_RED)
        if tile.before is not None:
            change = tile.change or ""
            colour = RED if change.startswith("↑") else (
                "#2E7D32" if change.startswith("↓") else GREY)
            sheet.text(x + tile_w - 0.12, y + 0.08, tile.trend, fontsize=8, color=colour,
                       ha="right")
        sheet.text(x + 0.14, y + 0.68, tile.detail, fontsize=8, color=GREY)
    top += parts["tiles"]
    # floors
    sheet.heading(top, "各楼层积分达标率")
    _floor_bars(sheet, top + 0.45, card, CARD_BARS)
    top += parts["floors"]
    # the terms, line by line
    sheet.heading(top, "各学期趋势")
    _trend_lines(sheet.axes(0.75, top + 0.85, 4.35, 1.55), card, font, (0, 25, 50, 75, 100), 4)
    top += parts["trend"]
    # 民情 response times per category
    sheet.heading(top, "民情首次响应用时（小时）")
    sheet.text(0.45, top + 0.4, card.response_summary, fontsize=8, color=GREY)
    _response_bars(sheet, top + 0.75, card, CARD_TIMES)
    top += parts["responses"]
    # activities per kind
    sheet.heading(top, "活动与三会一课")
    columns = (0.35, 1.75, 2.75, 3.85)
    for x, head in zip(columns, ("类型", "举办", "平均出勤率", "按时召开"), strict=True):
        sheet.text(x, top + 0.4, head, fontsize=8.5, color=GREY)
    for i, row in enumerate(card.activities):
        for x, cell in zip(columns, row, strict=True):
            sheet.text(x, top + 0.68 + 0.3 * i, cell, fontsize=9)
    top += parts["activities"]
    # top 3 and footer
    sheet.heading(top, "积分前三")
    sheet.text(0.45, top + 0.42, card.top, fontsize=9.5, wrap=True)
    top += parts["top"]
    sheet.text(WIDTH_IN / 2, top + 0.08, f"生成于 {card.generated} · 支部助手", fontsize=8,
               color=GREY, ha="center")
    return sheet.save(fmt)


# the page's charts (SVG, the same drawings) ----------------------------------------------


def page_charts(card: Card, font: Font) -> list[tuple[str, str]]:
    """(title, SVG markup) of each chart on the secretary's page: the card's drawings."""
    with _lock:
        import matplotlib

        with matplotlib.rc_context(_use(font)):
            return [(title, _svg_element(draw(card, font))) for title, draw in (
                ("各楼层积分达标率", _floor_chart), ("各学期趋势", _trend_chart),
                ("民情首次响应用时（小时）", _response_chart))]


def _svg_element(data: bytes) -> str:
    """The ``<svg>`` element of a document (no XML prolog), scaling to the page width."""
    text = data.decode("utf-8")
    start = text.index("<svg")
    text = text[start:]
    head_end = text.index(">")
    head = text[:head_end]
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    return head + ' role="img" style="width:100%;height:auto"' + text[head_end:]


PAGE_WIDTH_IN = 3.6  # the page's charts: narrower, so their text reads at the page's size


PAGE_BARS = (0.05, 0.75, 1.45, 2.28, 0.32)
PAGE_TIMES = (0.05, 0.6, 0.8, 1.47, 0.32)


def _floor_chart(card: Card, font: Font) -> bytes:
    sheet = _Sheet(0.2 + 0.32 * max(len(card.floors), 1), font, width=PAGE_WIDTH_IN)
    _floor_bars(sheet, 0.1, card, PAGE_BARS)
    return sheet.save("svg")


def _trend_chart(card: Card, font: Font) -> bytes:
    sheet = _Sheet(2.3, font, width=PAGE_WIDTH_IN)
    _trend_lines(sheet.axes(0.5, 0.62, 2.95, 1.35), card, font, (0, 50, 100), 2)
    return sheet.save("svg")


def _response_chart(card: Card, font: Font) -> bytes:
    sheet = _Sheet(0.2 + 0.32 * max(len(card.responses), 1), font, width=PAGE_WIDTH_IN)
    _response_bars(sheet, 0.1, card, PAGE_TIMES)
    return sheet.save("svg")


# the points board and the commendation poster --------------------------------------------


@dataclass(frozen=True)
class BoardRow:
    rank: int
    name: str
    total: int
    mine: bool = False


def draw_board(title: str, subtitle: str, rows: Sequence[BoardRow], footer: str,
               font: Font) -> bytes:
    """A leaderboard: a row per person with a bar, the asker's row marked, their place below."""
    with _lock:
        import matplotlib

        with matplotlib.rc_context(_use(font)):
            row_h = 0.46
            height = 1.25 + row_h * max(len(rows), 1) + 0.75
            sheet = _Sheet(height, font)
            sheet.box(0, 0, WIDTH_IN, 1.05, RED, boxstyle="square,pad=0")
            sheet.text(0.35, 0.18, title, fontsize=20, fontweight="bold", color="white")
            sheet.text(0.35, 0.66, subtitle, fontsize=10.5, color="#FFE0B2")
            best = max([r.total for r in rows] + [1])
            for i, row in enumerate(rows):
                y = 1.25 + row_h * i
                if row.mine:
                    sheet.box(0.2, y - 0.04, WIDTH_IN - 0.4, row_h - 0.02, "#FFF3CD")
                colour = MEDALS[row.rank - 1] if row.rank <= len(MEDALS) else "#BDBDBD"
                sheet.circle(0.3, y + 0.04, 0.34, colour)
                sheet.text(0.47, y + 0.21, str(row.rank), fontsize=10, fontweight="bold",
                           color="white", ha="center", va="center")
                sheet.text(0.8, y + 0.21, row.name + ("（我）" if row.mine else ""),
                           fontsize=11.5, va="center")
                bar_w = 1.7 * max(row.total, 0) / best
                sheet.box(2.85, y + 0.12, max(bar_w, 0.02), 0.18, "#EF9A9A",
                          boxstyle="square,pad=0")
                sheet.text(WIDTH_IN - 0.3, y + 0.21, f"{row.total} 分", fontsize=11,
                           fontweight="bold", color=DARK_RED, ha="right", va="center")
            sheet.text(0.35, height - 0.55, footer, fontsize=11, fontweight="bold")
            return sheet.save()


def draw_poster(branch: str, week: str, rows: Sequence[BoardRow], font: Font) -> bytes:
    """The weekly commendation poster: the week's top members of a branch."""
    with _lock:
        import matplotlib

        with matplotlib.rc_context(_use(font)):
            height = 6.75
            sheet = _Sheet(height, font, background=RED)
            sheet.box(0.18, 0.18, WIDTH_IN - 0.36, height - 0.36, "#B71C1C")
            sheet.text(WIDTH_IN / 2, 0.55, "本周积分之星", fontsize=30, fontweight="bold",
                       color=GOLD, ha="center")
            sheet.text(WIDTH_IN / 2, 1.3, branch, fontsize=13, color="white", ha="center")
            sheet.text(WIDTH_IN / 2, 1.7, week, fontsize=11, color="#FFE0B2", ha="center")
            space = height - 2.4 - 1.2
            row_h = min(0.85, space / max(len(rows), 1))
            for i, row in enumerate(rows):
                y = 2.4 + row_h * i
                colour = MEDALS[row.rank - 1] if row.rank <= len(MEDALS) else "#E0E0E0"
                size = min(0.56, row_h * 0.8)
                sheet.circle(0.7, y, size, colour)
                sheet.text(0.7 + size / 2, y + size / 2, str(row.rank), fontsize=15,
                           fontweight="bold", color="#5D4037", ha="center", va="center")
                sheet.text(1.55, y + size / 2, row.name, fontsize=18, color="white",
                           va="center")
                sheet.text(WIDTH_IN - 0.7, y + size / 2, f"{row.total} 分", fontsize=16,
                           fontweight="bold", color=GOLD, ha="right", va="center")
            sheet.text(WIDTH_IN / 2, height - 0.95, "感谢大家的服务与参与，继续加油！",
                       fontsize=11.5, color="white", ha="center")
            return sheet.save()
