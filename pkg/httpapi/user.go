package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/mux"

	"github.com/chirper/chirper/pkg/chirper"
)

// userResponse is a user as the API shows it: never a password or hash.
type userResponse struct {
	ID             string    `json:"id"`
	Username       string    `json:"username"`
	DisplayName    string    `json:"display_name"`
	Role           string    `json:"role"`
	CreatedAt      time.Time `json:"created_at"`
	FollowersCount int64     `json:"followers_count"`
	FollowingCount int64     `json:"following_count"`
	ChirpsCount    int64     `json:"chirps_count"`
}

func newUserResponse(u *chirper.User, c chirper.UserCounts) userResponse {
	return userResponse{
		ID: itoa(u.ID), Username: u.Username, DisplayName: u.DisplayName,
		Role: string(u.Role), CreatedAt: u.CreatedAt.UTC(),
		FollowersCount: c.Followers, FollowingCount: c.Following, ChirpsCount: c.Chirps,
	}
}

// writeUser answers with the user and its counts.
func writeUser(w http.ResponseWriter, r *http.Request, log *slog.Logger, follows chirper.FollowStore, u *chirper.User) {
	counts, err := follows.CountUsers(r.Context(), []int64{u.ID})
	if err != nil {
		writeError(w, r, log, err)
		return
	}
	encode(w, http.StatusOK, newUserResponse(u, counts[u.ID]))
}

// UsersGroup is the users endpoint group: accounts, roles and sessions.
func UsersGroup(log *slog.Logger, users chirper.UserStore, follows chirper.FollowStore, passwords chirper.PasswordHasher, signer chirper.TokenSigner, sessions chirper.SessionService, limits AuthLimits, keys chirper.IdempotencyStore) Group {
	return Group{Name: GroupUsers, Handlers: map[string]http.Handler{
		"POST /v1/users":                           handleUserCreate(log, users, passwords, limits.RegisterPerAddress, keys),
		"GET /v1/users/{username}":                 handleUserGet(log, users, follows),
		"PATCH /v1/users/me":                       handleUserUpdate(log, users, follows, passwords, sessions),
		"PUT /v1/users/me/following/{username}":    handleFollow(log, users, follows, follows.Follow),
		"DELETE /v1/users/me/following/{username}": handleFollow(log, users, follows, follows.Unfollow),
		"GET /v1/users/{username}/following":       handleFollowList(log, follows, false),
		"GET /v1/users/{username}/followers":       handleFollowList(log, follows, true),
		"DELETE /v1/users/me":                      handleUserDelete(log, users, passwords),
		"PUT /v1/users/{username}/role":            handleUserSetRole(log, users, follows),
		"POST /v1/auth/login":                      handleLogin(log, users, passwords, signer, sessions, limits),
		"POST /v1/auth/refresh":                    handleRefresh(log, users, signer, sessions),
		"POST /v1/auth/logout":                     handleLogout(log, sessions),
	}}
}

// handleUserCreate registers a user. The cheap checks come before the
// bcrypt hash: the body's rules, the per-address limit, and whether the name
// is taken, so that a taken name costs no hash. Its quicker 409 tells no more
// than the 409 itself.
func handleUserCreate(log *slog.Logger, users chirper.UserStore, passwords chirper.PasswordHasher, limit *Limiter, keys chirper.IdempotencyStore) http.Handler {
	type request struct {
		Username    string `json:"username"`
		DisplayName string `json:"display_name"`
		Password    string `json:"password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := decode[request](w, r)
		if !ok {
			return
		}
		reg := chirper.Registration{Username: req.Username, DisplayName: req.DisplayName, Password: req.Password}
		reg.Normalize()
		if err := reg.Validate(); err != nil {
			writeError(w, r, log, err)
			return
		}
		client := info(r.Context()).client
		if !limit.check(w, r, "register-ip:"+client) {
			return
		}
		// The password is no part of the idempotency fingerprint: not even
		// a hash of it is kept beside the key.
		fingerprint := request{Username: reg.Username, DisplayName: reg.DisplayName}
		createOnce(w, r, log, keys, "POST /v1/users from "+client, fingerprint, func() (*created, error) {
			switch _, err := users.FindUserByUsername(r.Context(), reg.Username); {
			case err == nil:
				return nil, chirper.Errorf(chirper.ECONFLICT, "username %q is taken", reg.Username)
			case chirper.ErrorCode(err) != chirper.ENOTFOUND:
				return nil, err
			}
			if info(r.Context()).clientLeft() { // no one would read the answer: spare the bcrypt work
				return nil, context.Canceled
			}
			hash, err := passwords.Hash(reg.Password)
			if err != nil {
				return nil, err
			}
			u := &chirper.User{Username: reg.Username, DisplayName: reg.DisplayName, Role: chirper.RoleUser, PasswordHash: hash}
			if err := users.CreateUser(r.Context(), u); err != nil {
				return nil, err
			}
			return &created{location: "/v1/users/" + url.PathEscape(u.Username), answer: newUserResponse(u, chirper.UserCounts{})}, nil
		})
	})
}

func handleUserGet(log *slog.Logger, users chirper.UserStore, follows chirper.FollowStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := users.FindUserByUsername(r.Context(), mux.Vars(r)["username"])
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeUser(w, r, log, follows, u)
	})
}

func handleUserUpdate(log *slog.Logger, users chirper.UserStore, follows chirper.FollowStore, passwords chirper.PasswordHasher, sessions chirper.SessionService) http.Handler {
	type request struct {
		DisplayName     *string `json:"display_name"`
		Password        *string `json:"password"`
		CurrentPassword *string `json:"current_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		me := requireUser(w, r, log, users)
		if me == nil {
			return
		}
		req, ok := decode[request](w, r)
		if !ok {
			return
		}
		change := chirper.ProfileChange{DisplayName: req.DisplayName, Password: req.Password, CurrentPassword: req.CurrentPassword}
		change.Normalize()
		if err := change.Validate(); err != nil {
			writeError(w, r, log, err)
			return
		}
		upd := chirper.UserUpdate{DisplayName: change.DisplayName}
		if change.Password != nil {
			if !checkCurrentPassword(w, r, log, passwords, me, *change.CurrentPassword) {
				return
			}
			hash, err := passwords.Hash(*change.Password)
			if err != nil {
				writeError(w, r, log, err)
				return
			}
			upd.PasswordHash = &hash
		}
		u, err := users.UpdateUser(r.Context(), me.ID, upd)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		if upd.PasswordHash != nil {
			// A new password ends every session made with the old one.
			if err := sessions.EndAll(r.Context(), me.ID); err != nil {
				writeError(w, r, log, err)
				return
			}
		}
		writeUser(w, r, log, follows, u)
	})
}

// handleUserDelete deletes the caller's account. Like a password change it
// needs the current password: a stolen access token alone cannot destroy
// the account.
func handleUserDelete(log *slog.Logger, users chirper.UserStore, passwords chirper.PasswordHasher) http.Handler {
	type request struct {
		CurrentPassword string `json:"current_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		me := requireUser(w, r, log, users)
		if me == nil {
			return
		}
		req, ok := decode[request](w, r)
		if !ok {
			return
		}
		if req.CurrentPassword == "" {
			writeError(w, r, log, chirper.Invalid("current_password", "is required to delete the account"))
			return
		}
		if !checkCurrentPassword(w, r, log, passwords, me, req.CurrentPassword) {
			return
		}
		if err := users.DeleteUser(r.Context(), me.ID); err != nil {
			writeError(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// checkCurrentPassword checks the password a user gives to confirm a change
// to their account; when it is wrong it answers 403 and returns false.
func checkCurrentPassword(w http.ResponseWriter, r *http.Request, log *slog.Logger, passwords chirper.PasswordHasher, me *chirper.User, password string) bool {
	err := passwords.Check(me, password)
	if chirper.ErrorCode(err) == chirper.EUNAUTHORIZED {
		err = chirper.Errorf(chirper.EFORBIDDEN, "current_password is wrong")
	}
	if err != nil {
		writeError(w, r, log, err)
		return false
	}
	return true
}

func handleUserSetRole(log *slog.Logger, users chirper.UserStore, follows chirper.FollowStore) http.Handler {
	type request struct {
		Role string `json:"role"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requireAdmin(w, r, log, users, "only an admin may change a role") == nil {
			return
		}
		req, ok := decode[request](w, r)
		if !ok {
			return
		}
		role := chirper.Role(req.Role)
		if !role.Valid() {
			writeError(w, r, log, chirper.Invalid("role", `must be "user" or "admin"`))
			return
		}
		u, err := users.SetUserRole(r.Context(), mux.Vars(r)["username"], role)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeUser(w, r, log, follows, u)
	})
}

// handleFollow follows or unfollows (change) the {username} of the path as
// the caller: 204 also when nothing changed.
func handleFollow(log *slog.Logger, users chirper.UserStore, follows chirper.FollowStore, change func(ctx context.Context, followerID int64, followee string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		me := requireUser(w, r, log, users)
		if me == nil {
			return
		}
		if err := change(r.Context(), me.ID, mux.Vars(r)["username"]); err != nil {
			writeError(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleFollowList lists whom the {username} of the path follows, or, with
// followers, who follows them: newest follow first, keyset-paginated.
func handleFollowList(log *slog.Logger, follows chirper.FollowStore, followers bool) http.Handler {
	type response struct {
		Users      []userResponse `json:"users"`
		NextCursor string         `json:"next_cursor,omitempty"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := chirper.FollowFilter{Username: mux.Vars(r)["username"], Followers: followers}
		limit, before, fields := parsePaging(q)
		f.Limit, f.BeforeID = limit, before
		f.Normalize()
		if err := f.Validate(); err != nil {
			if e, ok := err.(*chirper.Error); ok {
				fields = append(fields, e.Fields...)
			}
		}
		if len(fields) > 0 {
			badRequest(w, r, "the query is not valid", fields...)
			return
		}
		page, err := follows.ListFollows(r.Context(), f)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		ids := make([]int64, len(page.Users))
		for i, u := range page.Users {
			ids[i] = u.ID
		}
		counts, err := follows.CountUsers(r.Context(), ids)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		resp := response{Users: make([]userResponse, len(page.Users))}
		for i, u := range page.Users {
			resp.Users[i] = newUserResponse(u, counts[u.ID])
		}
		if page.NextBeforeID != 0 {
			resp.NextCursor = encodeCursor(page.NextBeforeID)
			w.Header().Set("Link", nextLink(r, resp.NextCursor))
		}
		encode(w, http.StatusOK, resp)
	})
}
