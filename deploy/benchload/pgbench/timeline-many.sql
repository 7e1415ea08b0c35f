-- The home timeline of user_1, who follows 1,000, as pkg/postgres sends it
-- for a reader of more than 100: the newest ids walked, follows hashed.
\set me 1
\set lim 21
SELECT c.id, c.author_id, u.username, c.message, c.tags, c.created_at
FROM chirps c JOIN users u ON u.id = c.author_id
WHERE c.id IN (
	SELECT w.id FROM chirps w
	WHERE (w.author_id IN (SELECT followee_id FROM follows WHERE follower_id = :me) OR w.author_id = :me)
	ORDER BY w.id DESC LIMIT :lim
)
ORDER BY c.id DESC LIMIT :lim;
