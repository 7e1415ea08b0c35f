-- The tag page of make bench-load's timeline runs (tag7, past a cursor),
-- as pkg/postgres sends it: the limit and the cursor bound as parameters.
\set before 1000001
\set lim 21
SELECT c.id, c.author_id, u.username, c.message, c.tags, c.created_at
FROM chirps c JOIN users u ON u.id = c.author_id
WHERE c.id IN (
	SELECT p.chirp_id FROM unnest('{tag7}'::text[]) AS q(tag)
	CROSS JOIN LATERAL (
		SELECT ct.chirp_id FROM chirp_tags ct
		WHERE ct.tag = q.tag AND ct.chirp_id < :before
		ORDER BY ct.chirp_id DESC LIMIT :lim
	) p
)
ORDER BY c.id DESC LIMIT :lim;
