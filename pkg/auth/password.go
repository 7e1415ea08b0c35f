package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"github.com/chirper/chirper/pkg/chirper"
)

var _ chirper.PasswordHasher = (*Passwords)(nil)

// Passwords hashes and checks passwords with bcrypt at a fixed cost.
type Passwords struct {
	cost int

	// A hash of a random password, for unknown users, made in the
	// background: at the default cost it takes a quarter of a second,
	// which start-up would otherwise wait for before it is ready.
	dummyDone chan struct{} // closed once dummy or dummyErr is set
	dummy     []byte
	dummyErr  error
}

// NewPasswords returns Passwords hashing at cost (bcrypt.MinCost to
// bcrypt.MaxCost; 12 is the production default).
func NewPasswords(cost int) (*Passwords, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("auth: bcrypt cost %d is outside %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	p := &Passwords{cost: cost, dummyDone: make(chan struct{})}
	go func() {
		defer close(p.dummyDone)
		var b [18]byte
		rand.Read(b[:]) // never fails (crypto/rand)
		p.dummy, p.dummyErr = bcrypt.GenerateFromPassword([]byte(base64.StdEncoding.EncodeToString(b[:])), cost)
	}()
	return p, nil
}

// Hash returns the bcrypt hash of password.
func (p *Passwords) Hash(password string) (string, error) {
	if err := chirper.ValidatePassword(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), p.cost)
	return string(h), err
}

// Check reports whether password matches the user's hash. With a nil user it
// does the same work against a dummy hash and fails, so that a login for a
// username that does not exist takes as long as one that does.
// EUNAUTHORIZED when it does not match, and for a password longer than
// bcrypt reads, which would otherwise match whatever followed its 72nd byte.
func (p *Passwords) Check(u *chirper.User, password string) error {
	if len(password) > chirper.PasswordMaxBytes {
		return chirper.Errorf(chirper.EUNAUTHORIZED, "wrong username or password")
	}
	var hash []byte
	if u != nil {
		hash = []byte(u.PasswordHash)
	} else {
		<-p.dummyDone
		if p.dummyErr != nil {
			return fmt.Errorf("auth: the hash for unknown users: %w", p.dummyErr)
		}
		hash = p.dummy
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	switch {
	case err == nil && u != nil:
		return nil
	case err == nil || errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return chirper.Errorf(chirper.EUNAUTHORIZED, "wrong username or password")
	default:
		return fmt.Errorf("auth: checking a password: %w", err)
	}
}
