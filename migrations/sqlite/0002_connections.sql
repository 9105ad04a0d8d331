-- Heroku connections: the accounts a team has connected, with their
-- credentials encrypted (see app/src/crypto.rs).

CREATE TABLE heroku_connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    -- oauth: web-flow tokens that expire and refresh; api_key: a pasted key
    -- with no expiry; sandbox: an account in Rebound's simulated Heroku.
    kind TEXT NOT NULL CHECK (kind IN ('oauth', 'api_key', 'sandbox')),
    -- Heroku's account id and email, from GET /account.
    heroku_user_id TEXT NOT NULL,
    email TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('ok', 'needs_reauthorization', 'revoked')),
    -- Why the state is not ok, for the connections page.
    state_reason TEXT,
    -- Platform API base of a sandbox connection; NULL means the configured
    -- Heroku API.
    api_url TEXT,
    -- XChaCha20-Poly1305 ciphertexts; the associated data names the row
    -- id and the column, so they are written after the row has its id.
    access_token BLOB NOT NULL,
    refresh_token BLOB,
    access_token_expires_at BIGINT,
    -- The OAuth authorization to revoke on disconnect.
    authorization_id TEXT,
    -- Incremented with every new access token. A refresh is claimed by
    -- setting the lease columns only while the version is unchanged and no
    -- live lease exists, so one process refreshes and the others wait.
    token_version BIGINT NOT NULL DEFAULT 0,
    refresh_lease_owner TEXT,
    refresh_lease_until BIGINT,
    -- The last RateLimit-Remaining figure Heroku sent, and when.
    rate_limit_remaining BIGINT,
    rate_limit_observed_at BIGINT,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- Connecting an account again replaces the tokens of its connection.
    UNIQUE (team_id, kind, heroku_user_id)
);

CREATE INDEX heroku_connections_refresh_due ON heroku_connections (access_token_expires_at)
    WHERE refresh_token IS NOT NULL;
