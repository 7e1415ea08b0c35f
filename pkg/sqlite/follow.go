package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/chirper/chirper/pkg/chirper"
)

var _ chirper.FollowStore = (*FollowStore)(nil)

// FollowStore keeps follows in SQLite.
type FollowStore struct {
	db *DB
}

// NewFollowStore returns a FollowStore on db.
func NewFollowStore(db *DB) *FollowStore { return &FollowStore{db: db} }

// Follow adds the follow unless it exists.
func (s *FollowStore) Follow(ctx context.Context, followerID int64, followee string) error {
	return s.change(ctx, followee, func(tx *sql.Tx, id int64) error {
		if err := chirper.CheckFollow(followerID, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, followerID, id, micros(now()))
		return err
	})
}

// Unfollow removes the follow if it exists.
func (s *FollowStore) Unfollow(ctx context.Context, followerID int64, followee string) error {
	return s.change(ctx, followee, func(tx *sql.Tx, id int64) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM follows WHERE follower_id = ? AND followee_id = ?`, followerID, id)
		return err
	})
}

// change runs apply on the user named followee in one write transaction
// with its lookup: ENOTFOUND when there is none.
func (s *FollowStore) change(ctx context.Context, followee string, apply func(tx *sql.Tx, id int64) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	var id int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM users WHERE username = ?`, chirper.NormalizeUsername(followee)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return chirper.Errorf(chirper.ENOTFOUND, "user not found")
	}
	if err == nil {
		err = apply(tx, id)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err = translate(err); chirper.ErrorCode(err) == chirper.ENOTFOUND { // the follower went meanwhile
		return chirper.Errorf(chirper.ENOTFOUND, "user not found")
	}
	return err
}

// ListFollows returns a page of follows, newest first.
func (s *FollowStore) ListFollows(ctx context.Context, f chirper.FollowFilter) (*chirper.UserPage, error) {
	side, other := "follower_id", "followee_id"
	if f.Followers {
		side, other = "followee_id", "follower_id"
	}
	var targetID int64
	err := s.db.QueryRowContext(ctx, `SELECT id FROM users WHERE username = ?`, f.Username).Scan(&targetID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chirper.Errorf(chirper.ENOTFOUND, "user not found")
	}
	if err != nil {
		return nil, translate(err)
	}
	cols := "u." + strings.ReplaceAll(userColumns, ", ", ", u.")
	rows, err := s.db.QueryContext(ctx, `
		SELECT f.id, `+cols+`
		FROM follows f JOIN users u ON u.id = f.`+other+`
		WHERE f.`+side+` = ? AND (? = 0 OR f.id < ?)
		ORDER BY f.id DESC LIMIT ?`, targetID, f.BeforeID, f.BeforeID, f.Limit+1)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var (
		users   []*chirper.User
		follows []int64
	)
	for rows.Next() {
		var (
			followID  int64
			u         chirper.User
			createdAt int64
		)
		if err := rows.Scan(&followID, &u.ID, &u.Username, &u.DisplayName, &u.Role, &u.PasswordHash, &createdAt); err != nil {
			return nil, translate(err)
		}
		u.CreatedAt = fromMicros(createdAt)
		users = append(users, &u)
		follows = append(follows, followID)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	return chirper.NewUserPage(users, follows, f.Limit), nil
}

// FollowingIDs returns the ids of the users that the user follows.
func (s *FollowStore) FollowingIDs(ctx context.Context, userID int64) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT followee_id FROM follows WHERE follower_id = ?`, userID)
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

// CountUsers counts followers, follows and chirps of the users.
func (s *FollowStore) CountUsers(ctx context.Context, ids []int64) (map[int64]chirper.UserCounts, error) {
	list, err := jsonArray(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT u.id,
		       (SELECT count(*) FROM follows WHERE followee_id = u.id),
		       (SELECT count(*) FROM follows WHERE follower_id = u.id),
		       (SELECT count(*) FROM chirps WHERE author_id = u.id)
		FROM users u WHERE u.id IN (SELECT value FROM json_each(?))`, list)
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
