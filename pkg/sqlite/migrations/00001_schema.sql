-- +goose Up
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE
                  CHECK (length(username) BETWEEN 3 AND 30 AND username NOT GLOB '*[^a-z0-9_]*'),
    display_name  TEXT NOT NULL DEFAULT '' CHECK (length(display_name) <= 50),
    role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL -- Unix microseconds, UTC
) STRICT;

CREATE TABLE chirps (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message    TEXT NOT NULL CHECK (length(message) BETWEEN 1 AND 280),
    tags       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags) AND json_array_length(tags) <= 10),
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX chirps_author_id_id_idx ON chirps (author_id, id);

CREATE TABLE chirp_tags (
    tag      TEXT NOT NULL CHECK (length(tag) BETWEEN 1 AND 50 AND tag NOT GLOB '*[^a-z0-9_]*'),
    chirp_id INTEGER NOT NULL REFERENCES chirps (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, chirp_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX chirp_tags_chirp_id_idx ON chirp_tags (chirp_id);

CREATE TABLE refresh_tokens (
    hash       BLOB PRIMARY KEY CHECK (length(hash) = 32),
    family_id  TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER,
    revoked_at INTEGER,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);

-- +goose Down
DROP TABLE refresh_tokens;
DROP TABLE chirp_tags;
DROP TABLE chirps;
DROP TABLE users;
