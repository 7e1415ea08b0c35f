-- The first answers of requests sent with an Idempotency-Key (see the
-- PostgreSQL migration of the same name).

-- +goose Up
CREATE TABLE idempotency_keys (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint BLOB NOT NULL,
    status      INTEGER,
    location    TEXT NOT NULL DEFAULT '',
    body        BLOB,
    created_at  INTEGER NOT NULL, -- Unix microseconds
    claimed_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
