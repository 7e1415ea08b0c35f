-- The statement the timeline had before a cached count chose its plan:
-- a probe counts the follows and a one-time filter runs one of both
-- plans. Kept to compare with (user_1, who follows 1,000).
\set me 1
\set lim 21
WITH probe AS MATERIALIZED (SELECT count(*) AS n FROM follows WHERE follower_id = :me)
SELECT c.id, c.author_id, u.username, c.message, c.tags, c.created_at
FROM chirps c JOIN users u ON u.id = c.author_id
WHERE c.id IN (
	(SELECT p.id FROM (SELECT followee_id AS id FROM follows WHERE follower_id = :me UNION ALL SELECT :me::bigint) f
	 CROSS JOIN LATERAL (SELECT a.id FROM chirps a WHERE a.author_id = f.id ORDER BY a.id DESC LIMIT :lim) p
	 WHERE (SELECT n FROM probe) <= 100 ORDER BY p.id DESC LIMIT :lim)
	UNION ALL
	(SELECT w.id FROM chirps w
	 WHERE (w.author_id IN (SELECT followee_id FROM follows WHERE follower_id = :me) OR w.author_id = :me)
	   AND (SELECT n FROM probe) > 100
	 ORDER BY w.id DESC LIMIT :lim)
)
ORDER BY c.id DESC LIMIT :lim;
