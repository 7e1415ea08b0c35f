-- +goose Up
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text NOT NULL UNIQUE
                  CHECK (username ~ '^[a-z0-9_]{3,30}$'),
    display_name  text NOT NULL DEFAULT '' CHECK (char_length(display_name) <= 50),
    role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chirps (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message    text NOT NULL CHECK (char_length(message) BETWEEN 1 AND 280),
    tags       text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 10),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- The newest page of one author: a backward scan of this index.
CREATE INDEX chirps_author_id_id_idx ON chirps (author_id, id);

-- One row per tag of a chirp; the primary key serves the newest page of a tag.
CREATE TABLE chirp_tags (
    tag      text NOT NULL CHECK (tag ~ '^[a-z0-9_]{1,50}$'),
    chirp_id bigint NOT NULL REFERENCES chirps (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, chirp_id)
);
CREATE INDEX chirp_tags_chirp_id_idx ON chirp_tags (chirp_id);

CREATE TABLE refresh_tokens (
    hash       bytea PRIMARY KEY CHECK (length(hash) = 32),
    family_id  text NOT NULL,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    spent_at   timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);

-- +goose Down
DROP TABLE refresh_tokens;
DROP TABLE chirp_tags;
DROP TABLE chirps;
DROP TABLE users;
