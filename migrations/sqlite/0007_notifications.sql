-- Notification channels, the rules that route events to them, the queue of
-- deliveries and the record of every delivery attempt.

CREATE TABLE notification_channels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('slack', 'webhook', 'email')),
    -- What the page shows of the target: a URL's scheme and host, or the
    -- email recipients. The full URL can hold a token, so it is only in
    -- secret_config.
    target_summary TEXT NOT NULL,
    -- Encrypted JSON (app::notifications::ChannelSecrets): the URL and the
    -- signing secret, or the recipients of an email channel.
    secret_config BLOB NOT NULL,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    -- Delivery health: failed attempts since the last success, and the
    -- latest error in words.
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_failure_at BIGINT,
    last_success_at BIGINT,
    UNIQUE (team_id, name)
);

CREATE TABLE notification_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    event TEXT NOT NULL CHECK (event IN ('execution_succeeded', 'execution_failed',
        'execution_at_bound', 'monitor_failed', 'monitor_healthy', 'connection_needs_reauthorization')),
    created_at BIGINT NOT NULL,
    UNIQUE (channel_id, event)
);

CREATE INDEX notification_rules_team_event ON notification_rules (team_id, event);

-- One row per event and channel. Rows are written in the transaction that
-- records the event, and claimed with a lease like reaction triggers, so
-- each is sent by one process at a time.
CREATE TABLE notification_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    -- The event as JSON (app::notifications::Event).
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    run_after BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE INDEX notification_deliveries_status_run_after ON notification_deliveries (status, run_after);
CREATE INDEX notification_deliveries_channel ON notification_deliveries (channel_id, id);

CREATE TABLE notification_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id BIGINT NOT NULL REFERENCES notification_deliveries (id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    attempted_at BIGINT NOT NULL,
    succeeded BOOLEAN NOT NULL,
    -- HTTP status of a webhook answer, or the SMTP reply code.
    status_code INTEGER,
    -- Why the attempt failed, in words; never contains the target URL.
    error TEXT,
    duration_ms INTEGER NOT NULL
);

CREATE INDEX notification_attempts_channel ON notification_attempts (channel_id, id);
CREATE INDEX notification_attempts_delivery ON notification_attempts (delivery_id);
