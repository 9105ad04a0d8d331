-- Reactions, the queue of their triggers, the record of every execution,
-- and the per-app locks that serialise steps across processes.

CREATE TABLE reactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    monitor_id BIGINT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    -- NULL once the connection is removed; the reaction then stays paused.
    connection_id BIGINT REFERENCES heroku_connections (id) ON DELETE SET NULL,
    app_name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('scale_out', 'scale_in', 'scale_up', 'scale_down',
        'restart_dyno', 'restart_all', 'rollback', 'one_off')),
    call_on TEXT NOT NULL CHECK (call_on IN ('healthy', 'failed')),
    -- Kind-specific settings as JSON (app::reactions::ReactionSettings).
    settings TEXT NOT NULL,
    -- Matching checks in a row needed before the reaction acts.
    trigger_count INTEGER NOT NULL CHECK (trigger_count >= 1),
    -- Minimum seconds between two runs; 0 acts on every matching check.
    frequency_secs INTEGER NOT NULL CHECK (frequency_secs >= 0),
    dry_run BOOLEAN NOT NULL,
    enabled BOOLEAN NOT NULL,
    -- The current run of checks whose state matches call_on.
    consecutive_matches INTEGER NOT NULL DEFAULT 0,
    last_acted_at BIGINT,
    -- The bound or refusal recorded last; a trigger that meets the same one
    -- again records nothing, until the reaction acts.
    last_block TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (team_id, name)
);

CREATE INDEX reactions_monitor_id ON reactions (monitor_id);

-- One row per trigger still to decide. (reaction_id, check_id) is the
-- idempotency key: a check triggers a reaction at most once.
CREATE TABLE reaction_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reaction_id BIGINT NOT NULL REFERENCES reactions (id) ON DELETE CASCADE,
    check_id BIGINT NOT NULL,
    monitor_state TEXT NOT NULL,
    checked_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    run_after BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT,
    UNIQUE (reaction_id, check_id)
);

CREATE INDEX reaction_jobs_run_after ON reaction_jobs (run_after);

-- Every trigger that reached a decision. Kept when the reaction, monitor or
-- connection is deleted (their names are copied), and never pruned with
-- check results.
CREATE TABLE executions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    reaction_id BIGINT REFERENCES reactions (id) ON DELETE SET NULL,
    reaction_name TEXT NOT NULL,
    monitor_id BIGINT REFERENCES monitors (id) ON DELETE SET NULL,
    monitor_name TEXT NOT NULL,
    check_id BIGINT,
    monitor_state TEXT NOT NULL,
    connection_id BIGINT REFERENCES heroku_connections (id) ON DELETE SET NULL,
    app_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- running marks a step sent to Heroku whose result is not stored yet; a
    -- process that takes over an interrupted job reconciles it.
    outcome TEXT NOT NULL CHECK (outcome IN ('running', 'succeeded', 'dry_run', 'at_bound',
        'skipped_cooldown', 'skipped_busy', 'failed')),
    -- "web 2 → 3", "restart web.2", "release v42 → v41 (new v43)".
    summary TEXT NOT NULL,
    -- Structured before and after values (app::reactions::ExecutionDetail).
    detail TEXT,
    error_message TEXT,
    heroku_status INTEGER,
    heroku_error_id TEXT,
    heroku_request_id TEXT,
    started_at BIGINT NOT NULL,
    duration_ms INTEGER,
    UNIQUE (reaction_id, check_id)
);

-- The timeline pages newest first through a team's executions, optionally
-- filtered by one column; each filter has an index in that order, so a page
-- stays a short index range scan with a million records.
CREATE INDEX executions_team_started_at ON executions (team_id, started_at, id);
CREATE INDEX executions_reaction_started_at ON executions (reaction_id, started_at, id);
CREATE INDEX executions_team_app_started_at ON executions (team_id, app_name, started_at, id);
CREATE INDEX executions_team_monitor_started_at ON executions (team_id, monitor_id, started_at, id);
CREATE INDEX executions_team_kind_started_at ON executions (team_id, kind, started_at, id);
CREATE INDEX executions_team_outcome_started_at ON executions (team_id, outcome, started_at, id);

-- At most one step at a time per Heroku app, across all processes.
CREATE TABLE app_locks (
    app_key TEXT PRIMARY KEY,
    lease_owner TEXT NOT NULL,
    lease_until BIGINT NOT NULL
);
