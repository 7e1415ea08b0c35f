package apitest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/client"
)

func testUsers(t *testing.T, env *Env) {
	ctx := context.Background()
	anon := env.Client()

	t.Run("Register", func(t *testing.T) {
		name := env.name("Reg")
		resp := raw(t, anon, "POST", "/v1/users", "application/json",
			`{"username":"`+name+`","display_name":" Reggie ","password":"long enough"}`, nil)
		if resp.Status != http.StatusCreated {
			t.Fatalf("status = %d: %s", resp.Status, resp.Body)
		}
		want := "/v1/users/" + strings.ToLower(name)
		if loc := resp.Header.Get("Location"); loc != want {
			t.Fatalf("Location = %q, want %q", loc, want)
		}
		if strings.Contains(string(resp.Body), "long enough") || strings.Contains(string(resp.Body), "$2a$") {
			t.Fatal("the response shows the password or its hash")
		}
		u, err := anon.GetUser(ctx, strings.ToUpper(name))
		if err != nil {
			t.Fatal(err)
		}
		if u.Username != strings.ToLower(name) || u.DisplayName != "Reggie" || u.Role != "user" {
			t.Fatalf("user = %+v", u)
		}
		if time.Since(u.CreatedAt) > time.Minute {
			t.Fatalf("created_at = %v", u.CreatedAt)
		}
	})

	t.Run("ErrUsernameTakenInAnyCase", func(t *testing.T) {
		a := env.mustAccount(t, "taken")
		_, err := anon.Register(ctx, client.Registration{Username: strings.ToUpper(a.Username), Password: "another password"})
		wantProblem(t, err, http.StatusConflict)
	})

	t.Run("ErrValidation", func(t *testing.T) {
		tests := []struct {
			name   string
			reg    client.Registration
			fields []string
		}{
			{"UsernameShort", client.Registration{Username: "ab", Password: "12345678"}, []string{"username"}},
			{"UsernameLong", client.Registration{Username: strings.Repeat("a", 31), Password: "12345678"}, []string{"username"}},
			{"UsernameChars", client.Registration{Username: "bad-name", Password: "12345678"}, []string{"username"}},
			{"UsernameReserved", client.Registration{Username: "admin", Password: "12345678"}, []string{"username"}},
			{"UsernameMe", client.Registration{Username: "me", Password: "12345678"}, []string{"username"}},
			{"PasswordShort", client.Registration{Username: env.name("pw"), Password: "1234567"}, []string{"password"}},
			{"PasswordLong", client.Registration{Username: env.name("pw"), Password: strings.Repeat("p", 73)}, []string{"password"}},
			{"DisplayNameLong", client.Registration{Username: env.name("dn"), DisplayName: strings.Repeat("d", 51), Password: "12345678"}, []string{"display_name"}},
			{"Everything", client.Registration{Username: "x", DisplayName: strings.Repeat("d", 51), Password: "1"}, []string{"username", "display_name", "password"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := anon.Register(ctx, tc.reg)
				wantFields(t, wantProblem(t, err, http.StatusUnprocessableEntity), tc.fields...)
			})
		}
	})

	t.Run("ErrRoleInRegistration", func(t *testing.T) {
		name := env.name("sneaky")
		resp := raw(t, anon, "POST", "/v1/users", "application/json",
			`{"username":"`+name+`","password":"12345678","role":"admin"}`, nil)
		if resp.Status != http.StatusBadRequest || !strings.Contains(string(resp.Body), "role") {
			t.Fatalf("status = %d: %s; want 400 naming the role field", resp.Status, resp.Body)
		}
		_, err := anon.GetUser(ctx, name)
		wantProblem(t, err, http.StatusNotFound)
	})

	t.Run("ErrUnknownUser", func(t *testing.T) {
		_, err := anon.GetUser(ctx, "no_such_user")
		wantProblem(t, err, http.StatusNotFound)
	})

	t.Run("UpdateMe", func(t *testing.T) {
		a := env.mustAccount(t, "upd")
		name := "New Name"
		u, err := a.C.UpdateMe(ctx, client.ProfileChange{DisplayName: ptr("  " + name + " ")})
		if err != nil {
			t.Fatal(err)
		}
		if u.DisplayName != name { // trimmed
			t.Fatalf("display_name = %q", u.DisplayName)
		}
		long := strings.Repeat("n", 51)
		_, err = a.C.UpdateMe(ctx, client.ProfileChange{DisplayName: &long})
		wantFields(t, wantProblem(t, err, http.StatusUnprocessableEntity), "display_name")
		_, err = a.C.UpdateMe(ctx, client.ProfileChange{})
		wantProblem(t, err, http.StatusUnprocessableEntity)
		_, err = anon.UpdateMe(ctx, client.ProfileChange{DisplayName: &name})
		wantProblem(t, err, http.StatusUnauthorized)
	})

	t.Run("ChangePassword", func(t *testing.T) {
		a := env.mustAccount(t, "pwchange")
		newPW, wrong := "a brand new password", "not the password"
		_, err := a.C.UpdateMe(ctx, client.ProfileChange{Password: &newPW})
		wantFields(t, wantProblem(t, err, http.StatusUnprocessableEntity), "current_password")
		_, err = a.C.UpdateMe(ctx, client.ProfileChange{Password: &newPW, CurrentPassword: &wrong})
		wantProblem(t, err, http.StatusForbidden)
		if _, err := a.C.UpdateMe(ctx, client.ProfileChange{Password: &newPW, CurrentPassword: &a.Password}); err != nil {
			t.Fatal(err)
		}
		_, err = anon.Login(ctx, a.Username, a.Password)
		wantProblem(t, err, http.StatusUnauthorized)
		if _, err := anon.Login(ctx, a.Username, newPW); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
		// Sessions made with the old password are over.
		_, err = anon.Refresh(ctx, a.Tokens.RefreshToken)
		wantProblem(t, err, http.StatusUnauthorized)
	})

	t.Run("DeleteMe", func(t *testing.T) {
		a := env.mustAccount(t, "leaver")
		c, err := a.C.CreateChirp(ctx, client.NewChirp{Message: "goodbye"})
		if err != nil {
			t.Fatal(err)
		}
		// A stolen access token alone cannot delete the account.
		wantFields(t, wantProblem(t, a.C.DeleteMe(ctx, ""), http.StatusUnprocessableEntity), "current_password")
		wantProblem(t, a.C.DeleteMe(ctx, "not the password"), http.StatusForbidden)
		if resp := raw(t, a.C, "DELETE", "/v1/users/me", "", "", nil); resp.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("DELETE without a body: status %d, want 415", resp.Status)
		}
		if _, err := anon.GetUser(ctx, a.Username); err != nil {
			t.Fatalf("the refused deletions deleted the user: %v", err)
		}
		if err := a.C.DeleteMe(ctx, a.Password); err != nil {
			t.Fatal(err)
		}
		_, err = anon.GetUser(ctx, a.Username)
		wantProblem(t, err, http.StatusNotFound)
		_, err = anon.GetChirp(ctx, c.ID)
		wantProblem(t, err, http.StatusNotFound)
		// The deleted user's access token is not yet expired, but refused.
		_, err = a.C.CreateChirp(ctx, client.NewChirp{Message: "from beyond"})
		wantProblem(t, err, http.StatusUnauthorized)
		_, err = anon.Refresh(ctx, a.Tokens.RefreshToken)
		wantProblem(t, err, http.StatusUnauthorized)
		wantProblem(t, anon.DeleteMe(ctx, a.Password), http.StatusUnauthorized)
	})
}

func testRoles(t *testing.T, env *Env) {
	ctx := context.Background()
	admin := env.mustAdmin(t)
	user := env.mustAccount(t, "plain")
	target := env.mustAccount(t, "target")

	t.Run("ErrNotAdmin", func(t *testing.T) {
		_, err := user.C.SetRole(ctx, target.Username, "admin")
		wantProblem(t, err, http.StatusForbidden)
		_, err = env.Client().SetRole(ctx, target.Username, "admin")
		wantProblem(t, err, http.StatusUnauthorized)
		_, err = user.C.CountChirps(ctx, client.Filter{})
		wantProblem(t, err, http.StatusForbidden)
		_, err = env.Client().CountChirps(ctx, client.Filter{})
		wantProblem(t, err, http.StatusUnauthorized)
	})

	t.Run("SetRole", func(t *testing.T) {
		u, err := admin.C.SetRole(ctx, target.Username, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != "admin" {
			t.Fatalf("role = %q", u.Role)
		}
		// The role takes effect at once, with the token issued before.
		if _, err := target.C.CountChirps(ctx, client.Filter{}); err != nil {
			t.Fatalf("new admin counting: %v", err)
		}
		if _, err := admin.C.SetRole(ctx, target.Username, "user"); err != nil {
			t.Fatal(err)
		}
		_, err = target.C.CountChirps(ctx, client.Filter{})
		wantProblem(t, err, http.StatusForbidden)
	})

	t.Run("ErrBadRole", func(t *testing.T) {
		_, err := admin.C.SetRole(ctx, target.Username, "superuser")
		wantFields(t, wantProblem(t, err, http.StatusUnprocessableEntity), "role")
		_, err = admin.C.SetRole(ctx, "no_such_user", "admin")
		wantProblem(t, err, http.StatusNotFound)
	})
}
