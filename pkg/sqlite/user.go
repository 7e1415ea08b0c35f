package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/chirper/chirper/pkg/chirper"
)

var _ chirper.UserStore = (*UserStore)(nil)

// UserStore keeps users in SQLite.
type UserStore struct {
	db *DB
}

// NewUserStore returns a UserStore on db.
func NewUserStore(db *DB) *UserStore { return &UserStore{db: db} }

const userColumns = `id, username, display_name, role, password_hash, created_at`

func scanUser(row rowScanner) (*chirper.User, error) {
	var (
		u         chirper.User
		createdAt int64
	)
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.PasswordHash, &createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chirper.Errorf(chirper.ENOTFOUND, "user not found")
	}
	if err != nil {
		return nil, translate(err)
	}
	u.CreatedAt = fromMicros(createdAt)
	return &u, nil
}

// CreateUser stores u and sets its ID and CreatedAt.
func (s *UserStore) CreateUser(ctx context.Context, u *chirper.User) error {
	u.Username = chirper.NormalizeUsername(u.Username)
	if u.Role == "" {
		u.Role = chirper.RoleUser
	}
	createdAt := now()
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO users (username, display_name, role, password_hash, created_at)
		VALUES (?, ?, ?, ?, ?)
		RETURNING id`,
		u.Username, u.DisplayName, u.Role, u.PasswordHash, micros(createdAt),
	).Scan(&u.ID)
	if chirper.ErrorCode(translate(err)) == chirper.ECONFLICT {
		return chirper.Errorf(chirper.ECONFLICT, "username %q is taken", u.Username)
	}
	if err != nil {
		return translate(err)
	}
	u.CreatedAt = createdAt
	return nil
}

// FindUserByID returns the user with the id.
func (s *UserStore) FindUserByID(ctx context.Context, id int64) (*chirper.User, error) {
	return scanUser(s.db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// FindUserByUsername returns the user with the username.
func (s *UserStore) FindUserByUsername(ctx context.Context, username string) (*chirper.User, error) {
	return scanUser(s.db.queryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE username = ?`, chirper.NormalizeUsername(username)))
}

// UpdateUser applies upd to the user.
func (s *UserStore) UpdateUser(ctx context.Context, id int64, upd chirper.UserUpdate) (*chirper.User, error) {
	return scanUser(s.db.QueryRowContext(ctx, `
		UPDATE users
		SET display_name = COALESCE(?2, display_name),
		    password_hash = COALESCE(?3, password_hash)
		WHERE id = ?1
		RETURNING `+userColumns,
		id, upd.DisplayName, upd.PasswordHash))
}

// SetUserRole gives the user the role, in one write transaction (BEGIN
// IMMEDIATE), so that the count of admins it checks cannot change under it.
func (s *UserStore) SetUserRole(ctx context.Context, username string, role chirper.Role) (*chirper.User, error) {
	if !role.Valid() {
		return nil, chirper.Errorf(chirper.EINVALID, "unknown role %q", role)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, translate(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT username FROM users WHERE role = 'admin'`)
	if err != nil {
		return nil, translate(err)
	}
	var admins []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, translate(err)
		}
		admins = append(admins, name)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, translate(err)
	}
	if err := chirper.CheckRoleChange(admins, username, role); err != nil {
		return nil, err
	}
	u, err := scanUser(tx.QueryRowContext(ctx,
		`UPDATE users SET role = ?2 WHERE username = ?1 RETURNING `+userColumns,
		chirper.NormalizeUsername(username), role))
	if err != nil {
		return nil, err
	}
	return u, translate(tx.Commit())
}

// DeleteUser removes the user; their chirps and tokens go by cascade.
func (s *UserStore) DeleteUser(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
	return expectOneRow(res, err, "user not found")
}

// expectOneRow turns a write that touched no row into ENOTFOUND.
func expectOneRow(res sql.Result, err error, notFound string) error {
	if err != nil {
		return translate(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return translate(err)
	}
	if n == 0 {
		return chirper.Errorf(chirper.ENOTFOUND, "%s", notFound)
	}
	return nil
}
