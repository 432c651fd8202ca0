"""The bot's own web pages: routes on NoneBot's FastAPI app (no second server)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from nonebot import get_driver, logger
from nonebot.drivers import ASGIMixin


def add_routes(what: str, routes: list[tuple[str, Callable, dict]]) -> None:
    """GET routes (path, handler, extra options) for ``what`` (a page, for the log)."""
    driver = get_driver()
    if not isinstance(driver, ASGIMixin):
        logger.warning(f"{what} needs an ASGI driver (~fastapi); not served")
        return
    for path, handler, options in routes:
        driver.server_app.add_api_route(path, handler, methods=["GET"], include_in_schema=False,
                                        **options)


FORWARDING_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")


def from_this_machine(request) -> bool:
    """A request made on this machine directly: a loopback client address and none of the
    headers a reverse proxy adds (behind a proxy on the same host every request comes from
    127.0.0.1, wherever it started)."""
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
    return loopback and not any(h in request.headers for h in FORWARDING_HEADERS)
