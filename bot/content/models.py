"""Typed shape of the content files. ``extra="forbid"`` turns a misspelt key into an error."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    model_validator,
)

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
# Telegram BotCommand.description is 1-256 characters; menus read best when short.
CommandDescription = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)
]


Weight = Annotated[float, Field(gt=0, le=10)]
Factor = Annotated[float, Field(gt=0, le=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopicModel(Strict):
    """One guide section or sub-topic; its id is its command name."""

    button: Label
    description: CommandDescription
    messages: list[NonEmpty] = Field(min_length=1, max_length=5)
    related: list[str] = Field(default_factory=list, max_length=8)
    # Free-text matching: phrase -> weight. A question is answered with this topic when the
    # weights of the phrases it contains add up to faq.yaml's min_score.
    keywords: dict[str, Weight] = Field(default_factory=dict)


class GuideFile(Strict):
    """content/guide.yaml: the main menu and the topics, in /help order."""

    menu: list[list[str]] = Field(min_length=1)
    topics: dict[str, TopicModel] = Field(min_length=1)


class ReviewWindow(Strict):
    """Working days after score release during which a review may be requested."""

    min: int = Field(ge=1, le=60)
    max: int = Field(ge=1, le=60)

    @model_validator(mode="after")
    def _ordered(self) -> ReviewWindow:
        if self.min > self.max:
            raise ValueError("min must not be greater than max")
        return self


class SettingsFile(Strict):
    """content/settings.yaml: values that change every year, usable as {placeholders}."""

    review_window_workdays: ReviewWindow
    # Working days from score release to the review deadline used by /release; None: the
    # window's minimum (the earliest the deadline can be, so nobody is reminded too late).
    review_deadline_workdays: int | None = Field(default=None, ge=1, le=60)
    # The official release date once announced: /release without a date uses it.
    score_release_date: date | None = None
    values: dict[str, str | int] = Field(default_factory=dict)


class LearnedSettings(Strict):
    """How keywords and the two classifiers are weighed (bot/faq/decide.py ``Weights``).

    Chosen by cross-validation on content/examples.yaml: ``bench/crossval.py``.
    """

    alpha: float = Field(default=0.5, gt=0, le=10)
    temperature: float = Field(default=2.0, gt=0, le=100)
    learned_weight: float = Field(default=2.0, ge=0, le=10)
    keyword_cap: float = Field(default=1.0, gt=0, le=10)
    clear: float = Field(default=0.5, ge=0, le=1)
    gate: float = Field(default=0.0, ge=-10, le=10)
    keyword_bonus: float = Field(default=0.5, ge=0, le=10)
    topic_bonus: float = Field(default=1.0, ge=0, le=10)
    decline: float = Field(default=-1.0, ge=-10, le=10)
    suggest: float = Field(default=0.15, ge=0, le=1)


class ExamplesFile(RootModel[dict[str, list[NonEmpty]]]):
    """content/examples.yaml: topic or feature id (or out_of_scope) -> example questions."""

    model_config = ConfigDict(frozen=True)


class FaqFile(Strict):
    """content/faq.yaml: how free-text questions are matched (keywords live with topics)."""

    min_score: float = Field(default=1.0, gt=0, le=10)
    pinyin_factor: Factor = 0.9
    fuzzy_factor: Factor = 0.7
    text_weight: float = Field(default=0.0, ge=0, le=10)
    alternatives: int = Field(default=3, ge=0, le=3)
    in_scope: list[NonEmpty] = Field(default_factory=list)
    out_of_scope: list[NonEmpty] = Field(default_factory=list)
    greetings: dict[Literal["hello", "thanks"], list[NonEmpty]] = Field(default_factory=dict)
    # Keywords of the bot's own features (topic ids from DESIGN.md), answered with an entry.
    features: dict[Literal["remind"], dict[str, Weight]] = Field(default_factory=dict)
    learned: LearnedSettings = Field(default_factory=LearnedSettings)
    # Words that mean the same here: canonical word -> other ways people say it.
    synonyms: dict[NonEmpty, list[NonEmpty]] = Field(default_factory=dict)


class YearHolidays(Strict):
    """One year's official arrangement: days off (ranges allowed) and working weekends."""

    holidays: list[str] = Field(default_factory=list)
    workdays: list[str] = Field(default_factory=list)


class HolidaysFile(Strict):
    """content/holidays.yaml: arrangements for years the holiday library does not cover."""

    years: dict[int, YearHolidays] = Field(default_factory=dict)
