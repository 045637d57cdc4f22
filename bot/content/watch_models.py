"""content/watch.yaml: the official pages the notice watcher checks (bot/watch), optional.

Which links count as notices is site-specific (a CSS selector or a link pattern); the operator
must check them against the live sites. A notice is relevant when its title contains one of
``keywords`` and none of ``exclude``; ``categories`` say what it is about, which decides the
follow-up buttons its announcement carries.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from bot.content.models import Label, NonEmpty, Strict

PageId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/$.?#][^\s]*$", max_length=500)]
Word = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
# What a notice may be about, in the order they are tried (the first whose words match wins).
Category = Literal["score_release", "review", "audit", "certificate", "continuing"]
MIN_INTERVAL = 10  # minutes: politeness towards government sites


class WatchedPage(Strict):
    """One notice list (HTML) or feed (RSS/Atom)."""

    id: PageId
    name: Label
    url: Url
    kind: Literal["html", "feed"] = "html"
    # HTML: the elements that are notices (links, or list items whose first link is the
    # notice) and/or a regular expression the notice URLs match. Feeds need neither.
    selector: NonEmpty | None = None
    link_pattern: NonEmpty | None = None
    interval_minutes: int = Field(default=60, ge=MIN_INTERVAL, le=7 * 24 * 60)
    # approve: the admins are told and decide; auto: announced to subscribers at once.
    announce: Literal["approve", "auto"] = "approve"

    @model_validator(mode="after")
    def _html_needs_a_rule(self) -> WatchedPage:
        if self.kind == "html" and not (self.selector or self.link_pattern):
            raise ValueError("an html page needs a selector or a link_pattern")
        return self


class WatchFile(Strict):
    """The whole file."""

    keywords: list[Word] = Field(min_length=1)
    exclude: list[Word] = Field(default_factory=list)
    categories: dict[Category, list[Word]] = Field(default_factory=dict)
    pages: list[WatchedPage] = Field(default_factory=list)
    # Shown in the User-Agent so a site's webmaster can reach the operator (URL or e-mail).
    contact: Annotated[str, StringConstraints(max_length=200)] = ""

    @model_validator(mode="after")
    def _unique_ids(self) -> WatchFile:
        ids = [page.id for page in self.pages]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"page ids used twice: {', '.join(twice)}")
        return self
