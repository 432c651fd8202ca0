"""The secretary's page (支部工作网页), served by NoneBot's own FastAPI app beside the screen page
at ``/zhibu/dashboard/<token>``: the report's headline figures with the previous term, its
charts (SVG from ``runtime.charts``, the report card's drawings), every /统计 figure, the
tables of ``DashboardService`` (open 民情 with their age, upcoming activities with sign-ups) and
the export download. One HTML document with its styles inline: no script, no request to any
other site, readable on a phone. A wrong or expired token shows nothing of any branch.
"""

from __future__ import annotations

import tempfile
from html import escape
from pathlib import Path
from urllib.parse import quote

from fastapi.responses import HTMLResponse, Response

from domain.dashboard import DASHBOARD_PATH, Table, Viewing
from domain.errors import NotFound
from domain.models import Term
from runtime import lifecycle, pictures
from runtime.context import is_superuser
from runtime.outbox import connected_bots
from runtime.web import add_routes

HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Robots-Tag": "noindex", "X-Content-Type-Options": "nosniff",
           # nothing but this document: no script, no font, no image from anywhere
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                      "img-src data:; base-uri 'none'; form-action 'none'"}
INVALID = "链接无效或已过期。请私聊机器人发送 /统计 网页 获取新的链接。"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _group_members(branch_id: int) -> int | None:
    """The groups' member counts from the QQ side, as /统计 asks them (None without a bot)."""
    from plugins.report import group_member_count

    bot = next(iter(connected_bots().values()), None)
    if bot is None:
        return None
    return await group_member_count(bot, await lifecycle.services().branches.groups(branch_id))


async def _opened(token: str, term: str | None) -> tuple[Viewing, Term] | None:
    """The link's branch and the term asked for (the current one by default), or None."""
    viewing = await lifecycle.services().dashboard.open(token, is_superuser)
    if viewing is None:
        return None
    word = f"#{term}" if term and term.isdigit() else None
    try:
        return viewing, await lifecycle.services().branches.find_term(viewing.branch_id, word)
    except NotFound:
        return None


async def page(token: str, term: str | None = None) -> HTMLResponse:
    """GET DASHBOARD_PATH/<token>[?term=<id>]: the page, or that the link does not work."""
    opened = await _opened(token, term)
    if opened is None:
        return HTMLResponse(_message_page(INVALID), 404, HEADERS)
    viewing, chosen = opened
    svc = lifecycle.services()
    view = await pictures.page_view(svc, viewing.branch_id, chosen,
                                    await _group_members(viewing.branch_id))
    terms = await svc.branches.terms(viewing.branch_id)
    tables = await svc.dashboard.tables(viewing.branch_id)
    return HTMLResponse(render(svc, view, terms, tables, viewing, token), 200, HEADERS)


async def export(token: str, term: str | None = None) -> Response:
    """GET DASHBOARD_PATH/<token>/export[?term=<id>]: the term's workbook (as /统计 导出)."""
    from tools.export import export_term

    opened = await _opened(token, term)
    if opened is None:
        return HTMLResponse(_message_page(INVALID), 404, HEADERS)
    viewing, chosen = opened
    svc = lifecycle.services()
    members = await _group_members(viewing.branch_id)
    with tempfile.TemporaryDirectory(prefix="zhibu-export-") as folder:
        path = Path(folder) / "export.xlsx"
        await export_term(svc, viewing.branch_id, f"#{chosen.id}", path, members)
        body = path.read_bytes()
    name = f"{chosen.name}-支部报告.xlsx"
    disposition = f"attachment; filename=\"report.xlsx\"; filename*=UTF-8''{quote(name)}"
    return Response(body, 200, {**HEADERS, "Content-Disposition": disposition}, media_type=XLSX)


def install() -> None:
    """Add the page's routes to NoneBot's FastAPI app (no second server)."""
    add_routes("the secretary's page", [
        (DASHBOARD_PATH + "/{token}", page, {"response_class": HTMLResponse}),
        (DASHBOARD_PATH + "/{token}/export", export, {}),
    ])


# the document ----------------------------------------------------------------------------

STYLE = """
  * { box-sizing: border-box; }
  body { margin: 0; background: #f6f6f6; color: #222; font-size: 16px; line-height: 1.5;
    font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
  header { background: #c62828; color: #fff; padding: 18px 16px 14px; }
  header h1 { margin: 0; font-size: 24px; }
  header p { margin: 4px 0 0; color: #ffe0b2; font-size: 14px; }
  nav { margin-top: 8px; font-size: 14px; }
  nav a, nav strong { color: #fff; margin-right: 10px; }
  main { padding: 12px; max-width: 760px; margin: 0 auto; }
  section { background: #fff; border-radius: 10px; padding: 12px; margin-bottom: 12px; }
  h2 { font-size: 17px; margin: 0 0 8px; border-left: 4px solid #c62828; padding-left: 8px; }
  .tiles { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; }
  .tile { background: #fbefef; border-radius: 8px; padding: 8px 10px; }
  .tile .label { color: #666; font-size: 13px; }
  .tile .value { color: #8e1b1b; font-size: 24px; font-weight: bold; }
  .tile .before { font-size: 12px; color: #666; }
  .tile .detail { font-size: 12px; color: #666; }
  .up { color: #c62828; } .down { color: #2e7d32; }
  .scroll { overflow-x: auto; }
  table { border-collapse: collapse; width: 100%; font-size: 14px; }
  th, td { text-align: left; padding: 5px 6px; border-bottom: 1px solid #eee;
    vertical-align: top; }
  th { color: #666; font-weight: normal; white-space: nowrap; }
  td { white-space: nowrap; } td:last-child { white-space: normal; min-width: 8em; }
  #figures td { white-space: normal; }
  #figures th { width: 7.5em; }
  .note { color: #666; font-size: 13px; }
  a.button { display: inline-block; background: #c62828; color: #fff; padding: 10px 16px;
    border-radius: 8px; text-decoration: none; }
  svg { display: block; max-width: 100%; }
"""


def _message_page(message: str) -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="robots" content="noindex"><title>支部工作网页</title>'
            f"<style>{STYLE}</style></head><body><main><section><p id=\"message\">"
            f"{escape(message)}</p></section></main></body></html>")


def _tile(tile) -> str:
    trend = ""
    if tile.before is not None:
        change = tile.change or ""
        css = "up" if change.startswith("↑") else ("down" if change.startswith("↓") else "")
        trend = (f'<div class="before">{escape(tile.before)} '
                 f'<span class="change {css}">{escape(change)}</span></div>')
    return (f'<div class="tile" data-label="{escape(tile.label)}">'
            f'<div class="label">{escape(tile.label)}</div>'
            f'<div class="value">{escape(tile.value)}</div>{trend}'
            f'<div class="detail">{escape(tile.detail)}</div></div>')


def _table(table: Table) -> str:
    if not table.rows:
        body = f'<p class="note">{escape(table.empty)}</p>'
    else:
        head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
        rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                       for row in table.rows)
        body = f'<div class="scroll"><table><tr>{head}</tr>{rows}</table></div>'
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return f"<section><h2>{escape(table.title)}</h2>{body}{note}</section>"


def render(svc, view: pictures.PageView, terms, tables: list[Table], viewing: Viewing,
           token: str) -> str:
    """The page's HTML (every user text escaped)."""
    report, card = view.report, view.card
    links = " ".join(
        f"<strong>{escape(t.name)}</strong>" if t.id == report.term.id
        else f'<a href="?term={t.id}">{escape(t.name)}</a>' for t in terms)
    charts = "".join(f"<section><h2>{escape(title)}</h2>{svg}</section>"
                     for title, svg in view.charts)
    if not view.charts:
        charts = ('<section><p class="note">服务器没有中文字体，图表暂不显示；'
                  "全部指标见下表。</p></section>")
    figures = "".join(f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"
                      for label, value in report.figures())
    activities = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                         for row in card.activities)
    export = f"{DASHBOARD_PATH}/{token}/export?term={report.term.id}"
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>支部工作报告 · {escape(report.branch_name)}</title>
<style>{STYLE}</style></head>
<body>
<header><h1>支部工作报告</h1>
<p id="branch">{escape(card.title)} · <span id="term">{escape(report.term.name)}</span></p>
<p>生成于 {escape(card.generated)} · 链接有效至 {escape(svc.clock.format(viewing.expires_at,
                                                                       "%Y-%m-%d %H:%M"))}</p>
<nav>学期：{links}</nav></header>
<main>
<section id="headline"><h2>主要指标</h2><div class="tiles">
{"".join(_tile(t) for t in card.tiles)}</div></section>
{charts}
<section><h2>活动与三会一课</h2><div class="scroll"><table>
<tr><th>类型</th><th>举办</th><th>平均出勤率</th><th>按时召开</th></tr>{activities}
</table></div></section>
<section><h2>积分前三</h2><p>{escape(card.top)}</p></section>
{"".join(_table(t) for t in tables)}
<section><h2>全部指标（与 /统计 相同）</h2><div class="scroll"><table id="figures">
{figures}</table></div></section>
<section><h2>导出</h2><p><a class="button" id="export" href="{export}">下载 Excel 表格
（{escape(report.term.name)}）</a></p>
<p class="note">表格含私下反映的民情内容和成员 QQ 号，请妥善保管。</p></section>
</main></body></html>"""


install()
