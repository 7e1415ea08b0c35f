-- Who follows whom (see the PostgreSQL migration of the same name).

-- +goose Up
CREATE TABLE follows (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    follower_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    UNIQUE (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
) STRICT;
CREATE INDEX follows_follower_id_id_idx ON follows (follower_id, id);
CREATE INDEX follows_followee_id_id_idx ON follows (followee_id, id);

-- +goose Down
DROP TABLE follows;
