"""Typed shape of the content files. ``extra="forbid"`` turns a misspelt key into an error."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
# Telegram BotCommand.description is 1-256 characters; menus read best when short.
CommandDescription = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)
]


Weight = Annotated[float, Field(gt=0, le=10)]
Factor = Annotated[float, Field(gt=0, le=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopicModel(_Strict):
    """One guide section or sub-topic; its id is its command name."""

    button: Label
    description: CommandDescription
    messages: list[NonEmpty] = Field(min_length=1, max_length=5)
    related: list[str] = Field(default_factory=list, max_length=8)
    # Free-text matching: phrase -> weight. A question is answered with this topic when the
    # weights of the phrases it contains add up to faq.yaml's min_score.
    keywords: dict[str, Weight] = Field(default_factory=dict)


class GuideFile(_Strict):
    """content/guide.yaml: the main menu and the topics, in /help order."""

    menu: list[list[str]] = Field(min_length=1)
    topics: dict[str, TopicModel] = Field(min_length=1)


class UiTexts(_Strict):
    """Fixed texts of the conversation that are not guide topics."""

    welcome: NonEmpty
    menu_title: NonEmpty
    help_header: NonEmpty
    help_admin_header: NonEmpty
    unknown_command: NonEmpty
    free_text: NonEmpty
    greeting_hello: NonEmpty
    greeting_thanks: NonEmpty
    no_answer: NonEmpty
    did_you_mean: NonEmpty
    unanswered_header: NonEmpty
    unanswered_item: NonEmpty
    unanswered_empty: NonEmpty
    not_admin: NonEmpty
    reload_ok: NonEmpty
    reload_failed: NonEmpty
    stale_button: NonEmpty
    console_bad_choice: NonEmpty
    error: NonEmpty


class ReminderTexts(_Strict):
    """Texts and labels of the reminder feature (ui.yaml, section reminders)."""

    ask_what: NonEmpty
    kind_review: Label
    kind_audit: Label
    kind_certificate: Label
    kind_custom: Label
    ask_text: NonEmpty
    ask_when: NonEmpty
    from_release: Label
    ask_release: NonEmpty
    ask_lead: NonEmpty
    lead_1d: Label
    lead_2h: Label
    lead_both: Label
    lead_0: Label
    cancel: Label
    cancelled: NonEmpty
    saved: NonEmpty
    leads_passed: NonEmpty
    limit: NonEmpty
    bad_time: NonEmpty
    text_too_long: NonEmpty
    list_empty: NonEmpty
    list_header: NonEmpty
    list_item: NonEmpty
    delete: Label
    snooze: Label
    deleted: NonEmpty
    snoozed: NonEmpty
    not_found: NonEmpty
    alert: NonEmpty
    alert_late: NonEmpty
    due_passed: NonEmpty
    left_days: NonEmpty
    left_hours: NonEmpty
    left_minutes: NonEmpty
    release_usage: NonEmpty
    release_result: NonEmpty
    release_approx: NonEmpty
    release_remind: Label
    offer: NonEmpty
    start: Label
    ics_caption: NonEmpty
    ics_empty: NonEmpty
    my_reminders: Label
    weekdays: Annotated[str, StringConstraints(min_length=7, max_length=7)]


class AudienceTexts(_Strict):
    """Texts of subscriptions and statistics (ui.yaml, section audience)."""

    state_on: NonEmpty
    state_off: NonEmpty
    offer: NonEmpty
    btn_yes: Label
    btn_no: Label
    subscribed: NonEmpty
    unsubscribed: NonEmpty
    declined: NonEmpty
    group_admin_only: NonEmpty
    group_subscribed: NonEmpty
    group_unsubscribed: NonEmpty
    stats: NonEmpty


class BroadcastTexts(_Strict):
    """Texts of admin broadcasts (ui.yaml, section broadcast)."""

    usage: NonEmpty
    preview: NonEmpty
    preview_copy: NonEmpty
    scheduled_note: NonEmpty
    aud_all: Label
    aud_users: Label
    aud_groups: Label
    aud_channels: Label
    confirm_ask: NonEmpty
    confirm: Label
    cancel: Label
    dropped: NonEmpty
    scheduled: NonEmpty
    progress: NonEmpty
    done: NonEmpty
    cancelled: NonEmpty
    stop: Label
    not_found: NonEmpty
    list_empty: NonEmpty
    list_header: NonEmpty
    list_item: NonEmpty
    status_queued: Label
    status_scheduled: Label
    status_running: Label
    status_done: Label
    status_cancelled: Label
    eta: NonEmpty
    failure_item: NonEmpty
    bad_time: NonEmpty


class WeChatTexts(_Strict):
    """Texts of the WeChat Official Account channel (ui.yaml, section wechat)."""

    choose: NonEmpty
    more: NonEmpty
    continue_word: NonEmpty
    menu_words: NonEmpty
    menu_names: NonEmpty
    no_more: NonEmpty
    push_note: NonEmpty
    subscribe_note: NonEmpty
    subscribe_done: NonEmpty
    subscribe_cancelled: NonEmpty
    reminders_unavailable: NonEmpty


class DateTexts(_Strict):
    """Why a typed date/time was not accepted (ui.yaml, section dates; see bot.dates.explain).

    The first group are sub-texts the others use; the rest are the refusal codes.
    """

    examples: NonEmpty
    check_date: NonEmpty
    month_day_order: NonEmpty
    hour_label: NonEmpty
    hour_label_half: NonEmpty
    hour_label_minutes: NonEmpty
    empty: NonEmpty
    unrecognised: NonEmpty
    no_such_month: NonEmpty
    no_such_day: NonEmpty
    no_such_day_in_year: NonEmpty
    month_day_past: NonEmpty
    this_month_day_past: NonEmpty
    this_week_day_past: NonEmpty
    day_of_month_past: NonEmpty
    need_hour: NonEmpty
    no_such_hour: NonEmpty
    no_such_minute: NonEmpty
    ambiguous_hour: NonEmpty
    midnight: NonEmpty
    period_hour_mismatch: NonEmpty
    zero_duration: NonEmpty
    time_past_today: NonEmpty
    default_time_past: NonEmpty
    past: NonEmpty
    too_far: NonEmpty


class UiButtons(_Strict):
    """Labels of buttons the code adds by itself."""

    menu: Label


class BuiltinCommands(_Strict):
    """Descriptions of the commands every user has, for /help and setMyCommands."""

    start: CommandDescription
    help: CommandDescription
    menu: CommandDescription
    remind: CommandDescription
    reminders: CommandDescription
    release: CommandDescription
    ics: CommandDescription
    subscribe: CommandDescription
    unsubscribe: CommandDescription


class AdminCommands(_Strict):
    """Descriptions of admin-only commands, shown in /help to admins."""

    reload: CommandDescription
    unanswered: CommandDescription
    stats: CommandDescription
    broadcast: CommandDescription
    broadcast_at: CommandDescription
    broadcasts: CommandDescription


class UiFile(_Strict):
    """content/ui.yaml."""

    texts: UiTexts
    reminders: ReminderTexts
    audience: AudienceTexts
    broadcast: BroadcastTexts
    wechat: WeChatTexts
    dates: DateTexts
    buttons: UiButtons
    commands: BuiltinCommands
    admin_commands: AdminCommands


class ReviewWindow(_Strict):
    """Working days after score release during which a review may be requested."""

    min: int = Field(ge=1, le=60)
    max: int = Field(ge=1, le=60)

    @model_validator(mode="after")
    def _ordered(self) -> ReviewWindow:
        if self.min > self.max:
            raise ValueError("min must not be greater than max")
        return self


class SettingsFile(_Strict):
    """content/settings.yaml: values that change every year, usable as {placeholders}."""

    review_window_workdays: ReviewWindow
    # Working days from score release to the review deadline used by /release; None: the
    # window's minimum (the earliest the deadline can be, so nobody is reminded too late).
    review_deadline_workdays: int | None = Field(default=None, ge=1, le=60)
    # The official release date once announced: /release without a date uses it.
    score_release_date: date | None = None
    values: dict[str, str | int] = Field(default_factory=dict)


class FaqFile(_Strict):
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


class YearHolidays(_Strict):
    """One year's official arrangement: days off (ranges allowed) and working weekends."""

    holidays: list[str] = Field(default_factory=list)
    workdays: list[str] = Field(default_factory=list)


class HolidaysFile(_Strict):
    """content/holidays.yaml: arrangements for years the holiday library does not cover."""

    years: dict[int, YearHolidays] = Field(default_factory=dict)
