"""Typed shape of content/ui.yaml: every fixed text and label, one model per section."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from bot.content.models import CommandDescription, Label, NonEmpty, Strict

# Shown as a pop-up to whoever tapped (Telegram's answerCallbackQuery takes 200 characters).
Alert = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class UiTexts(Strict):
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
    not_admin: Alert
    not_yours: Alert
    flood: Alert
    reload_ok: NonEmpty
    reload_failed: NonEmpty
    stale_button: NonEmpty
    console_bad_choice: NonEmpty
    error: NonEmpty


class ReminderTexts(Strict):
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
    release_result: NonEmpty  # the window's earliest and latest end ({first}, {last})
    release_exact: NonEmpty  # one date, when settings give the official working days
    release_approx: NonEmpty
    release_remind: Label
    offer: NonEmpty
    start: Label
    ics_caption: NonEmpty
    ics_empty: NonEmpty
    my_reminders: Label
    export: Label  # under /reminders: the calendar file (/ics), named without "ics"
    weekdays: Annotated[str, StringConstraints(min_length=7, max_length=7)]
    date_time: NonEmpty
    date_time_year: NonEmpty
    date_only: NonEmpty


class CalendarTexts(Strict):
    """The calendar links of /ics and what the feed says (ui.yaml, section calendar)."""

    links: NonEmpty  # {feed} {webcal} {download} {hours}
    howto: NonEmpty  # iPhone, Android, WeChat's "在浏览器打开"
    empty_note: NonEmpty
    private_only: NonEmpty
    usage: NonEmpty
    reset_button: Label
    reset_ask: NonEmpty
    reset_confirm: Label
    reset_done: NonEmpty
    no_link: NonEmpty  # without BOT_PUBLIC_URL, under the calendar file
    calendar_name: Label  # the feed's name in calendar apps
    event_description: NonEmpty  # {what} {due}
    event_topic: NonEmpty  # {command}


class AudienceTexts(Strict):
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
    # Typed questions about the features ("成绩出来能通知我吗", "别发了"): an offer to confirm.
    ask_subscribe: NonEmpty
    ask_unsubscribe: NonEmpty
    btn_unsubscribe: Label
    ask_group: NonEmpty


class BroadcastTexts(Strict):
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
    unsure_note: NonEmpty
    bad_time: NonEmpty


class WeChatTexts(Strict):
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
    subscribe_refused: NonEmpty
    reminders_unavailable: NonEmpty
    calendar_words: NonEmpty  # typed words that mean /ics


class DateTexts(Strict):
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
    month_day_last_year: NonEmpty
    this_month_day_past: NonEmpty
    this_week_day_past: NonEmpty
    weekday_today_past: NonEmpty
    weekday_mismatch: NonEmpty
    vague: NonEmpty
    need_hour: NonEmpty
    no_such_hour: NonEmpty
    no_such_minute: NonEmpty
    ambiguous_hour: NonEmpty
    midnight: NonEmpty
    period_hour_mismatch: NonEmpty
    zero_duration: NonEmpty
    time_past_today: NonEmpty
    past_today_offer: NonEmpty
    default_time_past: NonEmpty
    past: NonEmpty
    too_far: NonEmpty


class TeachTexts(Strict):
    """One-tap teaching in /unanswered (ui.yaml, section teach)."""

    page: NonEmpty
    votes: NonEmpty
    vote_item: NonEmpty
    other_topics: Label
    out_of_scope: Label
    next_page: Label
    more: NonEmpty
    pick: NonEmpty
    learned: NonEmpty
    learned_out: NonEmpty
    gone: NonEmpty
    no_topic: NonEmpty
    # The bot's own features, offered as answers like the guide's topics.
    feature_remind: Label
    feature_subscribe: Label
    feature_unsubscribe: Label
    feature_news: Label


class NoticeTexts(Strict):
    """The notice watcher: admins' alerts, announcements' follow-ups, /news (section notices)."""

    alert: NonEmpty
    draft: NonEmpty
    announce: Label
    dismiss: Label
    set_deadline: Label
    ask_deadline: NonEmpty
    deadline_saved: NonEmpty
    dismissed: NonEmpty
    auto_announced: NonEmpty
    gone: NonEmpty
    broken: NonEmpty
    follow_review: Label
    follow_audit: Label
    follow_steps: Label
    follow_certificate: Label
    follow_after: Label
    news: NonEmpty
    news_item: NonEmpty
    news_empty: NonEmpty
    news_offer: NonEmpty
    news_button: Label
    no_date: Label


class ShareTexts(Strict):
    """The bot's profile texts, topic links for admins, inline mode (ui.yaml, section share).

    Lengths are checked again once settings placeholders are filled (bot/content/checks.py).
    """

    # Telegram's "What can this bot do?" box (setMyDescription: 0-512 characters).
    description: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    # The bot's profile page and shared links (setMyShortDescription: 0-120 characters).
    short_description: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    link: NonEmpty
    link_button: Label
    link_usage: NonEmpty
    link_unknown: NonEmpty
    link_unavailable: NonEmpty
    open_button: Label
    inline_cut: NonEmpty


class UiButtons(Strict):
    """Labels of buttons the code adds by itself."""

    menu: Label


class BuiltinCommands(Strict):
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
    news: CommandDescription


class AdminCommands(Strict):
    """Descriptions of admin-only commands, shown in /help to admins."""

    reload: CommandDescription
    unanswered: CommandDescription
    stats: CommandDescription
    broadcast: CommandDescription
    broadcast_at: CommandDescription
    broadcasts: CommandDescription
    link: CommandDescription


class UiFile(Strict):
    """content/ui.yaml."""

    texts: UiTexts
    reminders: ReminderTexts
    calendar: CalendarTexts
    audience: AudienceTexts
    broadcast: BroadcastTexts
    wechat: WeChatTexts
    dates: DateTexts
    teach: TeachTexts
    notices: NoticeTexts
    share: ShareTexts
    buttons: UiButtons
    commands: BuiltinCommands
    admin_commands: AdminCommands
