-- Full-text search of messages: an FTS5 index over chirps.message (external
-- content: the text is not stored twice), kept by triggers.

-- +goose Up
CREATE VIRTUAL TABLE chirps_fts USING fts5(message, content = 'chirps', content_rowid = 'id', tokenize = 'unicode61');
INSERT INTO chirps_fts (rowid, message) SELECT id, message FROM chirps;
-- +goose StatementBegin
CREATE TRIGGER chirps_fts_insert AFTER INSERT ON chirps BEGIN
    INSERT INTO chirps_fts (rowid, message) VALUES (new.id, new.message);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER chirps_fts_delete AFTER DELETE ON chirps BEGIN
    INSERT INTO chirps_fts (chirps_fts, rowid, message) VALUES ('delete', old.id, old.message);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER chirps_fts_delete;
DROP TRIGGER chirps_fts_insert;
DROP TABLE chirps_fts;
