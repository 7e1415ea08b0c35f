-- The search index takes new chirps' words into a pending list, and merges
-- the list into the index once it holds gin_pending_list_limit of them: the
-- insert that crosses the limit does the whole merge. At the default of
-- 4 MB, with 1,000,000 chirps, that insert took most of a second, and every
-- post waited behind it (one writer writes all batches): POST at 64 clients
-- had a p99 of 760 ms. At 256 kB each merge is a sixteenth of that work:
-- p99 30-31 ms, and as many posts a second. Merging on every insert instead
-- (fastupdate off) also ends the stalls, but costs PostgreSQL 10-15 % more
-- CPU a chirp and posted 10-30 % fewer chirps a second at 16 clients.

-- +goose Up
ALTER INDEX chirps_search_idx SET (gin_pending_list_limit = 256);

-- +goose Down
ALTER INDEX chirps_search_idx RESET (gin_pending_list_limit);
