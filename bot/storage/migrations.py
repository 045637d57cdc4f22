"""The schema, as migrations applied in order (``PRAGMA user_version`` counts them)."""

from __future__ import annotations

# Until schema version 7 a WeChat user was keyed as this base + wechat_users.id, in the same
# integer space as Telegram ids (which reach 2**52, so the two could collide). Only the
# migrations that move those rows to channel 'wechat' use it; nothing else may.
LEGACY_WECHAT_ID_BASE = 10**15
_B = LEGACY_WECHAT_ID_BASE

# Append only: each entry moves the schema from version i to i + 1 (PRAGMA user_version).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE unanswered (
        normalized TEXT PRIMARY KEY,
        example    TEXT NOT NULL,
        count      INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen  TEXT NOT NULL
    );
    CREATE INDEX unanswered_by_count ON unanswered (count DESC, last_seen DESC);
    """,
    # Reminders: a deadline a user cares about, and one alert row per "how early" choice.
    # Times are UTC ISO-8601 strings (sortable). The dispatcher reads alerts in fire_at order
    # from alerts_due and never loads them all.
    """
    CREATE TABLE reminders (
        id         INTEGER PRIMARY KEY,
        user_id    INTEGER NOT NULL,
        chat_id    INTEGER NOT NULL,
        kind       TEXT NOT NULL,
        text       TEXT NOT NULL,
        due_at     TEXT NOT NULL,
        active     INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    );
    CREATE INDEX reminders_by_user ON reminders (user_id, active, due_at);
    CREATE TABLE alerts (
        id          INTEGER PRIMARY KEY,
        reminder_id INTEGER NOT NULL REFERENCES reminders (id) ON DELETE CASCADE,
        fire_at     TEXT NOT NULL,
        lead_min    INTEGER NOT NULL,
        status      TEXT NOT NULL DEFAULT 'pending',
        sent_at     TEXT
    );
    CREATE INDEX alerts_due ON alerts (status, fire_at);
    CREATE INDEX alerts_by_reminder ON alerts (reminder_id);
    """,
    # The audience: every chat the bot knows (from messages and my_chat_member updates),
    # whether it can still post there and whether it wants announcements.
    """
    CREATE TABLE chats (
        chat_id    INTEGER PRIMARY KEY,
        type       TEXT NOT NULL,
        title      TEXT NOT NULL DEFAULT '',
        member     INTEGER NOT NULL DEFAULT 1,
        subscribed INTEGER NOT NULL DEFAULT 0,
        asked      INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX chats_audience ON chats (subscribed, member, type);
    CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    """,
    # Broadcasts and one delivery row per recipient, written before anything is sent, so
    # a restart resumes where it stopped and nobody is sent the same broadcast twice.
    """
    CREATE TABLE broadcasts (
        id            INTEGER PRIMARY KEY,
        admin_id      INTEGER NOT NULL,
        audience      TEXT NOT NULL,
        kind          TEXT NOT NULL,
        text          TEXT NOT NULL DEFAULT '',
        from_chat_id  INTEGER,
        from_message  INTEGER,
        status        TEXT NOT NULL,
        run_at        TEXT,
        created_at    TEXT NOT NULL,
        started_at    TEXT,
        finished_at   TEXT,
        progress_chat INTEGER,
        progress_msg  INTEGER
    );
    CREATE INDEX broadcasts_by_status ON broadcasts (status, run_at);
    CREATE TABLE deliveries (
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id),
        chat_id      INTEGER NOT NULL,
        status       TEXT NOT NULL DEFAULT 'pending',
        attempts     INTEGER NOT NULL DEFAULT 0,
        error        TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (broadcast_id, chat_id)
    ) WITHOUT ROWID;
    CREATE INDEX deliveries_by_status ON deliveries (broadcast_id, status, attempts);
    """,
    # WeChat users are strings (openid); the core keys users by integer. (Until version 7 each
    # openid's number was offset by LEGACY_WECHAT_ID_BASE; now it is this id, on channel
    # 'wechat'.)
    """
    CREATE TABLE wechat_users (
        id     INTEGER PRIMARY KEY,
        openid TEXT NOT NULL UNIQUE
    );
    """,
    # Customer-service messages reach a WeChat user only within 48 h of their last message.
    """
    ALTER TABLE wechat_users ADD COLUMN last_message TEXT;
    """,
    # One-time subscription message grants: each confirmation allows one message.
    """
    ALTER TABLE wechat_users ADD COLUMN grants INTEGER NOT NULL DEFAULT 0;
    """,
    # From here on every chat and user is keyed by (channel, id): 'telegram', 'wechat',
    # 'console'. A legacy WeChat row is one whose id is the base + an existing wechat_users.id;
    # a Telegram id above the base without such a user stays Telegram.
    # Reminders keep their primary key (alerts reference it, and with foreign keys on a DROP
    # would cascade), so the channel is added in place.
    f"""
    ALTER TABLE reminders ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram';
    UPDATE reminders SET channel = 'wechat', chat_id = chat_id - {_B}, user_id = user_id - {_B}
    WHERE chat_id >= {_B} AND chat_id - {_B} IN (SELECT id FROM wechat_users);
    DROP INDEX reminders_by_user;
    CREATE INDEX reminders_by_user ON reminders (channel, user_id, active, due_at);
    """,
    # Chats: the primary key becomes (channel, chat_id); WeChat followers become private chats.
    f"""
    CREATE TABLE chats_new (
        channel    TEXT NOT NULL,
        chat_id    INTEGER NOT NULL,
        type       TEXT NOT NULL,
        title      TEXT NOT NULL DEFAULT '',
        member     INTEGER NOT NULL DEFAULT 1,
        subscribed INTEGER NOT NULL DEFAULT 0,
        asked      INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (channel, chat_id)
    );
    INSERT INTO chats_new (channel, chat_id, type, title, member, subscribed, asked, updated_at)
    SELECT CASE WHEN type = 'wechat' THEN 'wechat' ELSE 'telegram' END,
           CASE WHEN type = 'wechat' THEN chat_id - {_B} ELSE chat_id END,
           CASE WHEN type = 'wechat' THEN 'private' ELSE type END,
           title, member, subscribed, asked, updated_at
    FROM chats;
    DROP TABLE chats;
    ALTER TABLE chats_new RENAME TO chats;
    CREATE INDEX chats_audience ON chats (subscribed, member, channel, type);
    """,
    # Deliveries: the primary key becomes (broadcast_id, channel, chat_id).
    f"""
    CREATE TABLE deliveries_new (
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id),
        channel      TEXT NOT NULL,
        chat_id      INTEGER NOT NULL,
        status       TEXT NOT NULL DEFAULT 'pending',
        attempts     INTEGER NOT NULL DEFAULT 0,
        error        TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (broadcast_id, channel, chat_id)
    ) WITHOUT ROWID;
    INSERT INTO deliveries_new (broadcast_id, channel, chat_id, status, attempts, error)
    SELECT broadcast_id, CASE WHEN wechat THEN 'wechat' ELSE 'telegram' END,
           CASE WHEN wechat THEN chat_id - {_B} ELSE chat_id END, status, attempts, error
    FROM (SELECT *, chat_id >= {_B} AND chat_id - {_B} IN (SELECT id FROM wechat_users) AS wechat
          FROM deliveries);
    DROP TABLE deliveries;
    ALTER TABLE deliveries_new RENAME TO deliveries;
    CREATE INDEX deliveries_by_status
        ON deliveries (broadcast_id, status, attempts, channel, chat_id);
    """,
    # The admin's progress message lives on a channel too (so far always Telegram).
    """
    ALTER TABLE broadcasts ADD COLUMN progress_channel TEXT;
    UPDATE broadcasts SET progress_channel = 'telegram' WHERE progress_chat IS NOT NULL;
    """,
    # A reminder whose send timed out after the request went out may have arrived: it is
    # sent once more, never twice more (``unsure`` counts those resends).
    """
    ALTER TABLE alerts ADD COLUMN unsure INTEGER NOT NULL DEFAULT 0;
    """,
    # One WeChat access token for every process (a new fetch retires the previous token, so
    # processes fetching their own would keep invalidating each other). ``expires_at`` is UTC.
    """
    CREATE TABLE wechat_tokens (
        app_id     TEXT PRIMARY KEY,
        token      TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    """,
    # One-tap teaching. Unanswered questions get an id (admins' buttons name a row by it, the
    # question itself may not fit 64 bytes) and are marked handled once taught. Learned
    # examples: what an admin taught, keyed by the normalised text the matcher looks up;
    # ``topic`` is a topic or feature id, or 'out_of_scope'. Votes: which "did you mean"
    # suggestion users tapped for a question.
    """
    CREATE TABLE unanswered_new (
        id         INTEGER PRIMARY KEY,
        normalized TEXT NOT NULL UNIQUE,
        example    TEXT NOT NULL,
        count      INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen  TEXT NOT NULL,
        handled_at TEXT
    );
    INSERT INTO unanswered_new (normalized, example, count, first_seen, last_seen)
    SELECT normalized, example, count, first_seen, last_seen FROM unanswered
    ORDER BY first_seen, normalized;
    DROP TABLE unanswered;
    ALTER TABLE unanswered_new RENAME TO unanswered;
    CREATE INDEX unanswered_open ON unanswered (count DESC, last_seen DESC)
        WHERE handled_at IS NULL;
    CREATE TABLE learned_examples (
        id         INTEGER PRIMARY KEY,
        question   TEXT NOT NULL,
        normalized TEXT NOT NULL UNIQUE,
        topic      TEXT NOT NULL,
        channel    TEXT NOT NULL,
        user_id    INTEGER NOT NULL,
        taught_at  TEXT NOT NULL
    );
    CREATE TABLE suggestion_votes (
        normalized TEXT NOT NULL,
        topic      TEXT NOT NULL,
        count      INTEGER NOT NULL,
        last_at    TEXT NOT NULL,
        PRIMARY KEY (normalized, topic)
    ) WITHOUT ROWID;
    """,
    # Leases on claims (leases.py): a 'sending' alert or delivery belongs to the process that
    # claimed it until ``lease_until`` (UTC); replicas sharing a database take back expired
    # ones. The partial indexes find the few 'sending' rows without a scan.
    """
    ALTER TABLE alerts ADD COLUMN lease_until TEXT;
    ALTER TABLE deliveries ADD COLUMN lease_until TEXT;
    CREATE INDEX alerts_sending ON alerts (lease_until) WHERE status = 'sending';
    CREATE INDEX deliveries_sending ON deliveries (lease_until) WHERE status = 'sending';
    """,
    # State shared by replicas (state.py): what a conversation remembers between two messages
    # (a /remind in progress, WeChat's numbered choices and "继续" pages, WeChat's retries
    # already answered), so the next message may reach any replica; and the send budget
    # (budget.py): the next free slot of a channel's overall rate, on the database's clock.
    """
    CREATE TABLE shared_state (
        scope      TEXT NOT NULL,
        key        TEXT NOT NULL,
        value      TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (scope, key)
    ) WITHOUT ROWID;
    CREATE INDEX shared_state_expiry ON shared_state (expires_at);
    CREATE TABLE send_budget (
        channel TEXT PRIMARY KEY,
        next_at REAL NOT NULL
    );
    """,
    # The notice watcher (bot/watch): every notice seen on a watched page, once, whatever the
    # page does later (reordered, restarted bot); each page's fetch state (conditional GET,
    # failures, the one alert about them), claimed by one replica per check; and broadcasts
    # may carry follow-up buttons (JSON).
    """
    CREATE TABLE notices (
        id         INTEGER PRIMARY KEY,
        page       TEXT NOT NULL,
        url        TEXT NOT NULL UNIQUE,
        title      TEXT NOT NULL,
        published  TEXT,
        found_at   TEXT NOT NULL,
        relevant   INTEGER NOT NULL,
        matched    TEXT NOT NULL,
        category   TEXT,
        deadline   TEXT,
        status     TEXT NOT NULL
    );
    CREATE INDEX notices_recent ON notices (relevant, found_at);
    CREATE TABLE watched_pages (
        page          TEXT PRIMARY KEY,
        etag          TEXT,
        last_modified TEXT,
        next_at       TEXT NOT NULL,
        checked_at    TEXT,
        failures      INTEGER NOT NULL DEFAULT 0,
        last_error    TEXT,
        last_count    INTEGER NOT NULL DEFAULT 0,
        alerted       INTEGER NOT NULL DEFAULT 0
    );
    ALTER TABLE broadcasts ADD COLUMN buttons TEXT;
    """,
    # Calendar links (bot/calendar): a user's calendar subscription ('feed') and one-time
    # download ('file') links, each a random token of which only its SHA-256 is stored;
    # ``uid_key`` makes the user's event UIDs stable without showing reminder ids.
    """
    CREATE TABLE calendar_links (
        token_hash TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        channel    TEXT NOT NULL,
        user_id    INTEGER NOT NULL,
        uid_key    TEXT NOT NULL,
        created_at TEXT NOT NULL,
        used_at    TEXT,
        expires_at TEXT,
        uses_left  INTEGER
    );
    CREATE INDEX calendar_links_by_user ON calendar_links (channel, user_id, kind);
    """,
)
