-- FTS5 writes the terms it holds in memory to the index at every savepoint
-- of a statement that changes it, as a new segment, and merges segments as
-- they pile up. Fed by a trigger on chirps, the index took each chirp of a
-- batch into a segment of its own: in make bench-load's POST run on SQLite
-- those flushes and merges were 15 % of the standalone's CPU, all on the
-- one writer's path. The chirp store now indexes a batch's chirps in one
-- statement after inserting them, one segment a batch; it is the only
-- writer of chirps. Deletes keep their trigger: they come one at a time.

-- +goose Up
DROP TRIGGER chirps_fts_insert;

-- +goose Down
-- +goose StatementBegin
CREATE TRIGGER chirps_fts_insert AFTER INSERT ON chirps BEGIN
    INSERT INTO chirps_fts (rowid, message) VALUES (new.id, new.message);
END;
-- +goose StatementEnd
