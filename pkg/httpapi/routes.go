package httpapi

// The endpoint groups: each is one service in a split deployment.
const (
	GroupUsers       = "users"
	GroupListChirps  = "list-chirps"
	GroupGetChirp    = "get-chirp"
	GroupCreateChirp = "create-chirp"
	GroupStream      = "stream"
)

// Route is one row of the routing table: a method and path template and the
// group that owns it. HEAD is served wherever GET is.
type Route struct {
	Group  string
	Method string
	Path   string
}

// Routes is the routing table of the API v1, the one place that says which
// group (service) serves what. Order matters where templates overlap: a
// literal path comes before the template that would also match it.
var Routes = []Route{
	{GroupUsers, "POST", "/v1/users"},
	{GroupUsers, "PATCH", "/v1/users/me"},
	{GroupUsers, "DELETE", "/v1/users/me"},
	{GroupUsers, "GET", "/v1/users/{username}"},
	{GroupUsers, "PUT", "/v1/users/{username}/role"},
	{GroupUsers, "POST", "/v1/auth/login"},
	{GroupUsers, "POST", "/v1/auth/refresh"},
	{GroupUsers, "POST", "/v1/auth/logout"},
	{GroupUsers, "PUT", "/v1/users/me/following/{username}"},
	{GroupUsers, "DELETE", "/v1/users/me/following/{username}"},
	{GroupUsers, "GET", "/v1/users/{username}/following"},
	{GroupUsers, "GET", "/v1/users/{username}/followers"},

	{GroupListChirps, "GET", "/v1/chirps"},
	{GroupListChirps, "GET", "/v1/chirps/count"},
	{GroupListChirps, "GET", "/v1/users/{username}/chirps"},
	{GroupListChirps, "GET", "/v1/timeline"},
	{GroupListChirps, "GET", "/v1/openapi.yaml"},
	{GroupListChirps, "GET", "/docs"},
	{GroupListChirps, "GET", "/docs/{file}"},

	{GroupGetChirp, "GET", "/v1/chirps/{id:[0-9]+}"},

	{GroupCreateChirp, "POST", "/v1/chirps"},
	{GroupCreateChirp, "DELETE", "/v1/chirps/{id:[0-9]+}"},

	{GroupStream, "GET", StreamPath},
}

// LongLived reports whether the route's requests last as long as their
// client reads (the stream group's): the per-request database deadline and
// the slow-request log leave them alone, a proxy lifts the server's
// deadlines off them and bounds each write, and they bound their own reads.
func (r Route) LongLived() bool { return r.Group == GroupStream }

// longLivedPaths are the paths of the long-lived routes, found once: every
// request asks.
var longLivedPaths = func() map[string]bool {
	paths := make(map[string]bool)
	for _, r := range Routes {
		if r.LongLived() {
			paths[r.Path] = true
		}
	}
	return paths
}()

// longLived reports whether path is a long-lived route's.
func longLived(path string) bool { return longLivedPaths[path] }

// methods are the HTTP methods the route answers: HEAD too for a GET.
func (r Route) methods() []string {
	if r.Method == "GET" {
		return []string{"GET", "HEAD"}
	}
	return []string{r.Method}
}
