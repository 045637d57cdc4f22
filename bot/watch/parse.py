"""Turn a fetched notice list (an HTML page or an RSS/Atom feed) into notices.

Plain functions doing CPU work: call them through ``asyncio.to_thread``. Which links on a page
are notices is site-specific, so an HTML page is read with a CSS selector and/or a link
pattern from content/watch.yaml (:func:`check_selector` and :func:`check_pattern` let the
content loader refuse broken ones at start-up).

Dates are the dates the site shows (Beijing dates for feeds too). A date without a year
("[11-24]") gives ``published=None``: guessing the year goes wrong around New Year.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from urllib.parse import urldefrag, urljoin, urlsplit

import soupsieve
from bs4 import BeautifulSoup, NavigableString, PageElement, Tag
from bs4.element import PreformattedString

BEIJING = timezone(timedelta(hours=8))
ROW_LEVELS = 5  # how far up from a link its row (li, tr, div) is looked for

_SPACE = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")
# 2026-11-24, 2026/11/24, 2026.11.24, 2026年11月24日 (optionally followed by a time).
_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d\d)\s*(?P<s>[-/.])\s*(?P<m>\d{1,2})\s*(?P=s)\s*(?P<d>\d{1,2})(?!\d)"
    r"|(?<!\d)(?P<cy>(?:19|20)\d\d)\s*年\s*(?P<cm>\d{1,2})\s*月\s*(?P<cd>\d{1,2})\s*日"
)
# 11-24, [11-24], 11/24, 11月24日: a date without its year.
_PARTIAL_DATE = re.compile(
    r"(?<![\d.\-/])(?:1[0-2]|0?[1-9])(?:[-/.]|月)(?:3[01]|[12]\d|0?[1-9])(?!\d)"
)
_ELLIPSIS = re.compile(r"\s*(?:\.{2,}|…+|。{2,}|·{3,})\s*$")
# What may surround a date in its own element: a label, brackets, a time of day.
_DATE_LABEL = re.compile(r"(?:发布|更新|发文|成文|公告)?(?:日期|时间)|date|time", re.IGNORECASE)
_DATE_SLACK = re.compile(r"[\s\d:：/.,，|·\-—\[\]【】()（）]*")


@dataclass(frozen=True)
class Notice:
    """One entry of a notice list."""

    url: str  # absolute, without fragment
    title: str  # whitespace collapsed
    published: date | None


def check_selector(selector: str) -> str | None:
    """Why ``selector`` is not a usable CSS selector, or None when it is."""
    if not selector or not selector.strip():
        return "the CSS selector is empty"
    try:
        soupsieve.compile(selector)
    except soupsieve.SelectorSyntaxError as exc:
        return f"bad CSS selector {selector!r}: {exc.args[0] if exc.args else exc}"
    except (ValueError, TypeError, NotImplementedError) as exc:
        return f"bad CSS selector {selector!r}: {exc}"
    return None


def check_pattern(pattern: str) -> str | None:
    """Why ``pattern`` is not a usable regular expression for link URLs, or None when it is."""
    if not pattern:
        return "the link pattern is empty"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"bad link pattern {pattern!r}: {exc}"
    return None


def compile_pattern(pattern: str) -> re.Pattern[str]:
    problem = check_pattern(pattern)
    if problem:
        raise ValueError(problem)
    return re.compile(pattern)


def collapse(text: str) -> str:
    """Runs of whitespace (full-width spaces, nbsp, zero-width spaces too) as one space."""
    return _SPACE.sub(" ", text).strip()


def html_notices(
    text: str,
    base_url: str,
    *,
    selector: str | None = None,
    link_pattern: str | None = None,
) -> list[Notice]:
    """The notices on an HTML list page, in page order, each URL once (its first link).

    ``selector`` (CSS) matches either the notice links themselves or containers such as
    ``ul.list li`` whose first usable link (``<a href>``, matching ``link_pattern`` if given)
    is the notice. ``link_pattern`` is a regular expression searched in each absolute URL.
    With neither, every link of the page counts: menus, footers and pagination too, which is
    noisy; use that only to explore a page. javascript:, mailto:, ``#`` and other non-HTTP
    links and links without a title are skipped. A ``<base href>`` in the page is honoured.

    The title is the link's ``title`` attribute when it is longer than the link text (sites
    cut long titles to "..." and keep the full one there), else the text. The date is read
    from the notice's row (the largest element around the link holding no other notice), or
    from the text after the link up to the next link. Raises ValueError for a bad selector
    or pattern.
    """
    if selector is not None and (problem := check_selector(selector)):
        raise ValueError(problem)
    pattern = compile_pattern(link_pattern) if link_pattern is not None else None
    if "<" not in text:
        return []  # not markup at all (and bs4 would warn that it looks like a file name)
    # A leading XML declaration (XHTML) means nothing once decoded; bs4 would warn about it.
    soup = BeautifulSoup(re.sub(r"^\s*<\?xml[^>]*>", "", text), "html.parser")
    base = base_url
    base_tag = soup.find("base", href=True)
    if isinstance(base_tag, Tag):
        base = urljoin(base_url, _attr(base_tag, "href"))
    anchors = soup.find_all("a", href=True)
    links: dict[int, str | None] = {id(a): absolute_url(_attr(a, "href"), base) for a in anchors}
    owners = _owners(anchors, links)

    def wanted(link: Tag) -> str | None:
        url = links.get(id(link))
        if url is None or (pattern is not None and not pattern.search(url)):
            return None
        return url

    found: list[tuple[Tag, Tag | None, str]] = []  # link, the container the selector chose
    if selector is None:
        for link in anchors:
            if (url := wanted(link)) is not None:
                found.append((link, None, url))
    else:
        for element in soup.select(selector):
            if element.name == "a":
                if (url := wanted(element)) is not None:
                    found.append((element, None, url))
                continue
            inner = next(
                (a for a in element.find_all("a", href=True) if wanted(a) is not None), None
            )
            if inner is not None:
                found.append((inner, element, wanted(inner) or ""))
                continue
            outer = element.find_parent("a", href=True)  # e.g. "a .title" matched a span
            if outer is not None and (url := wanted(outer)) is not None:
                found.append((outer, None, url))

    notices: list[Notice] = []
    seen: set[str] = set()
    for link, container, url in found:
        if url in seen:
            continue
        title = _title(link)
        if not title:
            continue
        seen.add(url)
        row = container if container is not None else _row(link, url, owners)
        notices.append(Notice(url, title, _date_near(link, row, links)))
    return notices


def _attr(tag: Tag, name: str) -> str:
    value = tag.get(name)
    if isinstance(value, list):
        return " ".join(value)
    return value or ""


def absolute_url(href: str, base: str) -> str | None:
    """The absolute http(s) URL a link points to, without fragment; None when it is not one."""
    href = re.sub(r"[\t\r\n]", "", href).strip()
    if not href or href.startswith("#"):
        return None
    try:
        url = urldefrag(urljoin(base, href)).url
        parts = urlsplit(url)
    except ValueError:  # e.g. an invalid IPv6 host
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return url


def _texts(element: Tag) -> Iterator[NavigableString]:
    """The visible strings inside ``element`` (no comments, scripts or styles)."""
    for string in element.find_all(string=True):
        if isinstance(string, PreformattedString):
            continue
        parent = string.parent
        if parent is not None and parent.name in ("script", "style", "template"):
            continue
        yield string


def _date_only(string: str) -> bool:
    """The string is a date and little else ("[2026-11-24]", "发布时间：2026年11月24日 10:30")."""
    plain = string.strip()
    if len(plain) > 40:
        return False
    match = _DATE.search(plain) or _PARTIAL_DATE.search(plain)
    if match is None:
        return False
    rest = _DATE_LABEL.sub("", plain[: match.start()] + " " + plain[match.end() :])
    return _DATE_SLACK.fullmatch(rest) is not None


def _title(link: Tag) -> str:
    """The full title: the ``title`` attribute when it is longer than the link text and
    contains it (less a trailing "..."), else the text.

    The containment check keeps a generic attribute ("点击查看详情") from replacing a real
    title. A date in its own element inside the link
    (``<a><span>标题</span><i>2026-11-24</i></a>``) is not part of the text.
    """
    parts = [str(s) for s in _texts(link) if s.parent is link or not _date_only(s)]
    text = collapse("".join(parts))
    attribute = collapse(_attr(link, "title"))
    stem = _ELLIPSIS.sub("", text).replace(" ", "")
    if len(attribute) > len(stem) and stem in attribute.replace(" ", ""):
        return attribute
    return text


_MANY = ""  # in _owners: an element holding links to more than one URL


def _owners(anchors: Iterable[Tag], links: dict[int, str | None]) -> dict[int, str]:
    """For each element up to :data:`ROW_LEVELS` above a link: the one URL its links point
    to, or :data:`_MANY`. One pass over the links, so large pages stay fast."""
    owners: dict[int, str] = {}
    for anchor in anchors:
        url = links.get(id(anchor))
        if url is None:
            continue
        for level, ancestor in enumerate(anchor.parents, start=1):
            if level > ROW_LEVELS:
                break
            known = owners.setdefault(id(ancestor), url)
            if known != url:
                owners[id(ancestor)] = _MANY
    return owners


def _row(link: Tag, url: str, owners: dict[int, str]) -> Tag | None:
    """The largest element around ``link`` (a few levels up) linking to nothing else."""
    row = None
    for level, ancestor in enumerate(link.parents, start=1):
        if level > ROW_LEVELS or ancestor.name in ("body", "html", "[document]"):
            break
        if owners.get(id(ancestor), url) != url:
            break
        row = ancestor
    return row


def _inside(string: PageElement, element: Tag) -> bool:
    return any(parent is element for parent in string.parents)


def _date_near(link: Tag, row: Tag | None, links: dict[int, str | None]) -> date | None:
    """The date shown with a notice: in its row, else in the text after the link."""
    if row is not None:
        outside = [s for s in _texts(row) if not _inside(s, link)]
    else:
        outside = list(_following_texts(link, links))
    inside = [s for s in _texts(link) if s.parent is not link]
    # A date standing alone beside the link, then one inside the link, then anywhere beside
    # it (a summary may mention other dates, so those come last).
    for strings, alone in ((outside, True), (inside, True), (outside, False)):
        for string in strings:
            if alone and not _date_only(string):
                continue
            day = first_date(string)
            if day is not None:
                return day
            if alone and _PARTIAL_DATE.search(string):
                return None  # the site shows no year: do not guess one
    return None


def _following_texts(link: Tag, links: dict[int, str | None]) -> Iterator[NavigableString]:
    """The strings after ``link`` among its siblings, up to the next link."""
    for sibling in link.next_siblings:
        if isinstance(sibling, Tag):
            if sibling.name == "a" and links.get(id(sibling)) is not None:
                return
            if any(links.get(id(a)) is not None for a in sibling.find_all("a", href=True)):
                return
            yield from _texts(sibling)
        elif isinstance(sibling, NavigableString) and not isinstance(sibling, PreformattedString):
            yield sibling


def first_date(text: str) -> date | None:
    """The first valid full date (with its year) in ``text``."""
    for match in _DATE.finditer(text):
        year = match.group("y") or match.group("cy")
        month = match.group("m") or match.group("cm")
        day = match.group("d") or match.group("cd")
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            continue
    return None
