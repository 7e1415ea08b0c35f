-- New chirps are no longer announced by a trigger in the transaction that
-- inserts them: PostgreSQL serialises the commits of all transactions that
-- NOTIFY (each holds one database-wide lock from its NOTIFY until its commit
-- is flushed), so every write of new chirps waited for every other one's
-- fsync, and group commit was lost (pgbench, 16 clients, fsync on: a
-- single-row INSERT ran at a quarter of its rate with a pg_notify beside
-- it). The chirp store now announces them itself, after their commit, in
-- a transaction of its own that writes nothing to flush (its announcer).
-- Deleted chirps and changed users and follows are still announced by
-- their triggers: they are rare.

-- +goose Up
DROP TRIGGER chirps_notify_new ON chirps;
DROP FUNCTION chirper_notify_new_chirps();

-- +goose Down
-- +goose StatementBegin
CREATE FUNCTION chirper_notify_new_chirps() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER chirps_notify_new AFTER INSERT ON chirps
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION chirper_notify_new_chirps();
