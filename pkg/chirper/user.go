package chirper

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a user may do beyond their own data.
type Role string

// The roles a user can hold.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleUser || r == RoleAdmin }

// Limits of the user fields.
const (
	UsernameMinLen    = 3
	UsernameMaxLen    = 30
	PasswordMinBytes  = 8
	PasswordMaxBytes  = 72 // bcrypt ignores what comes after
	DisplayNameMaxLen = 50
)

// reservedUsernames are words of the API's paths and of operations that a
// user must not be able to take as a name.
var reservedUsernames = map[string]bool{
	"me": true, "self": true, "admin": true, "root": true, "system": true,
	"chirps": true, "users": true, "auth": true, "login": true, "logout": true,
	"refresh": true, "role": true, "count": true, "openapi": true,
	"healthz": true, "readyz": true, "metrics": true, "v1": true, "api": true,
	"following": true, "followers": true, "timeline": true, "docs": true, "stream": true,
}

// User is a registered account.
type User struct {
	ID           int64
	Username     string // lower case, unique
	DisplayName  string
	Role         Role
	PasswordHash string // never leaves the server
	CreatedAt    time.Time
}

// Registration is what a person supplies to create an account.
type Registration struct {
	Username    string
	DisplayName string
	Password    string
}

// Normalize lower-cases the username and trims the display name.
func (r *Registration) Normalize() {
	r.Username = NormalizeUsername(r.Username)
	r.DisplayName = strings.TrimSpace(r.DisplayName)
}

// Validate reports every broken rule of the registration at once (EINVALID).
func (r *Registration) Validate() error {
	var v validation
	checkUsername(&v, r.Username)
	checkDisplayName(&v, r.DisplayName)
	checkPassword(&v, "password", r.Password)
	return v.err()
}

// NormalizeUsername returns the stored form of a username: trimmed, lower case.
func NormalizeUsername(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// UserUpdate is a change to a user's own profile; nil fields stay as they are.
type UserUpdate struct {
	DisplayName  *string
	PasswordHash *string
}

// ProfileChange is what a user asks to change about themselves. A new password
// needs the current one.
type ProfileChange struct {
	DisplayName     *string
	Password        *string
	CurrentPassword *string
}

// Normalize trims the display name.
func (c *ProfileChange) Normalize() {
	if c.DisplayName != nil {
		trimmed := strings.TrimSpace(*c.DisplayName)
		c.DisplayName = &trimmed
	}
}

// Validate reports every broken rule of the change at once (EINVALID).
func (c *ProfileChange) Validate() error {
	var v validation
	v.check(c.DisplayName != nil || c.Password != nil, "", "nothing to change: give display_name or password")
	if c.DisplayName != nil {
		checkDisplayName(&v, *c.DisplayName)
	}
	if c.Password != nil {
		checkPassword(&v, "password", *c.Password)
		v.check(c.CurrentPassword != nil && *c.CurrentPassword != "", "current_password", "is required to change the password")
	}
	return v.err()
}

// ValidatePassword reports whether s is acceptable as a password (EINVALID).
func ValidatePassword(s string) error {
	var v validation
	checkPassword(&v, "password", s)
	return v.err()
}

// CheckRoleChange reports a role change that would leave no admin
// (ECONFLICT): admins are the usernames that hold the admin role now.
func CheckRoleChange(admins []string, username string, role Role) error {
	if role != RoleAdmin && len(admins) == 1 && admins[0] == NormalizeUsername(username) {
		return Errorf(ECONFLICT, "%s is the last admin: make another admin first", admins[0])
	}
	return nil
}

// ValidateLoginPassword reports a password that no account can have because
// it is longer than bcrypt reads (EINVALID): checking it would ignore what
// comes after the 72nd byte, so any suffix of a real password would pass.
func ValidateLoginPassword(s string) error {
	var v validation
	v.check(len(s) <= PasswordMaxBytes, "password", "must be at most 72 bytes long")
	return v.err()
}

// ValidUsername reports whether s, normalized, can be a username at all.
func ValidUsername(s string) bool {
	var v validation
	checkUsername(&v, s)
	return len(v.fields) == 0
}

func checkUsername(v *validation, s string) {
	n := len(s)
	v.check(n >= UsernameMinLen && n <= UsernameMaxLen, "username", "must be 3 to 30 characters long")
	v.check(isWord(s), "username", "may contain only a-z, 0-9 and _")
	v.check(!reservedUsernames[s], "username", "is reserved")
}

func checkDisplayName(v *validation, s string) {
	v.check(utf8.ValidString(s), "display_name", "must be valid UTF-8")
	v.check(utf8.RuneCountInString(s) <= DisplayNameMaxLen, "display_name", "must be at most 50 characters long")
	v.check(!hasControl(s, false), "display_name", "must not contain control characters")
}

func checkPassword(v *validation, field, s string) {
	v.check(len(s) >= PasswordMinBytes, field, "must be at least 8 bytes long")
	v.check(len(s) <= PasswordMaxBytes, field, "must be at most 72 bytes long")
}

// isWord reports whether s is made only of a-z, 0-9 and _.
func isWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// UserStore keeps users.
type UserStore interface {
	// CreateUser stores u and sets its ID and CreatedAt. ECONFLICT when the
	// username is taken in any letter case.
	CreateUser(ctx context.Context, u *User) error

	// FindUserByID returns the user with the id. ENOTFOUND when there is none.
	FindUserByID(ctx context.Context, id int64) (*User, error)

	// FindUserByUsername returns the user with the (normalized) username.
	// ENOTFOUND when there is none.
	FindUserByUsername(ctx context.Context, username string) (*User, error)

	// UpdateUser applies upd to the user and returns the result. ENOTFOUND
	// when there is no such user.
	UpdateUser(ctx context.Context, id int64, upd UserUpdate) (*User, error)

	// SetUserRole gives the user the role and returns the result. ENOTFOUND
	// when there is no such user, EINVALID for an unknown role, ECONFLICT
	// when it would take the role from the last admin (CheckRoleChange),
	// also when two such changes race.
	SetUserRole(ctx context.Context, username string, role Role) (*User, error)

	// DeleteUser removes the user with their chirps and refresh tokens.
	// ENOTFOUND when there is no such user.
	DeleteUser(ctx context.Context, id int64) error
}
