-- Live streams (the stream service) hear of new chirps and of changed
-- follows on chirper_changes: new chirps are now announced with their ids
-- ("new_chirps:ID,ID,...", 500 ids at most per notification, well under
-- NOTIFY's 8000 bytes), and a follow or unfollow as "follows:FOLLOWER_ID",
-- so that home timeline streams know whom their reader follows. The stream
-- service signs in as its own role, which reads and writes nothing else.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION chirper_notify_new_chirps() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids text;
BEGIN
    FOR ids IN
        SELECT string_agg(id::text, ',' ORDER BY id)
        FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 500 AS part FROM added) numbered
        GROUP BY part
    LOOP
        PERFORM pg_notify('chirper_changes', 'new_chirps:' || ids);
    END LOOP;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
DROP TRIGGER chirps_notify_new ON chirps;
CREATE TRIGGER chirps_notify_new AFTER INSERT ON chirps
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION chirper_notify_new_chirps();

-- +goose StatementBegin
CREATE FUNCTION chirper_notify_follows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('chirper_changes', 'follows:' ||
        CASE TG_OP WHEN 'DELETE' THEN OLD.follower_id ELSE NEW.follower_id END);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER follows_notify_change AFTER INSERT OR DELETE ON follows
    FOR EACH ROW EXECUTE FUNCTION chirper_notify_follows();

-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
        RAISE NOTICE 'chirper: % may not create roles; the stream role is not made', current_user;
        RETURN;
    END IF;
    BEGIN
        CREATE ROLE chirper_stream LOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- made by an earlier migration of another database
    END;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO chirper_stream;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO chirper_stream', current_database());
    GRANT USAGE ON SCHEMA public TO chirper_stream;
    GRANT SELECT ON users, goose_db_version, chirps, chirp_tags, follows TO chirper_stream;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chirper_stream') THEN
        REVOKE ALL ON ALL TABLES IN SCHEMA public FROM chirper_stream;
        REVOKE ALL ON SCHEMA public FROM chirper_stream;
        EXECUTE format('REVOKE ALL ON DATABASE %I FROM chirper_stream', current_database());
    END IF;
END
$$;
-- +goose StatementEnd
DROP TRIGGER follows_notify_change ON follows;
DROP FUNCTION chirper_notify_follows();
DROP TRIGGER chirps_notify_new ON chirps;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION chirper_notify_new_chirps() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('chirper_changes', 'new_chirps:0');
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER chirps_notify_new AFTER INSERT ON chirps
    FOR EACH STATEMENT EXECUTE FUNCTION chirper_notify_new_chirps();
