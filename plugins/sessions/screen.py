"""The screen page (投屏页): a session's topic, current code, countdown and live count, served by
NoneBot's own FastAPI app at ``/zhibu/screen/<token>``; the page polls ``…/state`` each second.

The token rules live in the domain (``SessionService.screen``): the code and the count show only
during the session's check-in window; before it the page shows the topic, when check-in opens
and a countdown to it; after it, or for an unknown token, it says why and no more.
"""

from __future__ import annotations

import socket

from fastapi.responses import HTMLResponse, JSONResponse
from nonebot import get_bots, get_driver, logger

from domain.checkin_code import SCREEN_PATH, ScreenStatus
from domain.sessions import role_word
from runtime import lifecycle
from runtime.web import add_routes

POLL_MS = 1000
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Robots-Tag": "noindex", "X-Content-Type-Options": "nosniff"}
MESSAGES = {
    ScreenStatus.WAITING: "签到还没有开放。开放后本页会自动显示签到码，请保持打开。",
    ScreenStatus.CLOSED: "本场签到已经结束，或活动已取消。",
    ScreenStatus.INVALID: "链接无效。请使用机器人私聊发来的投屏链接。",
}
STATUS_CODES = {ScreenStatus.OPEN: 200, ScreenStatus.WAITING: 200, ScreenStatus.CLOSED: 410,
                ScreenStatus.INVALID: 404}


def public_url(svc) -> str:
    """Where the bot is reached from outside: ``bot_public_url``, else http://HOST:PORT."""
    if not svc.sessions.public_url:
        config = get_driver().config
        host = str(config.host)
        if host in ("0.0.0.0", "::", ""):
            logger.warning("BOT_PUBLIC_URL is not set and the bot listens on every address: "
                           "screen links name this machine by its local address; set "
                           "BOT_PUBLIC_URL to how leaders reach it")
            host = socket.gethostname()
        svc.sessions.public_url = f"http://{f'[{host}]' if ':' in host else host}:{config.port}"
    return svc.sessions.public_url


def link(svc, session) -> str:
    public_url(svc)
    return svc.sessions.screen_link(session)


def code_message(svc, session) -> str:
    """The private message to the leader and creator of a session with a rotating code."""
    clock = svc.clock
    return (f"{session.label}「{session.topic}」{clock.format(session.starts_at)} 的签到码："
            f"每 {svc.sessions.codes.period} 秒自动更换，请在现场投屏显示。\n"
            f"投屏页（签到开放时显示签到码；只发给你，不要发到群里）：{link(svc, session)}\n"
            f"不便打开网页时，私聊我发送 /导学 签到码 #{session.id} 查看当前签到码。"
            f"{role_word(session)}本人查看签到码或签到即记为到场（打开投屏页不算）。\n"
            "同学们到场后私聊我发送 /签到 <签到码> 签到。")


async def state(token: str) -> tuple[int, dict]:
    """The page's JSON: the code and count only while check-in is open; before it the topic
    and when it opens."""
    svc = lifecycle.services()
    shown = await svc.sessions.screen(token)
    if shown.status is ScreenStatus.WAITING and shown.session is not None:
        opens = shown.opens_at or 0
        return 200, {"status": "waiting", "message": MESSAGES[shown.status],
                     "label": shown.session.label, "topic": shown.session.topic,
                     "opens": svc.clock.format(opens, "%m-%d %H:%M"),
                     "seconds_to_open": max(0, opens - svc.clock.timestamp())}
    if shown.status is not ScreenStatus.OPEN:
        return STATUS_CODES[shown.status], {"status": shown.status.value,
                                            "message": MESSAGES[shown.status]}
    session, code = shown.session, shown.code
    bots = list(get_bots())
    return 200, {
        "status": "open",
        "label": session.label,
        "topic": session.topic,
        "code": code.code if code else None,
        "seconds_left": code.seconds_left if code else None,
        "period": code.period if code else None,
        "count": shown.count,
        "bot": bots[0] if bots else None,
    }


async def page(token: str) -> HTMLResponse:
    """GET SCREEN_PATH/<token>: the live page (it fetches everything it shows), or why not."""
    shown = await lifecycle.services().sessions.screen(token)
    if shown.status in (ScreenStatus.CLOSED, ScreenStatus.INVALID):
        return HTMLResponse(_message_page(MESSAGES[shown.status]),
                            STATUS_CODES[shown.status], HEADERS)
    return HTMLResponse(PAGE, 200, HEADERS)


async def page_state(token: str) -> JSONResponse:
    """GET SCREEN_PATH/<token>/state: the JSON the page polls."""
    code, body = await state(token)
    return JSONResponse(body, code, HEADERS)


def install() -> None:
    """Add the page's routes to NoneBot's FastAPI app (no second server)."""
    add_routes("the screen page", [
        (SCREEN_PATH + "/{token}", page, {"response_class": HTMLResponse}),
        (SCREEN_PATH + "/{token}/state", page_state, {}),
    ])


STYLE = """
  html, body { margin: 0; height: 100%; background: #111; color: #f5f5f5;
    font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; }
  main { min-height: 100%; display: flex; flex-direction: column; align-items: center;
    justify-content: center; text-align: center; gap: 2vh; padding: 2vh 4vw;
    box-sizing: border-box; }
  #topic { font-size: 6vh; font-weight: bold; }
  #label, #hint, #message { font-size: 4vh; color: #ccc; }
  #code { font-size: 30vh; font-weight: bold; letter-spacing: 0.1em; color: #ffd54f;
    font-family: "DejaVu Sans Mono", Consolas, monospace; line-height: 1; }
  #countdown { font-size: 6vh; color: #90caf9; }
  #count { font-size: 8vh; color: #a5d6a7; }
  [hidden] { display: none !important; }
"""


def _message_page(message: str) -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="robots" content="noindex"><title>签到投屏</title>'
            f"<style>{STYLE}</style></head><body><main>"
            f'<div id="message">{message}</div></main></body></html>')


PAGE = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>签到投屏</title>
<style>{STYLE}</style></head>
<body><main>
  <div id="message">正在加载…</div>
  <div id="live" hidden>
    <div id="label"></div>
    <div id="topic"></div>
    <div id="code"></div>
    <div id="countdown"></div>
    <div id="count"></div>
    <div id="hint"></div>
  </div>
</main>
<script>
"use strict";
const stateUrl = location.pathname.replace(/\\/$/, "") + "/state";
let deadline = null;
let stopped = false;
function $(id) {{ return document.getElementById(id); }}
let opensAt = null;
function clock(seconds) {{
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
  const two = (n) => String(n).padStart(2, "0");
  return (h ? h + ":" + two(m) : String(m)) + ":" + two(s);
}}
function tick() {{
  if (opensAt !== null) {{
    const left = Math.max(0, Math.ceil((opensAt - Date.now()) / 1000));
    $("countdown").textContent = "距签到开放还有 " + clock(left);
    return;
  }}
  if (deadline === null) {{ $("countdown").textContent = ""; return; }}
  const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
  $("countdown").textContent = left + " 秒后更换";
}}
function show(s) {{
  if (s.status === "waiting" && s.topic) {{
    $("message").hidden = true;
    $("live").hidden = false;
    $("label").textContent = s.label;
    $("topic").textContent = s.topic;
    $("code").textContent = "";
    $("count").textContent = "";
    $("hint").textContent = "签到 " + s.opens + " 开放，届时本页自动显示签到码，请保持打开";
    deadline = null;
    opensAt = Date.now() + s.seconds_to_open * 1000;
    tick();
    return;
  }}
  opensAt = null;
  if (s.status !== "open") {{
    $("live").hidden = true;
    $("message").hidden = false;
    $("message").textContent = s.message;
    deadline = null;
    stopped = s.status !== "waiting";
    return;
  }}
  $("message").hidden = true;
  $("live").hidden = false;
  $("label").textContent = s.label;
  $("topic").textContent = s.topic;
  $("count").textContent = "已签到 " + s.count + " 人";
  const who = s.bot ? "私聊机器人（QQ " + s.bot + "）" : "私聊机器人";
  if (s.code) {{
    $("code").textContent = s.code;
    $("hint").textContent = who + "发送：/签到 " + s.code + "　请勿把签到码发到群里";
    deadline = s.seconds_left === null ? null : Date.now() + s.seconds_left * 1000;
  }} else {{
    $("code").textContent = "无需签到码";
    $("hint").textContent = who + "发送：/签到";
    deadline = null;
  }}
  tick();
}}
async function poll() {{
  try {{
    const r = await fetch(stateUrl, {{cache: "no-store"}});
    show(await r.json());
  }} catch (e) {{
    $("message").hidden = false;
    $("message").textContent = "连接中断，正在重试…";
  }}
  if (!stopped) setTimeout(poll, {POLL_MS});
}}
setInterval(tick, 250);
poll();
</script>
</body></html>
"""

install()
