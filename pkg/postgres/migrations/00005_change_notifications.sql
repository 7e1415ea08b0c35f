-- Every process caches users and chirps; these triggers tell all of them,
-- on the channel chirper_changes, which rows changed, at the commit of the
-- change (NOTIFY is transactional) and whoever made it: "users:ID" when a
-- user is changed or deleted, "chirps:ID" when a chirp is deleted (also by
-- the cascade of a user's deletion).

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

-- +goose Down
DROP TRIGGER chirps_notify_change ON chirps;
DROP TRIGGER users_notify_change ON users;
DROP FUNCTION chirper_notify_change();
