"""The bot's own web pages: routes on NoneBot's FastAPI app (no second server)."""

from __future__ import annotations

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
