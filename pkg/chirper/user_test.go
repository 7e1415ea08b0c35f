package chirper_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chirper/chirper/pkg/chirper"
)

func TestRegistration(t *testing.T) {
	r := chirper.Registration{Username: "  Alice_01 ", DisplayName: " Alice ", Password: "correct horse"}
	r.Normalize()
	if r.Username != "alice_01" || r.DisplayName != "Alice" {
		t.Fatalf("normalized = %+v", r)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		in     chirper.Registration
		fields []string
	}{
		{"UsernameTooShort", chirper.Registration{Username: "ab", Password: "12345678"}, []string{"username"}},
		{"UsernameTooLong", chirper.Registration{Username: strings.Repeat("a", 31), Password: "12345678"}, []string{"username"}},
		{"UsernameBadChars", chirper.Registration{Username: "al-ice", Password: "12345678"}, []string{"username"}},
		{"UsernameReserved", chirper.Registration{Username: "admin", Password: "12345678"}, []string{"username"}},
		{"PasswordTooShort", chirper.Registration{Username: "alice", Password: "1234567"}, []string{"password"}},
		{"PasswordTooLong", chirper.Registration{Username: "alice", Password: strings.Repeat("p", 73)}, []string{"password"}},
		{"DisplayNameTooLong", chirper.Registration{Username: "alice", DisplayName: strings.Repeat("ü", 51), Password: "12345678"}, []string{"display_name"}},
		{"DisplayNameControl", chirper.Registration{Username: "alice", DisplayName: "a\nb", Password: "12345678"}, []string{"display_name"}},
		{"AllAtOnce", chirper.Registration{Username: "x", DisplayName: strings.Repeat("d", 51), Password: "short"}, []string{"username", "display_name", "password"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertFields(t, tc.in.Validate(), tc.fields)
		})
	}
}

func TestProfileChange(t *testing.T) {
	str := func(s string) *string { return &s }
	if err := (&chirper.ProfileChange{DisplayName: str("New")}).Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (&chirper.ProfileChange{Password: str("new password"), CurrentPassword: str("old password")}).Validate(); err != nil {
		t.Fatal(err)
	}
	assertFields(t, (&chirper.ProfileChange{}).Validate(), []string{""})
	assertFields(t, (&chirper.ProfileChange{Password: str("new password")}).Validate(), []string{"current_password"})
	assertFields(t, (&chirper.ProfileChange{Password: str("short"), CurrentPassword: str("x")}).Validate(), []string{"password"})
}

func TestErrorCode(t *testing.T) {
	wrapped := fmt.Errorf("context: %w", chirper.Errorf(chirper.ENOTFOUND, "chirp %d not found", 7))
	if got := chirper.ErrorCode(wrapped); got != chirper.ENOTFOUND {
		t.Fatalf("ErrorCode = %q", got)
	}
	if got := chirper.ErrorMessage(wrapped); got != "chirp 7 not found" {
		t.Fatalf("ErrorMessage = %q", got)
	}
	secret := errors.New("pq: password authentication failed for user app")
	if got := chirper.ErrorCode(secret); got != chirper.EINTERNAL {
		t.Fatalf("ErrorCode(plain) = %q", got)
	}
	if got := chirper.ErrorMessage(secret); strings.Contains(got, "password") {
		t.Fatalf("ErrorMessage leaks the internal error: %q", got)
	}
	if chirper.ErrorCode(nil) != "" {
		t.Fatal("ErrorCode(nil) != \"\"")
	}
	cause := errors.New("connection refused")
	e := &chirper.Error{Code: chirper.EUNAVAILABLE, Message: "down", Cause: cause}
	if !errors.Is(e, cause) {
		t.Fatal("errors.Is does not see the cause")
	}
}

func TestSchemaVersionError(t *testing.T) {
	if err := chirper.SchemaVersionError(3, 3); err != nil {
		t.Fatal(err)
	}
	if err := chirper.SchemaVersionError(2, 3); err == nil || !strings.Contains(err.Error(), "migrate") {
		t.Fatalf("behind: %v", err)
	}
	if err := chirper.SchemaVersionError(4, 3); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("ahead: %v", err)
	}
}
