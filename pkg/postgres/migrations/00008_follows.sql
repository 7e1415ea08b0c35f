-- Who follows whom. The id orders follows, newest first, for the keyset
-- pages of a user's following and followers; a home timeline reads the
-- chirps of the followed (fan-out on read).

-- +goose Up
CREATE TABLE follows (
    id          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    follower_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_follower_id_id_idx ON follows (follower_id, id);
CREATE INDEX follows_followee_id_id_idx ON follows (followee_id, id);

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chirper_users') THEN
        GRANT SELECT, INSERT, DELETE ON follows TO chirper_users;
        GRANT SELECT ON chirps TO chirper_users; -- a user's chirps count
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chirper_list_chirps') THEN
        GRANT SELECT ON follows TO chirper_list_chirps; -- home timelines
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE follows;
