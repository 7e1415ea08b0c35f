-- The home timeline of user_2, who follows 10, as pkg/postgres sends it
-- for a reader of at most 100: each author's newest ids, merged.
\set me 2
\set lim 21
SELECT c.id, c.author_id, u.username, c.message, c.tags, c.created_at
FROM chirps c JOIN users u ON u.id = c.author_id
WHERE c.id IN (
	SELECT p.id FROM (SELECT followee_id AS id FROM follows WHERE follower_id = :me UNION ALL VALUES (:me::bigint)) f
	CROSS JOIN LATERAL (
		SELECT a.id FROM chirps a WHERE a.author_id = f.id ORDER BY a.id DESC LIMIT :lim
	) p ORDER BY p.id DESC LIMIT :lim
)
ORDER BY c.id DESC LIMIT :lim;
