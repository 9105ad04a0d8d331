-- API tokens, and the request counters of the API's rate limit.

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- A token acts with this role, capped by its creator's current role.
    role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    -- SHA-256 of the token; the token itself is shown once, when created.
    token_hash TEXT NOT NULL UNIQUE,
    -- The token's first characters, shown so people can tell tokens apart.
    prefix TEXT NOT NULL,
    -- NULL for a token the operator created with `rebound token create`.
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at BIGINT,
    revoked_at BIGINT
);

CREATE INDEX api_tokens_team_id ON api_tokens (team_id);

-- Requests per token in fixed windows (window_start is the window's first
-- millisecond). Kept in the database so that every process serving the
-- API counts against the same limit.
CREATE TABLE api_rate_limits (
    token_id BIGINT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    window_start BIGINT NOT NULL,
    requests INTEGER NOT NULL,
    PRIMARY KEY (token_id, window_start)
);
