-- Accounts, teams, invitations, sessions and sign-in throttling.

-- Holds one row once the first account exists. Inserting it in the same
-- transaction as the first user makes two concurrent first-run sign-ups
-- impossible: the second insert violates the primary key.
CREATE TABLE instance_setup (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    completed_at BIGINT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Stored trimmed and lower-cased, so uniqueness is case-insensitive.
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    -- Incremented on every password change. A session records the epoch it
    -- was signed in under and stops being valid when the two differ.
    session_epoch BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

CREATE INDEX memberships_user_id ON memberships (user_id);

CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    -- SHA-256 of the token in the link; the token itself is shown once.
    token_hash TEXT NOT NULL UNIQUE,
    -- Who the invitation is meant for, as a note for admins; not enforced.
    note TEXT NOT NULL DEFAULT '',
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    revoked_at BIGINT
);

CREATE INDEX invitations_team_id ON invitations (team_id);

-- tower-sessions records. The key is a SHA-256 of the session id, so a copy
-- of this table does not hand out live session cookies.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- One row per failed sign-in, per subject ("account:<email>" or "ip:<address>").
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);

CREATE INDEX login_failures_subject_failed_at ON login_failures (subject, failed_at);
