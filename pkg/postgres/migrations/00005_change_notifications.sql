-- Every process caches users, chirps and the first pages of the lists;
-- these triggers tell all of them, on the channel chirper_changes, what
-- changed, at the commit of the change (NOTIFY is transactional) and
-- whoever made it: "users:ID" when a user is changed or deleted,
-- "chirps:ID" when a chirp is deleted (also by the cascade of a user's
-- deletion), and "new_chirps:0" once per statement that adds chirps.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION chirper_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('chirper_changes', TG_TABLE_NAME || ':' || OLD.id);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER users_notify_change AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION chirper_notify_change();
CREATE TRIGGER chirps_notify_change AFTER DELETE ON chirps
    FOR EACH ROW EXECUTE FUNCTION chirper_notify_change();
-- +goose StatementBegin
CREATE FUNCTION chirper_notify_new_chirps() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('chirper_changes', 'new_chirps:0');
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER chirps_notify_new AFTER INSERT ON chirps
    FOR EACH STATEMENT EXECUTE FUNCTION chirper_notify_new_chirps();

-- +goose Down
DROP TRIGGER chirps_notify_new ON chirps;
DROP FUNCTION chirper_notify_new_chirps();
DROP TRIGGER chirps_notify_change ON chirps;
DROP TRIGGER users_notify_change ON users;
DROP FUNCTION chirper_notify_change();
