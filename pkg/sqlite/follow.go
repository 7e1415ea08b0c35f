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

// target finds the user named username for a (un)follow by followerID.
func target(ctx context.Context, tx *sql.Tx, followerID int64, username string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE username = ?`, chirper.NormalizeUsername(username)).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, chirper.Errorf(chirper.ENOTFOUND, "user not found")
	case err != nil:
		return 0, translate(err)
	case id == followerID:
		return 0, chirper.Invalid("username", "you cannot follow yourself")
	}
	return id, nil
}

// Follow adds the follow unless it exists.
func (s *FollowStore) Follow(ctx context.Context, followerID int64, followee string) error {
	return s.change(ctx, followerID, followee, `
		INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?1, ?2, ?3)
		ON CONFLICT DO NOTHING`)
}

// Unfollow removes the follow if it exists.
func (s *FollowStore) Unfollow(ctx context.Context, followerID int64, followee string) error {
	err := s.change(ctx, followerID, followee, `DELETE FROM follows WHERE follower_id = ?1 AND followee_id = ?2 AND ?3 IS NOT NULL`)
	if chirper.ErrorCode(err) == chirper.EINVALID {
		return nil // no one follows themselves
	}
	return err
}

// change runs stmt (with ?1 the follower, ?2 the followee, ?3 the time) in
// one write transaction with the lookup of the followee.
func (s *FollowStore) change(ctx context.Context, followerID int64, followee, stmt string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	id, err := target(ctx, tx, followerID, followee)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, stmt, followerID, id, micros(now())); err != nil {
		if chirper.ErrorCode(translate(err)) == chirper.ENOTFOUND {
			return chirper.Errorf(chirper.ENOTFOUND, "user not found")
		}
		return translate(err)
	}
	return translate(tx.Commit())
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
