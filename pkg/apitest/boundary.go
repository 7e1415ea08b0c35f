package apitest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/chirper/chirper/pkg/client"
	"github.com/chirper/chirper/pkg/httpapi"
)

// letters returns n random lower-case letters: names of an exact length
// that no other test takes.
func letters(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return string(b)
}

// tagValues are n distinct tags (the same tag twice counts once).
func tagValues(n int) []any {
	tags := make([]any, n)
	for i := range tags {
		tags[i] = fmt.Sprint("t", i)
	}
	return tags
}

// tagQuery is the query of tagValues(n).
func tagQuery(n int) string {
	q := url.Values{}
	for _, t := range tagValues(n) {
		q.Add("tag", t.(string))
	}
	return q.Encode()
}

// testBoundaries sends, for each constrained field of a request body or
// query, a value just inside and just outside each bound, and checks that
// the server's verdict (accepted, or refused with a 4xx) is the document's:
// the schema, judged by kin-openapi, and the server agree.
func testBoundaries(t *testing.T, env *Env) {
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	schema := func(name string) *openapi3.Schema { return doc.Components.Schemas[name].Value }
	param := func(name string) *openapi3.Schema { return doc.Components.Parameters[name].Value.Schema.Value }
	author := env.mustAccount(t, "bounds")
	admin := env.mustAdmin(t)
	target := env.mustAccount(t, "promoted")

	type body map[string]any
	type bodyCase struct {
		name         string
		c            *client.Client
		method, path string
		schema       *openapi3.Schema
		body         body
	}
	var cases []bodyCase
	add := func(name string, c *client.Client, method, path string, s *openapi3.Schema, b body) {
		cases = append(cases, bodyCase{name, c, method, path, s, b})
	}
	anon := env.Client()
	password := "correct horse battery"
	for _, n := range []int{2, 3, 30, 31} {
		add(fmt.Sprintf("username of %d", n), anon, "POST", "/v1/users", schema("Registration"), body{"username": letters(n), "password": password})
	}
	add("username with a hyphen", anon, "POST", "/v1/users", schema("Registration"), body{"username": "ab-" + letters(5), "password": password})
	for _, n := range []int{7, 8, 72, 73} {
		add(fmt.Sprintf("password of %d", n), anon, "POST", "/v1/users", schema("Registration"), body{"username": letters(12), "password": strings.Repeat("p", n)})
	}
	for _, n := range []int{50, 51} {
		add(fmt.Sprintf("display name of %d", n), anon, "POST", "/v1/users", schema("Registration"), body{"username": letters(12), "password": password, "display_name": strings.Repeat("d", n)})
		add(fmt.Sprintf("new display name of %d", n), author.C, "PATCH", "/v1/users/me", schema("ProfileChange"), body{"display_name": strings.Repeat("d", n)})
	}
	for _, n := range []int{0, 1, 280, 281} {
		add(fmt.Sprintf("message of %d", n), author.C, "POST", "/v1/chirps", schema("NewChirp"), body{"message": strings.Repeat("m", n)})
	}
	for _, n := range []int{10, 11} {
		tags := make([]string, n)
		for i := range tags {
			tags[i] = fmt.Sprint("t", i)
		}
		add(fmt.Sprintf("%d tags", n), author.C, "POST", "/v1/chirps", schema("NewChirp"), body{"message": "tagged", "tags": tags})
	}
	for _, n := range []int{50, 51} {
		add(fmt.Sprintf("a tag of %d", n), author.C, "POST", "/v1/chirps", schema("NewChirp"), body{"message": "tagged", "tags": []string{strings.Repeat("t", n)}})
	}
	add("a tag with a space", author.C, "POST", "/v1/chirps", schema("NewChirp"), body{"message": "tagged", "tags": []string{"two words"}})
	add("a #tag in another case", author.C, "POST", "/v1/chirps", schema("NewChirp"), body{"message": "tagged", "tags": []string{"#GoLang"}})
	for _, role := range []string{"admin", "user", "root"} {
		add("role "+role, admin.C, "PUT", "/v1/users/"+target.Username+"/role", schema("RoleChange"), body{"role": role})
	}
	for _, n := range []int{72, 73} {
		add(fmt.Sprintf("login password of %d", n), anon, "POST", "/v1/auth/login", schema("Login"), body{"username": author.Username, "password": strings.Repeat("p", n)})
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := json.Marshal(c.body)
			if err != nil {
				t.Fatal(err)
			}
			var value any
			json.Unmarshal(raw, &value)
			docErr := c.schema.VisitJSON(value)
			resp, err := c.c.Raw(context.Background(), c.method, c.path, "application/json", raw, nil)
			if err != nil {
				t.Fatal(err)
			}
			accepted := resp.Status < 400
			// A login with a wrong password is refused for that reason: only
			// the 422 of a password over the bound is the verdict on it.
			if c.method == "POST" && c.path == "/v1/auth/login" {
				accepted = resp.Status != http.StatusUnprocessableEntity
			}
			if accepted != (docErr == nil) {
				t.Errorf("the document says valid=%v (%v) but the server answered %d: %s", docErr == nil, docErr, resp.Status, resp.Body)
			}
		})
	}

	for _, q := range []struct {
		name, query string
		schema      *openapi3.Schema
		value       any
	}{
		{"limit 0", "limit=0", param("Limit"), 0.0},
		{"limit 1", "limit=1", param("Limit"), 1.0},
		{"limit 100", "limit=100", param("Limit"), 100.0},
		{"limit 101", "limit=101", param("Limit"), 101.0},
		{"match all", "match=all", param("Match"), "all"},
		{"match most", "match=most", param("Match"), "most"},
		{"10 tags", tagQuery(10), param("Tag"), tagValues(10)},
		{"11 tags", tagQuery(11), param("Tag"), tagValues(11)},
		{"since a time", "since=" + url.QueryEscape("2026-01-02T15:04:05Z"), param("Since"), "2026-01-02T15:04:05Z"},
		{"since a day", "since=2026-01-02", param("Since"), "2026-01-02"},
	} {
		t.Run("query "+q.name, func(t *testing.T) {
			docErr := q.schema.VisitJSON(q.value)
			resp := raw(t, anon, "GET", "/v1/chirps?"+q.query, "", "", nil)
			if accepted := resp.Status < 400; accepted != (docErr == nil) {
				t.Errorf("the document says valid=%v (%v) but the server answered %d: %s", docErr == nil, docErr, resp.Status, resp.Body)
			}
		})
	}
}
