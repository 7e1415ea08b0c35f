package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/chirper/chirper/pkg/chirper"
)

// AuthLimits are the stricter limits on the endpoints that cost a bcrypt
// hash: login attempts, against password guessing, and registrations.
type AuthLimits struct {
	// LoginPerUsername counts the attempts on one username from one client
	// address. Counting the pair, not the username alone, means a stranger
	// cannot lock a user out: the user's own address has its own count.
	LoginPerUsername *Limiter
	// LoginPerAddress counts every attempt from one client address.
	LoginPerAddress *Limiter
	// RegisterPerAddress counts the registrations from one client address.
	RegisterPerAddress *Limiter
}

// tokensResponse is a fresh pair of tokens.
type tokensResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// writeTokens answers with a new access token for u and the refresh token.
func writeTokens(w http.ResponseWriter, r *http.Request, log *slog.Logger, signer chirper.TokenSigner, u *chirper.User, refresh string) {
	access, err := signer.Sign(u)
	if err != nil {
		writeError(w, r, log, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	encode(w, http.StatusOK, tokensResponse{
		AccessToken: access, TokenType: "Bearer",
		ExpiresIn: int(signer.TTL().Seconds()), RefreshToken: refresh,
	})
}

func handleLogin(log *slog.Logger, users chirper.UserStore, passwords chirper.PasswordHasher, signer chirper.TokenSigner, sessions chirper.SessionService, limits AuthLimits) http.Handler {
	type request struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := decode[request](w, r)
		if !ok {
			return
		}
		if err := chirper.ValidateLoginPassword(req.Password); err != nil {
			writeError(w, r, log, err)
			return
		}
		client := info(r.Context()).client
		if !limits.LoginPerAddress.check(w, r, "login-ip:"+client) {
			return
		}
		// A name that cannot be a username cannot log in: it is answered at
		// once, and never becomes a limiter key.
		username := chirper.NormalizeUsername(req.Username)
		if !chirper.ValidUsername(username) {
			writeError(w, r, log, chirper.Errorf(chirper.EUNAUTHORIZED, "wrong username or password"))
			return
		}
		if !limits.LoginPerUsername.check(w, r, "login-user:"+username+"@"+client) {
			return
		}
		u, err := users.FindUserByUsername(r.Context(), username)
		if err != nil && chirper.ErrorCode(err) != chirper.ENOTFOUND {
			writeError(w, r, log, err)
			return
		}
		if info(r.Context()).clientLeft() { // no one would read the answer: spare the bcrypt work
			writeError(w, r, log, context.Canceled)
			return
		}
		// Check does the same bcrypt work for an unknown user as for a
		// known one, so timing does not tell which usernames exist.
		if err := passwords.Check(u, req.Password); err != nil {
			writeError(w, r, log, err)
			return
		}
		refresh, err := sessions.Start(r.Context(), u.ID)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeTokens(w, r, log, signer, u, refresh)
	})
}

func handleRefresh(log *slog.Logger, users chirper.UserStore, signer chirper.TokenSigner, sessions chirper.SessionService) http.Handler {
	type request struct {
		RefreshToken string `json:"refresh_token"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := decode[request](w, r)
		if !ok {
			return
		}
		next, userID, err := sessions.Refresh(r.Context(), req.RefreshToken)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		u, err := users.FindUserByID(r.Context(), userID)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeTokens(w, r, log, signer, u, next)
	})
}

func handleLogout(log *slog.Logger, sessions chirper.SessionService) http.Handler {
	type request struct {
		RefreshToken string `json:"refresh_token"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := decode[request](w, r)
		if !ok {
			return
		}
		if err := sessions.End(r.Context(), req.RefreshToken); err != nil {
			writeError(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
