"""A fetched page of either kind (an HTML notice list or a feed) as notices."""

from __future__ import annotations

from typing import Literal

from bot.watch.feeds import feed_notices
from bot.watch.parse import Notice, check_selector, compile_pattern, html_notices


def page_notices(
    text: str,
    base_url: str,
    *,
    kind: Literal["html", "feed"],
    selector: str | None = None,
    link_pattern: str | None = None,
) -> list[Notice]:
    """The notices of a page of either kind, in page order.

    For a feed the selector is not used; a link pattern, when given, filters the entries'
    URLs as it does a page's links. A bad selector or pattern raises ValueError.
    """
    if kind == "html":
        return html_notices(text, base_url, selector=selector, link_pattern=link_pattern)
    if kind == "feed":
        if selector is not None and (problem := check_selector(selector)):
            raise ValueError(problem)
        notices = feed_notices(text, base_url)
        if link_pattern is None:
            return notices
        pattern = compile_pattern(link_pattern)
        return [notice for notice in notices if pattern.search(notice.url)]
    raise ValueError(f"unknown page kind {kind!r} (html or feed)")
