"""The showcase page (展示页): a branch's public page for publicity, served by NoneBot's own
FastAPI app (as the screen page) at ``SHOWCASE_PATH/<token>``.

Plain server-rendered HTML without scripts: it fits any width, so a college website can embed
it in an ``<iframe>`` (no frame-blocking header), and a print stylesheet lays it out for A4
paper. It shows registered names and public texts only. A closed or unknown link answers 404
with nothing of any branch. Each page view is counted once per visitor and day
(``ExemplarService.view``): the address and browser name are hashed with a salt that lives in
memory for one day and are never stored.
"""

from __future__ import annotations

from html import escape

from fastapi import Request
from fastapi.responses import HTMLResponse
from nonebot import get_driver, logger
from nonebot.drivers import ASGIMixin

from domain.exemplars import SHOWCASE_PATH, Showcase
from domain.lectures import mean_text
from runtime import lifecycle

LOOPBACK = ("127.0.0.1", "::1")
HEADERS = {
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
    # no scripts and no outside resources; no frame-ancestors and no X-Frame-Options: any
    # site may embed it (that is the point)
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


def visitor_of(request: Request) -> tuple[str, str]:
    """(address, browser name) of a request. Behind a reverse proxy on this machine the
    address is the first one the proxy forwards; from anywhere else the header is ignored."""
    address = request.client.host if request.client else ""
    forwarded = request.headers.get("x-forwarded-for", "")
    if address in LOOPBACK and forwarded:
        address = forwarded.split(",")[0].strip()
    return address, request.headers.get("user-agent", "")


async def page(token: str, request: Request) -> HTMLResponse:
    """GET SHOWCASE_PATH/<token>: the page, or nothing (404) for a closed or unknown link."""
    shown = await lifecycle.services().exemplars.view(token, *visitor_of(request))
    if shown is None:
        return HTMLResponse(NOTHING, 404, HEADERS)
    return HTMLResponse(render(shown), 200, HEADERS)


def install() -> None:
    """Add the page's route to NoneBot's FastAPI app (no second server)."""
    driver = get_driver()
    if not isinstance(driver, ASGIMixin):
        logger.warning("the showcase page needs an ASGI driver (~fastapi); not served")
        return
    driver.server_app.add_api_route(SHOWCASE_PATH + "/{token}", page, methods=["GET"],
                                    response_class=HTMLResponse, include_in_schema=False)


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{escape(title)}</h2>{body}</section>'


def _empty(text: str) -> str:
    return f'<p class="muted">{escape(text)}</p>'


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip())


def render(shown: Showcase) -> str:
    """The page's HTML; every text from the database is escaped."""
    exemplars = "".join(
        f'<article class="card exemplar"><h3><span class="field">{escape(e.field)}</span>'
        f'<span class="name">{escape(e.name)}</span></h3>{_paragraphs(e.story)}</article>'
        for e in shown.exemplars)
    cases = "".join(
        f'<article class="card case"><h3>{escape(c.title)}</h3>'
        f'<p class="muted">{escape(c.field)} · {escape(c.person)} · 作者 {escape(c.author)}</p>'
        f"{_paragraphs(c.body)}</article>" for c in shown.cases)
    lectures = ""
    for lecture in shown.lectures:
        rows = "".join(
            f"<tr><td>{'第 ' + str(rank) + ' 名' if rank else '—'}</td><td>{escape(name)}</td>"
            f"<td>{escape(title)}</td><td>{mean_text(mean)}</td><td>{count}</td></tr>"
            for rank, name, title, mean, count in lecture.standings)
        lectures += (f'<div class="lecture"><h3>{escape(lecture.topic)} '
                     f'<span class="muted">{escape(lecture.label)} · {lecture.day}</span></h3>'
                     "<table><thead><tr><th>名次</th><th>讲者</th><th>讲题</th><th>平均分</th>"
                     f"<th>评分人数</th></tr></thead><tbody>{rows}</tbody></table></div>")
    activities = "".join(
        f"<tr><td>{a.day}</td><td>{escape(a.kind)}</td><td>{escape(a.topic)}</td>"
        f"<td>{a.participants}</td></tr>" for a in shown.activities)
    if activities:
        more = (f'<p class="muted">本学期共 {shown.activities_held} 场，列出最近 '
                f"{len(shown.activities)} 场。</p>"
                if shown.activities_held > len(shown.activities) else "")
        activities = ("<table><thead><tr><th>日期</th><th>类型</th><th>主题</th><th>参与人数</th>"
                      f"</tr></thead><tbody>{activities}</tbody></table>{more}")
    body = "".join((
        _section("exemplars", "本学期微典型",
                 f'<div class="cards">{exemplars}</div>' if exemplars
                 else _empty("本学期的微典型公示后在这里展示。")),
        _section("cases", "典型案例",
                 f'<div class="cards">{cases}</div>' if cases else _empty("暂无典型案例。")),
        _section("lectures", "微党课评比", lectures or _empty("本学期还没有评分结束的微党课。")),
        _section("activities", "本学期活动", activities or _empty("本学期还没有举办活动。")),
    ))
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(shown.branch)} · 支部风采</title><style>{STYLE}</style></head>"
            f'<body><main><header><h1>{escape(shown.branch)}</h1>'
            f'<p class="term">{escape(shown.term)} · 支部风采</p></header>{body}'
            f'<footer>更新于 {escape(shown.updated)}'
            '<span class="no-print"> · 打印请用浏览器的打印功能（A4）</span></footer>'
            "</main></body></html>")


NOTHING = ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
           '<meta name="robots" content="noindex"><title>页面不存在</title></head>'
           "<body><p>页面不存在。</p></body></html>")

STYLE = """
  html, body { margin: 0; background: #fff; color: #222; }
  body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif;
    line-height: 1.6; }
  main { max-width: 960px; margin: 0 auto; padding: 16px; box-sizing: border-box; }
  header { border-bottom: 3px solid #b71c1c; margin-bottom: 8px; }
  h1 { color: #b71c1c; font-size: 1.6em; margin: 0.2em 0 0; }
  .term { margin: 0 0 8px; color: #555; }
  h2 { font-size: 1.2em; border-left: 4px solid #b71c1c; padding-left: 8px;
    margin: 1.2em 0 0.6em; }
  h3 { font-size: 1.05em; margin: 0 0 4px; }
  .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr));
    gap: 12px; }
  .card { border: 1px solid #e0e0e0; border-radius: 6px; padding: 10px 12px; }
  .card p { margin: 4px 0; }
  .field { display: inline-block; background: #b71c1c; color: #fff; border-radius: 3px;
    padding: 0 6px; margin-right: 6px; font-size: 0.85em; }
  .muted { color: #777; font-size: 0.9em; font-weight: normal; }
  table { width: 100%; border-collapse: collapse; margin-bottom: 8px; }
  th, td { border-bottom: 1px solid #eee; padding: 4px 6px; text-align: left;
    vertical-align: top; }
  .lecture { margin-bottom: 12px; }
  footer { margin-top: 20px; color: #999; font-size: 0.8em; }
  @media print {
    @page { size: A4; margin: 15mm; }
    body { font-size: 10.5pt; }
    main { max-width: none; padding: 0; }
    .cards { display: block; }
    .card { border: 0; border-bottom: 1px solid #ccc; border-radius: 0; padding: 4pt 0; }
    .card, .lecture, tr { break-inside: avoid; page-break-inside: avoid; }
    h2, h3 { break-after: avoid; page-break-after: avoid; }
    .no-print { display: none; }
  }
"""

install()
