-- A login session is a family of refresh tokens, revoked on its one family
-- row (as on PostgreSQL, where that row is what a rotation and a revocation
-- lock). Expired tokens and long-revoked families are purged in batches.

-- +goose Up
CREATE TABLE refresh_token_families (
    id         TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL, -- its newest token's, Unix microseconds
    revoked_at INTEGER,
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX refresh_token_families_user_id_idx ON refresh_token_families (user_id);
CREATE INDEX refresh_token_families_expires_at_idx ON refresh_token_families (expires_at);
CREATE INDEX refresh_token_families_revoked_at_idx ON refresh_token_families (revoked_at) WHERE revoked_at IS NOT NULL;

INSERT INTO refresh_token_families (id, user_id, expires_at, revoked_at, created_at)
SELECT family_id, min(user_id), max(expires_at), max(revoked_at), min(created_at)
FROM refresh_tokens GROUP BY family_id;

CREATE TABLE refresh_tokens_new (
    hash       BLOB PRIMARY KEY CHECK (length(hash) = 32),
    family_id  TEXT NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER,
    created_at INTEGER NOT NULL
) STRICT;
INSERT INTO refresh_tokens_new (hash, family_id, expires_at, spent_at, created_at)
SELECT hash, family_id, expires_at, spent_at, created_at FROM refresh_tokens;
DROP TABLE refresh_tokens;
ALTER TABLE refresh_tokens_new RENAME TO refresh_tokens;
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

-- +goose Down
CREATE TABLE refresh_tokens_old (
    hash       BLOB PRIMARY KEY CHECK (length(hash) = 32),
    family_id  TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER,
    revoked_at INTEGER,
    created_at INTEGER NOT NULL
) STRICT;
INSERT INTO refresh_tokens_old (hash, family_id, user_id, expires_at, spent_at, revoked_at, created_at)
SELECT t.hash, t.family_id, f.user_id, t.expires_at, t.spent_at, f.revoked_at, t.created_at
FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id;
DROP TABLE refresh_tokens;
DROP TABLE refresh_token_families;
ALTER TABLE refresh_tokens_old RENAME TO refresh_tokens;
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
