-- Full-text search of messages: a generated tsvector in the 'simple'
-- configuration (no stemming, no stop words: any language works), and a
-- GIN index on it.

-- +goose Up
ALTER TABLE chirps ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', message)) STORED;
CREATE INDEX chirps_search_idx ON chirps USING gin (search);

-- +goose Down
DROP INDEX chirps_search_idx;
ALTER TABLE chirps DROP COLUMN search;
