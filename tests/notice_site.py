"""A local stand-in for the official notice lists the watcher reads (bot/watch).

Serves, on 127.0.0.1 and a free port, pages in the style of Shanxi's government sites:

- :data:`NoticeSite.LIST`: the 人社厅 人事考试 column, GBK bytes declaring gb2312 in a
  ``<meta http-equiv>`` only (no charset in the HTTP header), relative links
  (``../../zwgk/tzgg/202611/t20261124_123456.html``), link texts cut to "..." with the full
  title in ``title=``, dates in a ``<span>`` after the link, plus menus, a javascript: link, a
  ``#`` link, a mailto: link, pagination and a sidebar repeating a notice. It honours
  If-None-Match and If-Modified-Since (304). Its notices are :attr:`NoticeSite.notices`:
  :meth:`add_notice` puts one at the top, :meth:`reorder` reorders them, and
  :attr:`layout_changed` serves a redesigned page where ``ul.list li`` finds nothing.
- :data:`CENTRE`: the personnel exam centre's list, a table, UTF-8 declared in the header,
  dates like 2026/11/24. :data:`YANGQUAN`: Yangquan's 人社局, ``<meta charset>``, dates like
  2026.11.24 and a sidebar with dates without a year ([11-20]).
- :data:`RSS` (RSS 2.0, UTF-8) and :data:`ATOM` feeds.
- :data:`BUSY` (503 with Retry-After in seconds), :data:`THROTTLED` (429 with an HTTP-date),
  :data:`SLOW` (answers after :attr:`slow_seconds`), :data:`BIG` and :data:`BIG_CHUNKED`
  (3 MiB, with and without Content-Length), :data:`MOVED` (a redirect to the list),
  :data:`LOOP` (endless redirects); anything else is a 404.

Every request is recorded (method, path, headers) in :attr:`NoticeSite.requests`.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import posixpath
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Self

from aiohttp import web
from multidict import CIMultiDict

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SCORE_TITLE = "山西省2026年度二级造价工程师职业资格考试成绩公布及合格标准的通知"
AUDIT_TITLE = "关于2026年度二级造价工程师资格审核有关事项的通知"
CERTIFICATE_TITLE = "二级造价工程师证书领取通知"
# 喆 is in GBK but not in GB2312: decoding the list page as gb2312 would lose it.
CIVIL_SERVANT_TITLE = "关于张喆等12名同志拟录用为公务员的公示"
TRUNCATE_AT = 22  # characters of a title shown as link text before "..."
BIG_SIZE = 3 * 1024 * 1024
LAST_MODIFIED_BASE = 1795478400  # 2026-11-24 00:00:00 GMT; each change adds a minute


@dataclass
class SiteNotice:
    """One entry of the main list: its title, the date shown, its path on the site."""

    title: str
    day: str  # as the site writes it: 2026-11-24
    path: str  # absolute path, e.g. /rst/zwgk/tzgg/202611/t20261124_123456.html


@dataclass
class Recorded:
    """A request the site received."""

    method: str
    path: str
    headers: CIMultiDict[str]


def _initial_notices() -> list[SiteNotice]:
    tzgg = "/rst/zwgk/tzgg"
    return [
        SiteNotice(SCORE_TITLE, "2026-11-24", f"{tzgg}/202611/t20261124_123456.html"),
        SiteNotice(
            "关于2026年度一级造价工程师职业资格考试考务工作有关事项的通知",
            "2026-11-20",
            f"{tzgg}/202611/t20261120_123321.html",
        ),
        SiteNotice(CIVIL_SERVANT_TITLE, "2026-11-18", f"{tzgg}/202611/t20261118_123207.html"),
        SiteNotice(
            "关于2026年度二级建造师执业资格考试成绩查询及合格标准的通知",
            "2026-11-12",
            f"{tzgg}/202611/t20261112_122980.html",
        ),
        SiteNotice(
            "山西省2026年度考试录用公务员面试工作安排的公告",
            "2026-11-05",
            f"{tzgg}/202611/t20261105_122714.html",
        ),
        SiteNotice(
            "关于做好2026年度二级造价工程师职业资格考试考务工作的通知",
            "2026-09-02",
            f"{tzgg}/202609/t20260902_119863.html",
        ),
    ]


def _short(title: str) -> str:
    return title if len(title) <= TRUNCATE_AT else title[:TRUNCATE_AT] + "..."


@dataclass
class NoticeSite:
    """The test site; ``async with NoticeSite() as site`` serves it until the block ends."""

    LIST = "/rst/rsks/ksxx/index.html"
    CENTRE = "/sxpta/tzgg/index.html"
    YANGQUAN = "/yqrsj/tzgg/index.html"
    RSS = "/rst/rss/rsks.xml"
    ATOM = "/sxpta/atom.xml"
    BUSY = "/busy"
    THROTTLED = "/throttled"
    SLOW = "/slow"
    BIG = "/big"
    BIG_CHUNKED = "/big-chunked"
    MOVED = "/rst/ksxx"
    LOOP = "/loop/0"

    host: str = "127.0.0.1"
    port: int = 0
    notices: list[SiteNotice] = field(default_factory=_initial_notices)
    requests: list[Recorded] = field(default_factory=list)
    conditional: bool = True  # honour If-None-Match / If-Modified-Since on LIST and feeds
    slow_seconds: float = 5.0
    retry_after: str = "120"  # what BUSY sends
    version: int = 0  # bumped on every change of LIST (its Last-Modified follows it)
    _layout_changed: bool = False
    _runner: web.AppRunner | None = None
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    # -- state -------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this site."""
        return f"http://{self.host}:{self.port}{path}"

    def add_notice(self, title: str, day: str, path: str | None = None) -> SiteNotice:
        """Publish a notice at the top of LIST (a path is made up when none is given)."""
        if path is None:
            compact = day.replace("-", "")
            path = f"/rst/zwgk/tzgg/{compact[:6]}/t{compact}_{130000 + len(self.notices)}.html"
        notice = SiteNotice(title, day, path)
        self.notices.insert(0, notice)
        self.version += 1
        return notice

    def reorder(self, order: Sequence[int]) -> None:
        """Show the notices in ``order`` (indexes into the current list, each once)."""
        if sorted(order) != list(range(len(self.notices))):
            raise ValueError(f"not a permutation of 0..{len(self.notices) - 1}: {order}")
        self.notices = [self.notices[i] for i in order]
        self.version += 1

    @property
    def layout_changed(self) -> bool:
        """LIST is served in its redesigned markup (``div.newsList dl``, no ``ul.list``)."""
        return self._layout_changed

    @layout_changed.setter
    def layout_changed(self, value: bool) -> None:
        self._layout_changed = value
        self.version += 1

    def requests_to(self, path: str) -> list[Recorded]:
        """The requests received for ``path``, oldest first."""
        return [r for r in self.requests if r.path == path]

    # -- serving -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        app = web.Application(middlewares=[self._record])
        app.router.add_get(self.LIST, self._list)
        app.router.add_get(self.CENTRE, self._centre)
        app.router.add_get(self.YANGQUAN, self._yangquan)
        app.router.add_get(self.RSS, self._rss)
        app.router.add_get(self.ATOM, self._atom)
        app.router.add_get(self.BUSY, self._busy)
        app.router.add_get(self.THROTTLED, self._throttled)
        app.router.add_get(self.SLOW, self._slow)
        app.router.add_get(self.BIG, self._big)
        app.router.add_get(self.BIG_CHUNKED, self._big_chunked)
        app.router.add_get(self.MOVED, self._moved)
        app.router.add_get("/loop/{n}", self._loop)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(Recorded(request.method, request.path, CIMultiDict(request.headers)))
        return await handler(request)

    def _last_modified(self) -> int:
        return LAST_MODIFIED_BASE + 60 * self.version

    def _conditional(
        self, request: web.Request, body: bytes, content_type: str, modified: int
    ) -> web.Response:
        """``body``, or 304 when the request's validators still match it."""
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        headers = {
            "ETag": etag,
            "Last-Modified": email.utils.formatdate(modified, usegmt=True),
        }
        if self.conditional:
            if_none_match = request.headers.get("If-None-Match")
            if_modified_since = request.headers.get("If-Modified-Since")
            if if_none_match is not None:  # takes precedence over If-Modified-Since
                if etag in [tag.strip() for tag in if_none_match.split(",")]:
                    return web.Response(status=304, headers=headers)
            elif if_modified_since is not None:
                with contextlib.suppress(TypeError, ValueError):
                    since = email.utils.parsedate_to_datetime(if_modified_since).timestamp()
                    if modified <= since:
                        return web.Response(status=304, headers=headers)
        headers["Content-Type"] = content_type
        return web.Response(body=body, headers=headers)

    async def _list(self, request: web.Request) -> web.Response:
        html = self._redesigned_html() if self._layout_changed else self._list_html()
        # GBK bytes, the charset only in the page's <meta>, as these sites do.
        return self._conditional(request, html.encode("gbk"), "text/html", self._last_modified())

    def _relative(self, path: str) -> str:
        return posixpath.relpath(path, posixpath.dirname(self.LIST))

    def _list_html(self) -> str:
        items = "\n".join(
            f'<li><a href="{self._relative(n.path)}" target="_blank" title="{escape(n.title)}">'
            f"{escape(_short(n.title))}</a><span>{n.day}</span></li>"
            for n in self.notices
        )
        hot = self.notices[0] if self.notices else None
        sidebar = (
            f'<li><a href="{self._relative(hot.path)}">{escape(_short(hot.title))}</a></li>'
            if hot
            else ""
        )
        return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
 "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />
<meta name="SiteName" content="山西省人力资源和社会保障厅" />
<meta name="ColumnName" content="考试信息" />
<title>考试信息_人事考试_山西省人力资源和社会保障厅</title>
<script type="text/javascript">var createPageHTML = "2020-01-01"; // 翻页</script>
</head>
<body>
<div class="top">
  <a href="../../">首页</a> | <a href="../../zwgk/">政务公开</a> |
  <a href="../../bsfw/">办事服务</a> | <a href="javascript:void(0)" id="wza">无障碍浏览</a>
</div>
<div class="position">当前位置：<a href="../../">首页</a> &gt; <a href="../">人事考试</a>
  &gt; 考试信息</div>
<div class="main">
 <div class="list-box">
  <ul class="list">
{items}
  </ul>
  <div class="page">共1页 当前第1页 <a href="index_1.html">下一页</a> <a href="#">尾页</a></div>
 </div>
 <div class="side"><h3>热点关注</h3><ul>{sidebar}</ul></div>
</div>
<div class="footer">
  <a href="mailto:sxrst@shanxi.gov.cn">联系我们</a> <a href="../../wzdt/">网站地图</a>
  主办单位：山西省人力资源和社会保障厅 晋ICP备05001891号
</div>
</body>
</html>
"""

    def _redesigned_html(self) -> str:
        items = "\n".join(
            f'<dl><dt><a href="{self._relative(n.path)}" title="{escape(n.title)}">'
            f"{escape(_short(n.title))}</a></dt>"
            f'<dd class="date">{_chinese_date(n.day)}</dd></dl>'
            for n in self.notices
        )
        return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>考试信息-山西省人力资源和社会保障厅</title></head>
<body>
<nav><a href="../../">首页</a><a href="../../zwgk/">政务公开</a></nav>
<div class="newsList">
{items}
</div>
<div class="pagination"><a href="index_1.html">下一页</a></div>
</body>
</html>
"""

    async def _centre(self, request: web.Request) -> web.Response:
        rows = [
            ("./202611/t20261125_5502.html", AUDIT_TITLE, "2026/11/25", False),
            ("./202611/t20261124_5501.html", SCORE_TITLE, "2026/11/24", True),
            (
                "/sxpta/tzgg/202611/t20261119_5490.html",
                "关于2026年度一级造价工程师职业资格考试合格人员名单的公示",
                "2026/11/19",
                False,
            ),
            (
                "./202611/t20261110_5471.html",
                "山西省2026年度二级建造师执业资格考试合格人员公示",
                "2026/11/10",
                False,
            ),
        ]
        body = "\n".join(
            f'<tr><td class="tit"><a href="{href}" title="{escape(title)}" target="_blank">'
            f"{escape(_short(title))}"
            + ('<img src="/sxpta/images/new.gif" alt="" />' if new else "")
            + f'</a></td><td class="time">{day}</td></tr>'
            for href, title, day, new in rows
        )
        html = f"""<!DOCTYPE html>
<html><head><title>通知公告 - 山西省人事考试中心</title></head>
<body>
<div class="menu"><a href="/sxpta/">首页</a><a href="/sxpta/tzgg/">通知公告</a>
<a href="/sxpta/cjcx/">成绩查询</a></div>
<table class="news" width="100%">
<tbody>
{body}
</tbody>
</table>
<div class="page"><a href="javascript:goPage(2)">下一页</a></div>
</body></html>
"""
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    async def _yangquan(self, request: web.Request) -> web.Response:
        html = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>通知公告_阳泉市人力资源和社会保障局</title></head>
<body>
<div class="news-list"><ul>
<li><a href="/yqrsj/tzgg/202611/t20261126_301.html"
  title="{escape(CERTIFICATE_TITLE)}">{escape(CERTIFICATE_TITLE)}</a>
  <span class="date">2026.11.26</span></li>
<li><a href="/yqrsj/tzgg/202611/t20261124_298.html#content"
  title="转发山西省2026年度二级造价工程师职业资格考试成绩公布的通知"
  >转发山西省2026年度二级造价工程师职业资格考试...</a>
  <span class="date">2026.11.24</span></li>
<li><a href="/yqrsj/tzgg/202611/t20261116_290.html"
  >阳泉市2026年度事业单位公开招聘工作人员笔试成绩公告</a>
  <span class="date">2026.11.16</span></li>
</ul></div>
<div class="side"><h4>最新动态</h4><ul>
<li><a href="/yqrsj/gzdt/202611/t20261120_295.html">市人社局开展就业创业政策宣讲活动</a>
  <em>[11-20]</em></li>
</ul></div>
</body></html>
"""
        return web.Response(body=html.encode("utf-8"), content_type="text/html")

    async def _rss(self, request: web.Request) -> web.Response:
        base = self.url("")
        xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
<title>人事考试 - 山西省人力资源和社会保障厅</title>
<link>{base}/rst/rsks/</link>
<description>人事考试信息</description>
<item>
<title>{CERTIFICATE_TITLE}</title>
<link>{base}/rst/zwgk/tzgg/202611/t20261126_123600.html</link>
<pubDate>Thu, 26 Nov 2026 09:00:00 +0800</pubDate>
</item>
<item>
<title><![CDATA[{SCORE_TITLE}]]></title>
<link>../zwgk/tzgg/202611/t20261124_123456.html</link>
<pubDate>Tue, 24 Nov 2026 07:30:00 +0800</pubDate>
</item>
<item>
<title>关于2026年度一级造价工程师职业资格考试考务工作有关事项的通知</title>
<link>{base}/rst/zwgk/tzgg/202611/t20261120_123321.html</link>
<pubDate>Thu, 19 Nov 2026 16:30:00 GMT</pubDate>
</item>
<item><title>没有链接的条目</title><pubDate>Wed, 18 Nov 2026 08:00:00 +0800</pubDate></item>
</channel>
</rss>
"""
        return self._conditional(
            request, xml.encode("utf-8"), "application/rss+xml; charset=utf-8", LAST_MODIFIED_BASE
        )

    async def _atom(self, request: web.Request) -> web.Response:
        xml = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="{self.url("/sxpta/tzgg/")}">
<title>山西省人事考试中心 通知公告</title>
<id>urn:sxpta:tzgg</id>
<updated>2026-11-25T10:00:00+08:00</updated>
<entry>
<title type="html">{escape(AUDIT_TITLE)}</title>
<link rel="alternate" href="202611/t20261125_5502.html"/>
<id>urn:sxpta:5502</id>
<published>2026-11-25T08:00:00+08:00</published>
<updated>2026-11-25T10:00:00+08:00</updated>
</entry>
<entry>
<title>{SCORE_TITLE}</title>
<link href="202611/t20261124_5501.html"/>
<id>urn:sxpta:5501</id>
<updated>2026-11-23T22:30:00Z</updated>
</entry>
</feed>
"""
        return self._conditional(
            request, xml.encode("utf-8"), "application/atom+xml", LAST_MODIFIED_BASE
        )

    async def _busy(self, request: web.Request) -> web.Response:
        return web.Response(
            status=503,
            text="<html><body>系统繁忙，请稍后再试</body></html>",
            content_type="text/html",
            headers={"Retry-After": self.retry_after},
        )

    async def _throttled(self, request: web.Request) -> web.Response:
        when = email.utils.formatdate(time.time() + 90, usegmt=True)
        return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": when})

    async def _slow(self, request: web.Request) -> web.Response:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), self.slow_seconds)
        return web.Response(text="<html>late</html>", content_type="text/html")

    async def _big(self, request: web.Request) -> web.Response:
        return web.Response(body=b"<html>" + b"x" * BIG_SIZE, content_type="text/html")

    async def _big_chunked(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"y" * 65536
        with contextlib.suppress(ConnectionError):
            for _ in range(BIG_SIZE // len(chunk)):
                await response.write(chunk)
            await response.write_eof()
        return response

    async def _moved(self, request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(self.LIST)

    async def _loop(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/loop/{int(request.match_info['n']) + 1}")


def _chinese_date(day: str) -> str:
    year, month, date = day.split("-")
    return f"{year}年{int(month)}月{int(date)}日"
