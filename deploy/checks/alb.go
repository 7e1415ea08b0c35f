package checks

import (
	"regexp"
	"slices"
	"strings"

	"github.com/chirper/chirper/pkg/httpapi"
)

// Service is one ECS service of the app stack.
type Service struct {
	Name     string // the endpoint group, as in httpapi.Routes
	Logical  string // its CloudFormation logical-id stem
	DBUser   string // its PostgreSQL role (pkg/postgres migrations)
	ReadOnly bool   // reads chirps through the proxy's read-only endpoint
	MinTasks int    // default minimum of its auto scaling
	MaxTasks int    // default maximum
	// Stream: its connections last (live streams), so it scales on the
	// streams open per task and its targets drain briefly.
	Stream bool
}

// Services are the five services, in the order the app stack lists them.
var Services = []Service{
	{Name: httpapi.GroupUsers, Logical: "Users", DBUser: "chirper_users", MinTasks: 2, MaxTasks: 6},
	{Name: httpapi.GroupListChirps, Logical: "ListChirps", DBUser: "chirper_list_chirps", ReadOnly: true, MinTasks: 2, MaxTasks: 20},
	{Name: httpapi.GroupGetChirp, Logical: "GetChirp", DBUser: "chirper_get_chirp", ReadOnly: true, MinTasks: 2, MaxTasks: 20},
	{Name: httpapi.GroupCreateChirp, Logical: "CreateChirp", DBUser: "chirper_create_chirp", MinTasks: 2, MaxTasks: 10},
	{Name: httpapi.GroupStream, Logical: "Stream", DBUser: "chirper_stream", MinTasks: 2, MaxTasks: 20, Stream: true},
}

// Rule is one listener rule of the load balancer: a path pattern and the
// methods it matches, forwarded to a service.
type Rule struct {
	Priority int
	Path     string
	Methods  []string
	Service  Service
}

var templateVar = regexp.MustCompile(`\{[^}]+\}`)

// ALBPath turns a route template into a load balancer path pattern:
// "/v1/chirps/{id:[0-9]+}" becomes "/v1/chirps/*".
func ALBPath(template string) string { return templateVar.ReplaceAllString(template, "*") }

// ListenerRules derives the load balancer's rules from the routing table:
// one per route (GET rules match HEAD too), the most specific paths first,
// since a load balancer's "*" also matches "/".
func ListenerRules(routes []httpapi.Route) []Rule {
	rules := make([]Rule, 0, len(routes))
	for _, r := range routes {
		methods := []string{r.Method}
		if r.Method == "GET" {
			methods = append(methods, "HEAD")
		}
		svc := Services[slices.IndexFunc(Services, func(s Service) bool { return s.Name == r.Group })]
		rules = append(rules, Rule{Path: ALBPath(r.Path), Methods: methods, Service: svc})
	}
	slices.SortStableFunc(rules, func(a, b Rule) int {
		segA, segB := strings.Count(a.Path, "/"), strings.Count(b.Path, "/")
		if segA != segB {
			return segB - segA // deeper paths first
		}
		return strings.Count(a.Path, "*") - strings.Count(b.Path, "*") // literals first
	})
	for i := range rules {
		rules[i].Priority = 10 * (i + 1)
	}
	return rules
}
