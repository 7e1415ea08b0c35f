// Package client is a typed Go client of the Chirper API v1. Every failed
// call returns a *Problem: the problem details the server sent.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls one Chirper API. The zero value is not usable; call New.
type Client struct {
	baseURL        string
	http           *http.Client
	token          string
	idempotencyKey string
}

// New returns a client of the API at baseURL (such as http://localhost:8080)
// that sends its requests through httpClient (http.DefaultClient when nil).
func New(baseURL string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), http: httpClient}
}

// WithToken returns a copy of the client that sends the access token.
func (c *Client) WithToken(accessToken string) *Client {
	cp := *c
	cp.token = accessToken
	return &cp
}

// WithIdempotencyKey returns a copy of the client that sends the key as
// Idempotency-Key: a POST /v1/chirps or /v1/users sent again with the same
// key and body within 24 hours answers as the first did, creating nothing.
func (c *Client) WithIdempotencyKey(key string) *Client {
	cp := *c
	cp.idempotencyKey = key
	return &cp
}

// User is a registered account.
type User struct {
	ID             string    `json:"id"`
	Username       string    `json:"username"`
	DisplayName    string    `json:"display_name"`
	Role           string    `json:"role"`
	CreatedAt      time.Time `json:"created_at"`
	FollowersCount int64     `json:"followers_count"`
	FollowingCount int64     `json:"following_count"`
	ChirpsCount    int64     `json:"chirps_count"`
}

// UserPage is one page of users, newest follow first.
type UserPage struct {
	Users      []User `json:"users"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Chirp is a posted message.
type Chirp struct {
	ID        string    `json:"id"`
	AuthorID  string    `json:"author_id"`
	Author    string    `json:"author"`
	Message   string    `json:"message"`
	Tags      []string  `json:"tags"`
	CreatedAt time.Time `json:"created_at"`
}

// Page is one page of chirps, newest first.
type Page struct {
	Chirps     []Chirp `json:"chirps"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// Tokens are what a login or a refresh returns.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// Registration is a new account.
type Registration struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name,omitempty"`
	Password    string `json:"password"`
}

// ProfileChange changes the caller's own account; nil fields stay.
type ProfileChange struct {
	DisplayName     *string `json:"display_name,omitempty"`
	Password        *string `json:"password,omitempty"`
	CurrentPassword *string `json:"current_password,omitempty"`
}

// NewChirp is a chirp to post.
type NewChirp struct {
	Message string   `json:"message"`
	Tags    []string `json:"tags,omitempty"`
}

// Filter selects chirps for lists and counts.
type Filter struct {
	Tags     []string
	MatchAll bool
	Author   string // lists only
	Since    time.Time
	Until    time.Time
	Limit    int    // lists only
	Cursor   string // lists only
	Search   string // lists only: words every chirp must have (q)
}

func (f Filter) query() url.Values {
	q := url.Values{}
	for _, t := range f.Tags {
		q.Add("tag", t)
	}
	if f.MatchAll {
		q.Set("match", "all")
	}
	if f.Author != "" {
		q.Set("author", f.Author)
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.Format(time.RFC3339Nano))
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Cursor != "" {
		q.Set("cursor", f.Cursor)
	}
	if f.Search != "" {
		q.Set("q", f.Search)
	}
	return q
}

// FieldError is one broken rule of one field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem details answer.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail"`
	Instance  string       `json:"instance"`
	RequestID string       `json:"request_id"`
	Errors    []FieldError `json:"errors"`
	Header    http.Header  `json:"-"` // the response's headers (Retry-After, Allow, ...)
}

// Error implements error.
func (p *Problem) Error() string {
	return fmt.Sprintf("chirper: %d %s: %s (request %s)", p.Status, p.Title, p.Detail, p.RequestID)
}

// Register creates an account.
func (c *Client) Register(ctx context.Context, r Registration) (*User, error) {
	var u User
	return &u, c.do(ctx, http.MethodPost, "/v1/users", r, &u)
}

// GetUser returns a user by username.
func (c *Client) GetUser(ctx context.Context, username string) (*User, error) {
	var u User
	return &u, c.do(ctx, http.MethodGet, "/v1/users/"+url.PathEscape(username), nil, &u)
}

// UpdateMe changes the caller's display name or password.
func (c *Client) UpdateMe(ctx context.Context, ch ProfileChange) (*User, error) {
	var u User
	return &u, c.do(ctx, http.MethodPatch, "/v1/users/me", ch, &u)
}

// DeleteMe deletes the caller's account with its chirps and sessions; the
// current password confirms it.
func (c *Client) DeleteMe(ctx context.Context, currentPassword string) error {
	return c.do(ctx, http.MethodDelete, "/v1/users/me", map[string]string{"current_password": currentPassword}, nil)
}

// SetRole gives a user a role; the caller must be an admin.
func (c *Client) SetRole(ctx context.Context, username, role string) (*User, error) {
	var u User
	return &u, c.do(ctx, http.MethodPut, "/v1/users/"+url.PathEscape(username)+"/role", map[string]string{"role": role}, &u)
}

// Login trades a username and password for tokens.
func (c *Client) Login(ctx context.Context, username, password string) (*Tokens, error) {
	var t Tokens
	return &t, c.do(ctx, http.MethodPost, "/v1/auth/login", map[string]string{"username": username, "password": password}, &t)
}

// Refresh trades a refresh token for new tokens.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*Tokens, error) {
	var t Tokens
	return &t, c.do(ctx, http.MethodPost, "/v1/auth/refresh", map[string]string{"refresh_token": refreshToken}, &t)
}

// Logout ends the session of a refresh token.
func (c *Client) Logout(ctx context.Context, refreshToken string) error {
	return c.do(ctx, http.MethodPost, "/v1/auth/logout", map[string]string{"refresh_token": refreshToken}, nil)
}

// CreateChirp posts a chirp as the caller.
func (c *Client) CreateChirp(ctx context.Context, n NewChirp) (*Chirp, error) {
	var ch Chirp
	return &ch, c.do(ctx, http.MethodPost, "/v1/chirps", n, &ch)
}

// GetChirp returns a chirp by id.
func (c *Client) GetChirp(ctx context.Context, id string) (*Chirp, error) {
	var ch Chirp
	return &ch, c.do(ctx, http.MethodGet, "/v1/chirps/"+url.PathEscape(id), nil, &ch)
}

// DeleteChirp deletes a chirp; the caller must be its author or an admin.
func (c *Client) DeleteChirp(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/chirps/"+url.PathEscape(id), nil, nil)
}

// ListChirps returns one page of chirps.
func (c *Client) ListChirps(ctx context.Context, f Filter) (*Page, error) {
	var p Page
	return &p, c.do(ctx, http.MethodGet, "/v1/chirps?"+f.query().Encode(), nil, &p)
}

// Follow makes the caller follow the user.
func (c *Client) Follow(ctx context.Context, username string) error {
	return c.do(ctx, http.MethodPut, "/v1/users/me/following/"+url.PathEscape(username), nil, nil)
}

// Unfollow makes the caller stop following the user.
func (c *Client) Unfollow(ctx context.Context, username string) error {
	return c.do(ctx, http.MethodDelete, "/v1/users/me/following/"+url.PathEscape(username), nil, nil)
}

// Following returns one page of the users that username follows; with
// followers, of those who follow username.
func (c *Client) Following(ctx context.Context, username string, followers bool, limit int, cursor string) (*UserPage, error) {
	which := "following"
	if followers {
		which = "followers"
	}
	var p UserPage
	return &p, c.do(ctx, http.MethodGet, "/v1/users/"+url.PathEscape(username)+"/"+which+"?"+Filter{Limit: limit, Cursor: cursor}.query().Encode(), nil, &p)
}

// Timeline returns one page of the caller's home timeline.
func (c *Client) Timeline(ctx context.Context, f Filter) (*Page, error) {
	var p Page
	return &p, c.do(ctx, http.MethodGet, "/v1/timeline?"+f.query().Encode(), nil, &p)
}

// ListUserChirps returns one page of a user's chirps.
func (c *Client) ListUserChirps(ctx context.Context, username string, f Filter) (*Page, error) {
	var p Page
	return &p, c.do(ctx, http.MethodGet, "/v1/users/"+url.PathEscape(username)+"/chirps?"+f.query().Encode(), nil, &p)
}

// CountChirps counts the chirps that match; the caller must be an admin.
func (c *Client) CountChirps(ctx context.Context, f Filter) (int64, error) {
	var r struct {
		Count int64 `json:"count"`
	}
	return r.Count, c.do(ctx, http.MethodGet, "/v1/chirps/count?"+f.query().Encode(), nil, &r)
}

// Response is a raw answer, for callers that need its headers.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Raw sends a request with the body as is (nil for none) and returns the
// answer whatever its status.
func (c *Client) Raw(ctx context.Context, method, path, contentType string, body []byte, header http.Header) (*Response, error) {
	if contentType != "" {
		header = header.Clone()
		if header == nil {
			header = http.Header{}
		}
		header.Set("Content-Type", contentType)
	}
	resp, err := c.send(ctx, method, path, body, header)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var (
		body        []byte
		contentType string
	)
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
		contentType = "application/json"
	}
	var header http.Header
	if c.idempotencyKey != "" && method == http.MethodPost {
		header = http.Header{"Idempotency-Key": {c.idempotencyKey}}
	}
	resp, err := c.Raw(ctx, method, path, contentType, body, header)
	if err != nil {
		return err
	}
	if resp.Status >= 400 {
		return newProblem(resp)
	}
	if out == nil || resp.Status == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("chirper: decoding a %d answer: %w", resp.Status, err)
	}
	return nil
}

// newProblem reads the problem details of a failed answer.
func newProblem(resp *Response) *Problem {
	p := &Problem{Status: resp.Status, Header: resp.Header}
	if err := json.Unmarshal(resp.Body, p); err != nil {
		p.Title, p.Detail = http.StatusText(resp.Status), string(resp.Body)
	}
	p.Status = resp.Status
	return p
}

// send sends a request with the body (nil for none) and the headers, and
// the access token unless the headers carry an Authorization.
func (c *Client) send(ctx context.Context, method, path string, body []byte, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if c.token != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.http.Do(req)
}
