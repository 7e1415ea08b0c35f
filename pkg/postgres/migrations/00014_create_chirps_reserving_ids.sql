-- A batch of new chirps is written under ids reserved before it, so that
-- when its answer is lost each chirp can be retried alone under its id and
-- is never stored twice. The reservation was a round trip of its own before
-- each batch: at 16 clients, 1.0-1.25 ms of a 3.5 ms cycle. This function
-- also reserves the ids of the batches to come, in the same call, after
-- the batch's own: the rows with ord 0 carry them. The writer uses them
-- within a bound of time (chirper.ChirpBatcher), so that an id is still
-- drawn moments before its chirp commits. The insert is 00012's function,
-- which the processes of the version before go on calling during a rolling
-- deploy.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION chirper_create_chirps(authors bigint[], messages text[], tag_lists text[], ids bigint[], reserve integer)
RETURNS TABLE (ord bigint, id bigint, username text, created_at timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT * FROM chirper_create_chirps(authors, messages, tag_lists, ids);
    RETURN QUERY
        SELECT 0::bigint, nextval(pg_get_serial_sequence('chirps', 'id')), NULL::text, NULL::timestamptz
        FROM generate_series(1, reserve);
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION chirper_create_chirps(bigint[], text[], text[], bigint[], integer);
