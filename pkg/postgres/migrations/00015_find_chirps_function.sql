-- Chirps read by id together (chirper.ChirpReadBatcher) are read by a
-- function rather than by a statement that the store sends. lib/pq sends an
-- unnamed statement, which PostgreSQL parses and plans on every call, and
-- for a batch of ids the planning cost more than the reads; PL/pgSQL keeps
-- its statements' plans for the life of the connection (as 00012 does for
-- new chirps). pgbench, 16 clients, -M extended, 1,000,000 chirps, batches
-- of 8 random ids: 6,900-8,700 calls a second with the statement,
-- 12,100-14,800 with this function. A chirp read alone stays a statement:
-- through this function it was slower (13,000-13,800 calls a second
-- against 17,900-21,300).

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION chirper_find_chirps(ids bigint[])
RETURNS TABLE (id bigint, author_id bigint, username text, message text, tags text[], created_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
        SELECT c.id, c.author_id, u.username, c.message, c.tags, c.created_at
        FROM chirps c JOIN users u ON u.id = c.author_id
        WHERE c.id = ANY(ids)
        ORDER BY c.id;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION chirper_find_chirps(bigint[]);
