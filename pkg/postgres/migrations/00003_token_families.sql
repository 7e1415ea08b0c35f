-- A login session is a family of refresh tokens. Its revocation lives on one
-- family row, which a rotation locks together with its token: a revocation
-- and a rotation that race then run one after the other, and the token a
-- rotation issues can never outlive its family's revocation. Expired tokens
-- and long-revoked families are purged in batches (expires_at indexes).

-- +goose Up
CREATE TABLE refresh_token_families (
    id         text PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL, -- its newest token's: the session is over after it
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_token_families_user_id_idx ON refresh_token_families (user_id);
CREATE INDEX refresh_token_families_expires_at_idx ON refresh_token_families (expires_at);
CREATE INDEX refresh_token_families_revoked_at_idx ON refresh_token_families (revoked_at) WHERE revoked_at IS NOT NULL;

INSERT INTO refresh_token_families (id, user_id, expires_at, revoked_at, created_at)
SELECT family_id, min(user_id), max(expires_at), max(revoked_at), min(created_at)
FROM refresh_tokens GROUP BY family_id;

ALTER TABLE refresh_tokens
    DROP COLUMN revoked_at,
    DROP COLUMN user_id,
    ADD FOREIGN KEY (family_id) REFERENCES refresh_token_families (id) ON DELETE CASCADE;
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chirper_users') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON refresh_token_families TO chirper_users;
        GRANT DELETE ON refresh_tokens TO chirper_users;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX refresh_tokens_expires_at_idx;
ALTER TABLE refresh_tokens
    ADD COLUMN user_id bigint REFERENCES users (id) ON DELETE CASCADE,
    ADD COLUMN revoked_at timestamptz;
UPDATE refresh_tokens t SET user_id = f.user_id, revoked_at = f.revoked_at
FROM refresh_token_families f WHERE f.id = t.family_id;
ALTER TABLE refresh_tokens ALTER COLUMN user_id SET NOT NULL;
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
DROP TABLE refresh_token_families CASCADE;
