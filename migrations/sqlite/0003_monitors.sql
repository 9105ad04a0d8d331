-- Monitors, their check results, state changes and hourly rollups.

CREATE TABLE monitors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('http', 'keyword', 'tcp', 'heartbeat')),
    -- Kind-specific settings as JSON (app::monitors::MonitorSettings).
    settings TEXT NOT NULL,
    -- Copied out of the settings so that a claim can size its lease in SQL.
    timeout_ms INTEGER NOT NULL,
    interval_secs INTEGER NOT NULL CHECK (interval_secs BETWEEN 10 AND 3600),
    fail_after INTEGER NOT NULL CHECK (fail_after >= 1),
    recover_after INTEGER NOT NULL CHECK (recover_after >= 1),
    -- Incremented by every edit; a check that ran under an older revision
    -- is discarded rather than applied to the new settings.
    revision BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('pending', 'healthy', 'failed', 'paused')),
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    consecutive_successes INTEGER NOT NULL DEFAULT 0,
    state_changed_at BIGINT NOT NULL,
    last_check_at BIGINT,
    last_passed BOOLEAN,
    last_response_ms INTEGER,
    last_reason TEXT,
    -- Scheduling: due time, and the lease of the process running the check.
    next_check_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    -- Heartbeats: the URL token is an HMAC of the id and this nonce under an
    -- instance key, so the token itself is never stored; the hash finds the
    -- monitor when a ping arrives.
    heartbeat_nonce TEXT,
    heartbeat_token_hash TEXT UNIQUE,
    last_ping_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (team_id, name)
);

CREATE INDEX monitors_due ON monitors (next_check_at) WHERE state <> 'paused';

CREATE TABLE check_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id BIGINT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    checked_at BIGINT NOT NULL,
    passed BOOLEAN NOT NULL,
    response_ms INTEGER,
    status_code INTEGER,
    reason TEXT,
    -- The confirmed state after this check was applied.
    state_after TEXT NOT NULL
);

CREATE INDEX check_results_monitor_checked_at ON check_results (monitor_id, checked_at);
CREATE INDEX check_results_checked_at ON check_results (checked_at);

CREATE TABLE monitor_state_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id BIGINT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    -- The check that caused the change; none for pause and resume.
    check_id BIGINT REFERENCES check_results (id) ON DELETE SET NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    reason TEXT,
    changed_at BIGINT NOT NULL
);

CREATE INDEX monitor_state_changes_monitor_changed_at ON monitor_state_changes (monitor_id, changed_at);

-- Per monitor and hour: enough for uptime percentages and response-time
-- charts over 30 days without scanning every check result.
CREATE TABLE check_rollups (
    monitor_id BIGINT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    hour_start BIGINT NOT NULL,
    checks INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    response_ms_sum BIGINT NOT NULL,
    response_count INTEGER NOT NULL,
    response_ms_max INTEGER NOT NULL,
    PRIMARY KEY (monitor_id, hour_start)
);
