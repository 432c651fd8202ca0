"""Pictures of the bot's figures, each drawn once per version of what it shows and reused.

- The report card (``/统计 图``) and the secretary's page's charts: drawn once per (branch, term,
  group member count, data version) — ``ReportService.counter`` is one indexed read, bumped by
  the database on every write a figure reads; an entry of the current term also expires at the
  first moment a figure changes by time alone (``DataVersion.valid_until``).
- The points board (``/积分榜 图``): keyed by what it shows (the rows, the names, the asker's
  place), which the board query already gives.
- The weekly commendation poster: drawn once per branch and week by the job.

Each services' database has its own cache, so two databases never share a picture.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from domain.models import Term
from domain.points import Board, Commendation
from domain.report import DataVersion, Report
from runtime import charts
from runtime.charts import BoardRow, Card, NoFont

CACHE_SIZE = 64  # pictures kept per database (a card is ~150 KB)
TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class PageView:
    """What the secretary's page shows of the report: the report, its card, the SVG charts."""

    report: Report
    card: Card
    charts: list[tuple[str, str]]


@dataclass(frozen=True)
class _Drawn:
    version: DataVersion | None
    value: Any


class PictureCache:
    """The newest ``size`` pictures, least recently used first out."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple, _Drawn] = OrderedDict()
        self.hits = 0
        self.draws = 0

    def get(self, key: tuple) -> _Drawn | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: tuple, drawn: _Drawn) -> None:
        self._items[key] = drawn
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cache_of(svc) -> PictureCache:
    """The picture cache of ``svc``'s database."""
    cache = _caches.get(svc.db)
    if cache is None:
        cache = _caches[svc.db] = PictureCache()
    return cache


async def find_font(svc) -> charts.Font | None:
    """The CJK font (looked for once, in a worker thread: it reads font files)."""
    if not charts.font_checked():
        return await asyncio.to_thread(charts.configure, svc.settings.picture_font)
    return charts.configure(svc.settings.picture_font)


async def font_of(svc) -> charts.Font:
    """The CJK font, or ``NoFont`` (the caller answers in text)."""
    font = await find_font(svc)
    if font is None:
        raise NoFont()
    return font


async def _versioned(svc, key: tuple, branch_id: int, term: Term,
                     make: Callable[[], Awaitable[Any]]) -> Any:
    """``make()``'s value for ``key``, drawn again only when the term's data changed."""
    cache = cache_of(svc)
    counter = await svc.reports.counter(branch_id)
    found = cache.get(key)
    if found is not None and found.version.still(counter, svc.clock.timestamp()):
        cache.hits += 1
        return found.value
    version = await svc.reports.version(branch_id, term)  # read before the figures
    value = await make()
    cache.draws += 1
    cache.put(key, _Drawn(version, value))
    return value


async def _card(svc, branch_id: int, term: Term, group_members: int | None
                ) -> tuple[Report, Card]:
    history = await svc.reports.history(branch_id, term, group_members)
    report = history[-1]
    return report, charts.card_of(report, history,
                                  svc.clock.format(svc.clock.timestamp(), TIME_FORMAT))


async def report_card(svc, branch_id: int, term: Term, group_members: int | None) -> bytes:
    """The report card of ``term`` as PNG (``NoFont`` without a CJK font)."""
    font = await font_of(svc)

    async def make() -> bytes:
        _, card = await _card(svc, branch_id, term, group_members)
        return await asyncio.to_thread(charts.draw_card, card, font)

    return await _versioned(svc, ("card", branch_id, term.id, group_members), branch_id, term,
                            make)


async def page_view(svc, branch_id: int, term: Term, group_members: int | None) -> PageView:
    """The report, its card and its SVG charts for the secretary's page (charts empty without
    a CJK font: the page shows the figures as text then)."""
    async def make() -> PageView:
        report, card = await _card(svc, branch_id, term, group_members)
        font = await find_font(svc)
        drawn = [] if font is None else await asyncio.to_thread(charts.page_charts, card, font)
        return PageView(report, card, drawn)

    return await _versioned(svc, ("page", branch_id, term.id, group_members), branch_id, term,
                            make)


async def board_picture(svc, branch_name: str, board: Board, asker: int) -> bytes:
    """``/积分榜 图``: the board with the asker's row marked and their place below."""
    font = await font_of(svc)
    rows = tuple(BoardRow(rank, board.names.get(uid, str(uid)), total, uid == asker)
                 for rank, uid, total in board.rows)
    if board.mine:
        rank, total, _ = board.mine
        footer = f"我：第 {rank} 名，{total} 分"
    else:
        footer = "我：暂未上榜"
    title = f"{board.label}积分榜"
    subtitle = f"{branch_name} · {board.ranked} 人上榜"
    key = ("board", title, subtitle, rows, footer)
    cache = cache_of(svc)
    found = cache.get(key)
    if found is not None:
        cache.hits += 1
        return found.value
    png = await asyncio.to_thread(charts.draw_board, title, subtitle, rows, footer, font)
    cache.draws += 1
    cache.put(key, _Drawn(None, png))
    return png


async def commendation_poster(svc, commendation: Commendation) -> bytes | None:
    """The weekly commendation as a poster; None without a CJK font (the text goes then)."""
    font = await find_font(svc)
    if font is None:
        return None
    rows = [BoardRow(rank, commendation.names.get(uid, str(uid)), total)
            for rank, uid, total in commendation.rows]
    return await asyncio.to_thread(charts.draw_poster, commendation.branch_name,
                                   commendation.week, rows, font)
