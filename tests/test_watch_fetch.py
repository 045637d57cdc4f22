"""bot/watch/fetch.py and bot/watch/parse.py against the local notice site (no internet)."""

from __future__ import annotations

import asyncio
import email.utils
import math
import socket
import time
from collections.abc import AsyncIterator
from datetime import date

import aiohttp
import pytest

from bot.watch.charset import decode
from bot.watch.feeds import feed_notices
from bot.watch.fetch import (
    MAX_BACKOFF,
    MAX_RETRY_AFTER,
    USER_AGENT,
    Fetched,
    Fetcher,
    backoff,
    parse_retry_after,
    user_agent,
)
from bot.watch.pages import page_notices
from bot.watch.parse import (
    Notice,
    check_pattern,
    check_selector,
    html_notices,
)
from tests.notice_site import (
    AUDIT_TITLE,
    CERTIFICATE_TITLE,
    CIVIL_SERVANT_TITLE,
    SCORE_TITLE,
    NoticeSite,
)

CONTACT = "mailto:ops@example.com"
LIST_SELECTOR = "ul.list li"
NOTICE_PATTERN = r"/zwgk/tzgg/\d{6}/t\d{8}_\d+\.html$"


@pytest.fixture
async def site() -> AsyncIterator[NoticeSite]:
    async with NoticeSite() as served:
        yield served


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(contact=CONTACT) as opened:
        yield opened


async def _list(site: NoticeSite, fetcher: Fetcher, selector: str = LIST_SELECTOR) -> list[Notice]:
    fetched = await fetcher.fetch(site.url(site.LIST))
    assert fetched.ok and fetched.text is not None
    return page_notices(fetched.text, fetched.final_url, kind="html", selector=selector)


# -- fetching ------------------------------------------------------------------------------


async def test_gbk_page_declared_gb2312_is_decoded(site: NoticeSite, fetcher: Fetcher) -> None:
    fetched = await fetcher.fetch(site.url(site.LIST))
    assert (fetched.status, fetched.error, fetched.retry_after) == (200, None, None)
    assert fetched.ok and not fetched.not_modified
    assert fetched.text is not None
    assert "考试信息_人事考试_山西省人力资源和社会保障厅" in fetched.text
    assert CIVIL_SERVANT_TITLE in fetched.text  # 喆: GBK, not GB2312
    assert "\ufffd" not in fetched.text
    assert fetched.etag and fetched.last_modified
    assert fetched.final_url == site.url(site.LIST)
    async with (
        aiohttp.ClientSession() as raw,
        raw.get(site.url(site.LIST)) as response,
    ):
        assert response.headers["Content-Type"] == "text/html"  # the charset only in <meta>


async def test_list_notices_resolved_titled_dated(site: NoticeSite, fetcher: Fetcher) -> None:
    notices = await _list(site, fetcher)
    assert [n.title for n in notices] == [n.title for n in site.notices]
    first = notices[0]
    assert first == Notice(
        site.url("/rst/zwgk/tzgg/202611/t20261124_123456.html"), SCORE_TITLE, date(2026, 11, 24)
    )
    assert [n.published for n in notices] == [date.fromisoformat(n.day) for n in site.notices]
    assert all(n.url == site.url(s.path) for n, s in zip(notices, site.notices, strict=True))
    assert not any(n.title.endswith("...") for n in notices)


async def test_selector_matching_links_and_link_pattern(site: NoticeSite, fetcher: Fetcher) -> None:
    by_container = await _list(site, fetcher)
    assert await _list(site, fetcher, selector="ul.list li a") == by_container
    fetched = await fetcher.fetch(site.url(site.LIST))
    assert fetched.text is not None
    by_pattern = html_notices(fetched.text, fetched.final_url, link_pattern=NOTICE_PATTERN)
    # The sidebar repeats the first notice: kept once, where it first appears.
    assert by_pattern == by_container
    both = html_notices(
        fetched.text, fetched.final_url, selector=LIST_SELECTOR, link_pattern=r"/202609/"
    )
    assert [n.published for n in both] == [date(2026, 9, 2)]


async def test_without_rules_every_link_counts(site: NoticeSite, fetcher: Fetcher) -> None:
    fetched = await fetcher.fetch(site.url(site.LIST))
    assert fetched.text is not None
    notices = html_notices(fetched.text, fetched.final_url)
    urls = [n.url for n in notices]
    assert len(urls) == len(set(urls))
    titles = [n.title for n in notices]
    assert "首页" in titles and "下一页" in titles and "网站地图" in titles  # noisy
    assert site.url("/rst/") in urls
    assert "无障碍浏览" not in titles  # javascript:
    assert "尾页" not in titles  # "#"
    assert "联系我们" not in titles  # mailto:
    assert all(u.startswith("http://") for u in urls)
    assert titles.index(SCORE_TITLE) < titles.index(CIVIL_SERVANT_TITLE)


async def test_exam_centre_table(site: NoticeSite, fetcher: Fetcher) -> None:
    fetched = await fetcher.fetch(site.url(site.CENTRE))
    assert fetched.text is not None
    notices = page_notices(fetched.text, fetched.final_url, kind="html", selector="table.news tr")
    assert [(n.title, n.published) for n in notices[:2]] == [
        (AUDIT_TITLE, date(2026, 11, 25)),
        (SCORE_TITLE, date(2026, 11, 24)),
    ]
    assert notices[0].url == site.url("/sxpta/tzgg/202611/t20261125_5502.html")
    assert notices[2].url == site.url("/sxpta/tzgg/202611/t20261119_5490.html")
    assert len(notices) == 4


async def test_yangquan_dots_fragment_and_yearless_date(site: NoticeSite, fetcher: Fetcher) -> None:
    fetched = await fetcher.fetch(site.url(site.YANGQUAN))
    assert fetched.text is not None
    notices = html_notices(fetched.text, fetched.final_url, link_pattern=r"/yqrsj/")
    assert notices[0] == Notice(
        site.url("/yqrsj/tzgg/202611/t20261126_301.html"), CERTIFICATE_TITLE, date(2026, 11, 26)
    )
    assert notices[1].url == site.url("/yqrsj/tzgg/202611/t20261124_298.html")  # no #content
    assert notices[1].title == "转发山西省2026年度二级造价工程师职业资格考试成绩公布的通知"
    assert notices[-1].title == "市人社局开展就业创业政策宣讲活动"
    assert notices[-1].published is None  # [11-20]: no year, none guessed


async def test_layout_change_leaves_the_old_selector_empty(
    site: NoticeSite, fetcher: Fetcher
) -> None:
    site.layout_changed = True
    assert await _list(site, fetcher) == []
    notices = await _list(site, fetcher, selector="div.newsList dl")
    assert (notices[0].title, notices[0].published) == (SCORE_TITLE, date(2026, 11, 24))
    assert len(notices) == len(site.notices)


async def test_new_notice_on_top_and_reordering(site: NoticeSite, fetcher: Fetcher) -> None:
    before = await _list(site, fetcher)
    site.add_notice(AUDIT_TITLE, "2026-11-25")
    after = await _list(site, fetcher)
    assert after[0].title == AUDIT_TITLE and after[0].published == date(2026, 11, 25)
    assert after[1:] == before
    site.reorder([1, 0, *range(2, len(site.notices))])
    reordered = await _list(site, fetcher)
    assert [n.title for n in reordered[:2]] == [SCORE_TITLE, AUDIT_TITLE]
    with pytest.raises(ValueError):
        site.reorder([0, 0])


async def test_etag_gives_304_without_text(site: NoticeSite, fetcher: Fetcher) -> None:
    first = await fetcher.fetch(site.url(site.LIST))
    again = await fetcher.fetch(site.url(site.LIST), etag=first.etag)
    assert again.not_modified and again.status == 304
    assert again.text is None and again.error is None and not again.ok
    assert again.etag == first.etag
    assert again.final_url == site.url(site.LIST)
    sent = site.requests_to(site.LIST)[-1].headers
    assert sent["If-None-Match"] == first.etag
    assert "If-Modified-Since" not in sent

    site.add_notice(AUDIT_TITLE, "2026-11-25")
    changed = await fetcher.fetch(site.url(site.LIST), etag=first.etag)
    assert changed.status == 200 and changed.text is not None
    assert changed.etag != first.etag


async def test_last_modified_gives_304(site: NoticeSite, fetcher: Fetcher) -> None:
    first = await fetcher.fetch(site.url(site.LIST))
    assert first.last_modified is not None
    again = await fetcher.fetch(site.url(site.LIST), last_modified=first.last_modified)
    assert again.not_modified and again.text is None
    assert again.last_modified == first.last_modified
    assert site.requests_to(site.LIST)[-1].headers["If-Modified-Since"] == first.last_modified

    site.layout_changed = True
    changed = await fetcher.fetch(site.url(site.LIST), etag=None, last_modified=first.last_modified)
    assert changed.status == 200 and changed.last_modified != first.last_modified


async def test_a_304_without_validators_keeps_those_sent(
    site: NoticeSite, fetcher: Fetcher
) -> None:
    first = await fetcher.fetch(site.url(site.RSS))
    again = await fetcher.fetch(site.url(site.RSS), etag=first.etag, last_modified="whatever")
    assert again.not_modified
    assert again.last_modified == first.last_modified  # the server sent one


async def test_user_agent_and_headers_sent(site: NoticeSite, fetcher: Fetcher) -> None:
    await fetcher.fetch(site.url(site.LIST))
    (request,) = site.requests_to(site.LIST)
    agent = request.headers["User-Agent"]
    assert agent == fetcher.user_agent == user_agent(CONTACT)
    assert agent.startswith("exam-score-bot-notice-watcher/")
    assert "notice watcher" in agent and CONTACT in agent and ">=10 min" in agent
    assert request.headers["Accept-Language"] == "zh-CN"
    assert "If-None-Match" not in request.headers
    assert "If-Modified-Since" not in request.headers


def test_user_agent_contact_is_sanitised() -> None:
    assert "+" not in USER_AGENT and "notice watcher" in USER_AGENT
    assert user_agent("") == USER_AGENT
    dirty = user_agent("https://ex.org/a b\r\nX-Evil: 1 (x);\u8054\u7cfb")
    assert "\r" not in dirty and "\n" not in dirty and " b" not in dirty
    assert dirty.startswith("exam-score-bot-notice-watcher/1.0 (+https://ex.org/abX-Evil:1x; ")


async def test_503_gives_retry_after(site: NoticeSite, fetcher: Fetcher) -> None:
    fetched = await fetcher.fetch(site.url(site.BUSY))
    assert (fetched.status, fetched.error, fetched.retry_after) == (503, "HTTP 503", 120.0)
    assert fetched.text is None and not fetched.ok and not fetched.not_modified


async def test_429_with_an_http_date(site: NoticeSite, fetcher: Fetcher) -> None:
    fetched = await fetcher.fetch(site.url(site.THROTTLED))
    assert fetched.status == 429 and fetched.error == "HTTP 429"
    assert fetched.retry_after is not None and 80 < fetched.retry_after <= 90


async def test_other_http_errors(site: NoticeSite, fetcher: Fetcher) -> None:
    fetched = await fetcher.fetch(site.url("/rst/no-such-page.html"))
    assert (fetched.status, fetched.error, fetched.text) == (404, "HTTP 404", None)
    assert fetched.retry_after is None


async def test_timeout_gives_status_0(site: NoticeSite) -> None:
    started = time.monotonic()
    async with Fetcher(timeout=0.2) as impatient:
        fetched = await impatient.fetch(site.url(site.SLOW))
    assert (fetched.status, fetched.error, fetched.text) == (0, "timeout", None)
    assert time.monotonic() - started < site.slow_seconds / 2


@pytest.mark.parametrize("path", [NoticeSite.BIG, NoticeSite.BIG_CHUNKED])
async def test_too_large_body_refused(site: NoticeSite, fetcher: Fetcher, path: str) -> None:
    fetched = await fetcher.fetch(site.url(path))
    assert fetched.error == "too large" and fetched.text is None and not fetched.ok


async def test_max_bytes_is_configurable(site: NoticeSite) -> None:
    async with Fetcher(max_bytes=1000) as small:
        fetched = await small.fetch(site.url(site.LIST))
    assert fetched.error == "too large"


async def test_redirect_followed_and_final_url(site: NoticeSite, fetcher: Fetcher) -> None:
    fetched = await fetcher.fetch(site.url(site.MOVED))
    assert fetched.status == 200 and fetched.final_url == site.url(site.LIST)
    assert fetched.text is not None
    notices = page_notices(fetched.text, fetched.final_url, kind="html", selector=LIST_SELECTOR)
    assert notices[0].url == site.url("/rst/zwgk/tzgg/202611/t20261124_123456.html")


async def test_redirect_loop_stops(site: NoticeSite, fetcher: Fetcher) -> None:
    fetched = await fetcher.fetch(site.url(site.LOOP))
    assert (fetched.status, fetched.error) == (0, "too many redirects")
    assert len([r for r in site.requests if r.path.startswith("/loop/")]) <= 6


async def test_connection_refused_and_bad_urls(fetcher: Fetcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = await fetcher.fetch(f"http://127.0.0.1:{port}/index.html")
    assert (refused.status, refused.error) == (0, "connection refused")
    assert refused.final_url == f"http://127.0.0.1:{port}/index.html"
    for url in ("ftp://127.0.0.1/x", "http://[::1/", "not a url"):
        fetched = await fetcher.fetch(url)
        assert fetched.status == 0 and fetched.error and fetched.text is None


async def test_fetch_needs_the_context() -> None:
    with pytest.raises(RuntimeError):
        await Fetcher().fetch("http://127.0.0.1/")


async def test_concurrent_fetches_share_the_session(site: NoticeSite, fetcher: Fetcher) -> None:
    results = await asyncio.gather(
        *(fetcher.fetch(site.url(p)) for p in (site.LIST, site.CENTRE, site.RSS, site.BUSY))
    )
    assert [r.status for r in results] == [200, 200, 200, 503]


# -- feeds -----------------------------------------------------------------------------------


async def test_rss_feed(site: NoticeSite, fetcher: Fetcher) -> None:
    fetched = await fetcher.fetch(site.url(site.RSS))
    assert fetched.text is not None
    notices = page_notices(fetched.text, fetched.final_url, kind="feed")
    assert notices == [
        Notice(
            site.url("/rst/zwgk/tzgg/202611/t20261126_123600.html"),
            CERTIFICATE_TITLE,
            date(2026, 11, 26),
        ),
        # A relative <link>, resolved against the feed's URL; a CDATA title.
        Notice(
            site.url("/rst/zwgk/tzgg/202611/t20261124_123456.html"),
            SCORE_TITLE,
            date(2026, 11, 24),
        ),
        # 16:30 GMT on the 19th is the 20th in Beijing.
        Notice(
            site.url("/rst/zwgk/tzgg/202611/t20261120_123321.html"),
            "关于2026年度一级造价工程师职业资格考试考务工作有关事项的通知",
            date(2026, 11, 20),
        ),
    ]  # the entry without a link is skipped
    only = page_notices(fetched.text, fetched.final_url, kind="feed", link_pattern="t20261126")
    assert [n.title for n in only] == [CERTIFICATE_TITLE]


async def test_atom_feed(site: NoticeSite, fetcher: Fetcher) -> None:
    fetched = await fetcher.fetch(site.url(site.ATOM))
    assert fetched.text is not None
    notices = feed_notices(fetched.text, fetched.final_url)
    assert notices == [
        Notice(site.url("/sxpta/tzgg/202611/t20261125_5502.html"), AUDIT_TITLE, date(2026, 11, 25)),
        # Only <updated>, in UTC: 22:30 on the 23rd is the 24th in Beijing.
        Notice(site.url("/sxpta/tzgg/202611/t20261124_5501.html"), SCORE_TITLE, date(2026, 11, 24)),
    ]


def test_feed_with_a_gbk_declaration_already_decoded() -> None:
    rss = (
        '<?xml version="1.0" encoding="gb2312"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{CIVIL_SERVANT_TITLE}</title><link>http://x.cn/a.html</link>"
        "<pubDate>24 Nov 2026</pubDate></item></channel></rss>"
    )
    (notice,) = feed_notices(rss, "http://x.cn/rss.xml")
    assert notice.title == CIVIL_SERVANT_TITLE


def test_not_a_feed_gives_nothing() -> None:
    assert feed_notices("<html><body><a href='/x'>x</a></body></html>", "http://x.cn/") == []
    assert feed_notices("/etc/passwd", "http://x.cn/") == []  # never opened as a file
    assert feed_notices("", "http://x.cn/") == []


# -- parsing details ---------------------------------------------------------------------------

BASE = "http://rst.shanxi.gov.cn/rsks/ksxx/index.html"


def _one(html: str, **rules: str) -> Notice:
    (notice,) = html_notices(html, BASE, **rules)
    return notice


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ("2026-11-24", date(2026, 11, 24)),
        ("2026/11/24", date(2026, 11, 24)),
        ("2026.11.24", date(2026, 11, 24)),
        ("2026年11月24日", date(2026, 11, 24)),
        ("2026-1-5", date(2026, 1, 5)),
        ("[2026-11-24]", date(2026, 11, 24)),
        ("（2026-11-24）", date(2026, 11, 24)),
        ("发布时间：2026-11-24 10:30:00", date(2026, 11, 24)),
        ("[11-24]", None),
        ("11月24日", None),
        ("2026-13-45", None),
        ("", None),
    ],
)
def test_date_formats(shown: str, expected: date | None) -> None:
    html = f'<ul class="list"><li><a href="a.html">通知</a><span>{shown}</span></li></ul>'
    assert _one(html, selector="ul.list li").published == expected


def test_date_inside_the_link_is_not_in_the_title() -> None:
    html = (
        '<div class="l"><a href="/t/1.html"><span class="t">关于2026年度二级造价工程师'
        '资格审核有关事项的通知</span><span class="d">2026-11-25</span></a></div>'
    )
    notice = _one(html, selector="div.l a")
    assert notice.title == AUDIT_TITLE
    assert notice.published == date(2026, 11, 25)


def test_date_in_a_title_is_kept() -> None:
    html = '<ul><li><a href="/t/1.html"><b>2026年11月24日考试安排</b></a></li></ul>'
    notice = _one(html, selector="li")
    assert notice.title == "2026年11月24日考试安排"
    assert notice.published is None  # a date in the title is not the publication date


def test_bare_list_takes_the_date_after_each_link() -> None:
    html = (
        '<div class="list"><a href="1.html">第一条通知</a><span>2026-11-24</span><br>'
        '<a href="2.html">第二条通知</a><span>2026-11-20</span><br>'
        '<a href="3.html">第三条通知</a><br></div>'
    )
    notices = html_notices(html, BASE, selector="div.list a")
    assert [n.published for n in notices] == [date(2026, 11, 24), date(2026, 11, 20), None]
    assert notices[0].url == "http://rst.shanxi.gov.cn/rsks/ksxx/1.html"


def test_a_summary_date_loses_to_the_date_element() -> None:
    html = (
        '<ul><li><a href="a.html">关于报名的通知</a><p>报名时间为2026年12月1日至12月10日。</p>'
        "<span>2026-11-24</span></li></ul>"
    )
    assert _one(html, selector="li").published == date(2026, 11, 24)


def test_title_attribute_rules() -> None:
    cut = '<a href="a.html" title="{full}">{text}</a>'
    full = SCORE_TITLE
    assert _one(cut.format(full=full, text=full[:20] + "...")).title == full
    assert _one(cut.format(full=full, text=full[:25] + "…")).title == full
    # Same length as the full title once "..." is added: still the attribute.
    assert _one(cut.format(full=full, text=full[:-3] + "...")).title == full
    # A generic attribute does not replace the real title.
    assert _one(cut.format(full="点击查看详细内容", text="成绩公布")).title == "成绩公布"
    assert _one(cut.format(full=full, text="")).title == full
    spaced = _one('<a href="a.html">\n  关于\u30002026年度\xa0考试\t的通知 </a>')
    assert spaced.title == "关于 2026年度 考试 的通知"


def test_skipped_links_dedupe_and_order() -> None:
    html = """
    <ul>
      <li><a href="javascript:void(0)">脚本</a></li>
      <li><a href="mailto:a@b.cn">邮件</a></li>
      <li><a href="#top">顶部</a></li>
      <li><a href="">空</a></li>
      <li><a href="b.html"> </a></li>
      <li><a href="c.html#p2">第三条</a></li>
      <li><a href="d.html">第四条</a></li>
      <li><a href="c.html">第三条重复</a></li>
      <li><a href="tel:0351">电话</a></li>
    </ul>"""
    notices = html_notices(html, BASE)
    assert [n.title for n in notices] == ["第三条", "第四条"]
    assert notices[0].url == "http://rst.shanxi.gov.cn/rsks/ksxx/c.html"


def test_base_href_and_xhtml_declaration() -> None:
    html = (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
        '<head><base href="http://www.sxpta.cn/tzgg/"/></head>'
        '<body><a href="202611/t1.html">通知</a></body></html>'
    )
    assert _one(html).url == "http://www.sxpta.cn/tzgg/202611/t1.html"


def test_container_first_link_matching_the_pattern() -> None:
    html = (
        '<ul class="l"><li><a href="/col/">栏目</a> <a href="/tzgg/t1.html">通知一</a></li>'
        '<li><a href="/col/">栏目</a></li></ul>'
    )
    notices = html_notices(html, BASE, selector="ul.l li", link_pattern=r"/tzgg/")
    assert [(n.title, n.url) for n in notices] == [
        ("通知一", "http://rst.shanxi.gov.cn/tzgg/t1.html")
    ]


def test_text_that_is_not_html() -> None:
    assert html_notices("", BASE) == []
    assert html_notices("index.html", BASE) == []
    assert html_notices("http://example.com/page.html", BASE) == []


def test_bad_rules_are_reported() -> None:
    assert check_selector("ul.list li") is None
    assert check_selector("div.newsList > dl:nth-of-type(2) a[href$='.html']") is None
    for bad in ("ul..list", "li[", "a:nonsense", "", "  "):
        problem = check_selector(bad)
        assert problem and ("selector" in problem), bad
    assert check_pattern(NOTICE_PATTERN) is None
    problem = check_pattern("t(2026")
    assert problem and "t(2026" in problem and "link pattern" in problem
    assert check_pattern("")
    with pytest.raises(ValueError, match="CSS selector"):
        html_notices("<a href='x'>x</a>", BASE, selector="ul..list")
    with pytest.raises(ValueError, match="link pattern"):
        page_notices("<a href='x'>x</a>", BASE, kind="html", link_pattern="[")
    with pytest.raises(ValueError, match="link pattern"):
        page_notices("<rss/>", BASE, kind="feed", link_pattern="(")
    with pytest.raises(ValueError, match="kind"):
        page_notices("", BASE, kind="pdf")  # type: ignore[arg-type]


# -- decoding --------------------------------------------------------------------------------

TEXT = "山西省2026年度二级造价工程师职业资格考试成绩公布，" + CIVIL_SERVANT_TITLE


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html; charset=gb2312",
        "text/html; charset=GBK",
        'text/html;charset="x-gbk"',
        "text/html; charset=GB18030",
    ],
)
def test_decode_header_charset(content_type: str) -> None:
    assert decode(TEXT.encode("gb18030"), content_type) == TEXT


@pytest.mark.parametrize(
    "head",
    [
        '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">',
        "<META HTTP-EQUIV='content-type' CONTENT='text/html;charset=GB2312'/>",
        '<meta charset="gbk">',
        "<meta charset=gb2312>",
        '<?xml version="1.0" encoding="GB2312"?>',
    ],
)
def test_decode_declared_in_the_page(head: str) -> None:
    page = f"{head}<title>{TEXT}</title>"
    assert decode(page.encode("gbk"), "text/html") == page


def test_decode_bom_wins_and_utf16() -> None:
    assert decode(b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "text/html; charset=gbk") == TEXT
    assert decode(TEXT.encode("utf-16"), None) == TEXT
    assert decode(TEXT.encode("utf-32"), None) == TEXT


def test_decode_without_any_declaration() -> None:
    assert decode(TEXT.encode("utf-8"), None) == TEXT
    assert decode(b"<html>plain ascii</html>", "text/html") == "<html>plain ascii</html>"
    long_gbk = ("<p>" + TEXT + "。请考生按时参加资格审核，逾期不予受理。</p>\n") * 5
    assert decode(long_gbk.encode("gbk"), "text/html") == long_gbk


def test_decode_unknown_charset_falls_through() -> None:
    page = f'<meta charset="gbk">{TEXT}'
    assert decode(page.encode("gbk"), "text/html; charset=klingon") == page


def test_decode_never_raises() -> None:
    junk = bytes(range(256)) * 3
    for content_type in (None, "text/html; charset=utf-8", "text/html; charset=gb2312", ";;"):
        assert isinstance(decode(junk, content_type), str)
    assert decode(b"", None) == ""
    assert decode(b'<meta charset="utf-16">abc', None) == '<meta charset="utf-16">abc'


# -- back-off --------------------------------------------------------------------------------


def test_backoff() -> None:
    interval = 600.0
    assert backoff(0, None, interval) == interval
    assert backoff(-3, None, interval) == interval
    assert [backoff(n, None, interval) for n in range(1, 4)] == [1200.0, 2400.0, 4800.0]
    assert backoff(6, None, interval) == MAX_BACKOFF
    assert backoff(10_000, None, interval) == MAX_BACKOFF
    assert backoff(3, None, 7 * 86400.0) == 7 * 86400.0  # never shorter than the interval
    assert backoff(0, 3600.0, interval) == 3600.0  # Retry-After honoured
    assert backoff(0, 60.0, interval) == interval  # but no sooner than the interval
    assert backoff(2, 60.0, interval) == 2400.0
    assert backoff(0, 10 * 86400.0, interval) == MAX_RETRY_AFTER
    assert backoff(0, math.nan, interval) == interval
    assert backoff(0, -5.0, interval) == interval


def test_parse_retry_after() -> None:
    now = 1_795_478_400.0
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 30 ") == 30.0
    assert parse_retry_after(email.utils.formatdate(now + 90, usegmt=True), now=now) == 90.0
    assert parse_retry_after(email.utils.formatdate(now - 90, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None


def test_fetched_properties() -> None:
    fetched = Fetched(304, None, '"e"', None, None, None, "http://x.cn/")
    assert fetched.not_modified and not fetched.ok
    with pytest.raises(AttributeError):
        fetched.status = 200  # type: ignore[misc]
