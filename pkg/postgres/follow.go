package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/lib/pq"

	"github.com/chirper/chirper/pkg/chirper"
)

var _ chirper.FollowStore = (*FollowStore)(nil)

// FollowStore keeps follows in PostgreSQL; each call is one statement.
type FollowStore struct {
	db *DB
}

// NewFollowStore returns a FollowStore on db.
func NewFollowStore(db *DB) *FollowStore { return &FollowStore{db: db} }

// Follow adds the follow unless it exists.
func (s *FollowStore) Follow(ctx context.Context, followerID int64, followee string) error {
	var id int64
	err := s.db.QueryRowContext(ctx, `
		WITH target AS (SELECT id FROM users WHERE username = $2),
		ins AS (
			INSERT INTO follows (follower_id, followee_id)
			SELECT $1, id FROM target WHERE id <> $1
			ON CONFLICT DO NOTHING
		)
		SELECT id FROM target`, followerID, chirper.NormalizeUsername(followee)).Scan(&id)
	if err := found(err); err != nil {
		return err
	}
	return chirper.CheckFollow(followerID, id)
}

// Unfollow removes the follow if it exists.
func (s *FollowStore) Unfollow(ctx context.Context, followerID int64, followee string) error {
	var id int64
	return found(s.db.QueryRowContext(ctx, `
		WITH target AS (SELECT id FROM users WHERE username = $2),
		del AS (DELETE FROM follows WHERE follower_id = $1 AND followee_id IN (SELECT id FROM target))
		SELECT id FROM target`, followerID, chirper.NormalizeUsername(followee)).Scan(&id))
}

// found names the outcome of looking up the user a (un)follow names.
func found(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return chirper.Errorf(chirper.ENOTFOUND, "user not found")
	}
	return translate(err)
}

// ListFollows returns a page of follows, newest first, in one statement:
// the user's row comes back even when the page is empty, so that an
// unknown user is told from one who follows no one.
func (s *FollowStore) ListFollows(ctx context.Context, f chirper.FollowFilter) (*chirper.UserPage, error) {
	side, other := "follower_id", "followee_id"
	if f.Followers {
		side, other = "followee_id", "follower_id"
	}
	rows, err := s.db.QueryContext(ctx, `
		WITH target AS (SELECT id FROM users WHERE username = $1)
		SELECT f.id, u.id, u.username, u.display_name, u.role, u.password_hash, u.created_at
		FROM target t
		LEFT JOIN LATERAL (
			SELECT f.id, f.`+other+` AS user_id FROM follows f
			WHERE f.`+side+` = t.id AND ($2::bigint = 0 OR f.id < $2::bigint)
			ORDER BY f.id DESC LIMIT $3::int
		) f ON true
		LEFT JOIN users u ON u.id = f.user_id
		ORDER BY f.id DESC`, f.Username, f.BeforeID, f.Limit+1)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var (
		found   bool
		users   []*chirper.User
		follows []int64
	)
	for rows.Next() {
		found = true
		var (
			followID sql.NullInt64
			id       sql.NullInt64
			u        chirper.User
			name     sql.NullString
			display  sql.NullString
			role     sql.NullString
			hash     sql.NullString
			created  sql.NullTime
		)
		if err := rows.Scan(&followID, &id, &name, &display, &role, &hash, &created); err != nil {
			return nil, translate(err)
		}
		if !followID.Valid {
			continue // the user follows, or is followed by, no one (here)
		}
		u.ID, u.Username, u.DisplayName, u.Role, u.PasswordHash, u.CreatedAt =
			id.Int64, name.String, display.String, chirper.Role(role.String), hash.String, created.Time.UTC()
		users = append(users, &u)
		follows = append(follows, followID.Int64)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	if !found {
		return nil, chirper.Errorf(chirper.ENOTFOUND, "user not found")
	}
	return chirper.NewUserPage(users, follows, f.Limit), nil
}

// FollowingIDs returns the ids of the users that the user follows.
func (s *FollowStore) FollowingIDs(ctx context.Context, userID int64) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT followee_id FROM follows WHERE follower_id = $1`, userID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, translate(err)
		}
		ids = append(ids, id)
	}
	return ids, translate(rows.Err())
}

// CountUsers counts followers, follows and chirps of the users, in one
// statement.
func (s *FollowStore) CountUsers(ctx context.Context, ids []int64) (map[int64]chirper.UserCounts, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT u.id,
		       (SELECT count(*) FROM follows WHERE followee_id = u.id),
		       (SELECT count(*) FROM follows WHERE follower_id = u.id),
		       (SELECT count(*) FROM chirps WHERE author_id = u.id)
		FROM users u WHERE u.id = ANY($1::bigint[])`, pq.Array(ids))
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	counts := make(map[int64]chirper.UserCounts, len(ids))
	for rows.Next() {
		var id int64
		var c chirper.UserCounts
		if err := rows.Scan(&id, &c.Followers, &c.Following, &c.Chirps); err != nil {
			return nil, translate(err)
		}
		counts[id] = c
	}
	return counts, translate(rows.Err())
}
