package checks_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chirper/chirper/deploy/checks"
	"github.com/chirper/chirper/pkg/config"
	"github.com/chirper/chirper/pkg/httpapi"
)

// stacks are the templates in the order they are deployed.
var stacks = []string{"ci", "network", "data", "app", "edge"}

func loadStacks(t *testing.T) map[string]*checks.Template {
	t.Helper()
	out := map[string]*checks.Template{}
	for _, name := range stacks {
		tpl, err := checks.LoadTemplate(filepath.Join(root, "deploy/cloudformation", name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = tpl
	}
	files, _ := filepath.Glob(filepath.Join(root, "deploy/cloudformation/*.yaml"))
	if len(files) != len(stacks) {
		t.Fatalf("%d templates, want exactly %v", len(files), stacks)
	}
	return out
}

// TestTemplatesAgainstSpec validates every template offline against the
// current CloudFormation resource specification (the npm package
// @aws-cdk/aws-service-spec; make test installs it and sets CFN_SPEC_DB).
func TestTemplatesAgainstSpec(t *testing.T) {
	path := os.Getenv("CFN_SPEC_DB")
	if path == "" {
		msg := "CFN_SPEC_DB is not set: the templates are NOT validated against the CloudFormation spec; run make test"
		if os.Getenv("CI") != "" || os.Getenv("TEST_REQUIRE_POSTGRES") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	spec, err := checks.LoadSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, tpl := range loadStacks(t) {
		t.Run(name, func(t *testing.T) {
			for _, err := range spec.Validate(tpl) {
				t.Error(err)
			}
		})
	}
}

func TestAppTemplateIsGenerated(t *testing.T) {
	want, err := checks.AppTemplate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "deploy/cloudformation/app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("deploy/cloudformation/app.yaml is not what the routing table and app.yaml.tmpl make: run make cfn-generate")
	}
}

// exportName renders an export or import name with its ${...} kept as
// written, so that names can be compared across stacks.
func exportName(v any) string {
	if fn, arg, ok := checks.Intrinsic(v); ok && fn == "Fn::Sub" {
		s, _ := arg.(string)
		return s
	}
	s, _ := v.(string)
	return s
}

func TestStacksLinkByExports(t *testing.T) {
	tpls := loadStacks(t)
	exportedBy := map[string]string{}
	for _, name := range stacks {
		for id, o := range tpls[name].Section("Outputs") {
			out, _ := o.(map[string]any)
			if exp, ok := out["Export"].(map[string]any); ok {
				n := exportName(exp["Name"])
				if prev, dup := exportedBy[n]; dup {
					t.Errorf("%s and %s both export %s", prev, name, n)
				}
				exportedBy[n] = name
				_ = id
			}
		}
	}
	for i, name := range stacks {
		checks.Walk(tpls[name].Root, func(v any) {
			fn, arg, ok := checks.Intrinsic(v)
			if !ok || fn != "Fn::ImportValue" {
				return
			}
			n := exportName(arg)
			from, ok := exportedBy[n]
			switch {
			case !ok:
				t.Errorf("%s imports %s, which no stack exports", name, n)
			case slices.Index(stacks, from) >= i:
				t.Errorf("%s imports %s from %s, which is deployed after it", name, n, from)
			}
		})
		for id, r := range tpls[name].Resources() {
			if r["Type"] == "AWS::CloudFormation::Stack" {
				t.Errorf("%s: %s is a nested stack; the stacks are separate", name, id)
			}
		}
	}
}

// albMatch reports whether a load balancer path pattern ("*" any run of
// characters, "?" one) matches path.
func albMatch(pattern, path string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(path)
}

type listenerRule struct {
	id          string
	priority    int
	paths       []string
	methods     []string
	targetGroup string
}

func listenerRules(t *testing.T, app *checks.Template) []listenerRule {
	t.Helper()
	var rules []listenerRule
	for id, r := range app.Resources() {
		if r["Type"] != "AWS::ElasticLoadBalancingV2::ListenerRule" {
			continue
		}
		p := checks.Props(r)
		rule := listenerRule{id: id, priority: p["Priority"].(int)}
		for _, c := range p["Conditions"].([]any) {
			cond := c.(map[string]any)
			switch cond["Field"] {
			case "path-pattern":
				for _, v := range cond["PathPatternConfig"].(map[string]any)["Values"].([]any) {
					rule.paths = append(rule.paths, v.(string))
				}
			case "http-request-method":
				for _, v := range cond["HttpRequestMethodConfig"].(map[string]any)["Values"].([]any) {
					rule.methods = append(rule.methods, v.(string))
				}
			}
		}
		action := p["Actions"].([]any)[0].(map[string]any)
		if action["Type"] != "forward" {
			t.Fatalf("%s does not forward", id)
		}
		_, ref, _ := checks.Intrinsic(action["TargetGroupArn"])
		rule.targetGroup = ref.(string)
		rules = append(rules, rule)
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].priority < rules[j].priority })
	return rules
}

// TestEveryRouteReachesItsOwner plays every route of the routing table (and
// HEAD for each GET) through the load balancer's rules in priority order, as
// the ALB does: the first match must forward to the owner's target group.
func TestEveryRouteReachesItsOwner(t *testing.T) {
	app := loadStacks(t)["app"]
	rules := listenerRules(t, app)
	seen := map[int]string{}
	for _, r := range rules {
		if prev, dup := seen[r.priority]; dup {
			t.Errorf("%s and %s share priority %d", prev, r.id, r.priority)
		}
		seen[r.priority] = r.id
		if len(r.paths)+len(r.methods) > 5 {
			t.Errorf("%s has %d condition values; the ALB allows 5", r.id, len(r.paths)+len(r.methods))
		}
	}
	owner := map[string]string{}
	for _, s := range checks.Services {
		owner[s.Name] = s.Logical + "TargetGroup"
	}
	vars := regexp.MustCompile(`\{[^}]+\}`)
	for _, route := range httpapi.Routes {
		methods := []string{route.Method}
		if route.Method == "GET" {
			methods = append(methods, "HEAD")
		}
		for _, sample := range []string{"alice", "12345", "me_too"} {
			path := vars.ReplaceAllString(route.Path, sample)
			if strings.Contains(route.Path, "{id") && sample != "12345" {
				continue
			}
			for _, m := range methods {
				got := "the default 404"
				for _, r := range rules {
					if slices.Contains(r.methods, m) && slices.ContainsFunc(r.paths, func(p string) bool { return albMatch(p, path) }) {
						got = r.targetGroup
						break
					}
				}
				if got != owner[route.Group] {
					t.Errorf("%s %s reaches %s, want %s (%s)", m, path, got, owner[route.Group], route.Group)
				}
			}
		}
	}
}

func resourcesOfType(tpl *checks.Template, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tpl.Resources() {
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

func refOf(v any) string {
	if fn, arg, ok := checks.Intrinsic(v); ok && fn == "Ref" {
		return arg.(string)
	}
	return ""
}

func TestEveryServiceIsSafeToDeployAndScales(t *testing.T) {
	app := loadStacks(t)["app"]
	res := app.Resources()
	policies := resourcesOfType(app, "AWS::ApplicationAutoScaling::ScalingPolicy")
	for _, s := range checks.Services {
		t.Run(s.Name, func(t *testing.T) {
			svc := checks.Props(res[s.Logical+"Service"])
			if svc == nil {
				t.Fatalf("no %sService", s.Logical)
			}
			cb, _ := svc["DeploymentConfiguration"].(map[string]any)["DeploymentCircuitBreaker"].(map[string]any)
			if cb["Enable"] != true || cb["Rollback"] != true {
				t.Errorf("deployment circuit breaker %v, want enabled with rollback", cb)
			}
			if svc["LaunchType"] != "FARGATE" {
				t.Errorf("launch type %v", svc["LaunchType"])
			}
			checkStopTimeout(t, checks.Props(res[s.Logical+"TaskDefinition"]))
			tg := checks.Props(res[s.Logical+"TargetGroup"])
			if tg["HealthCheckPath"] != "/readyz" {
				t.Errorf("target group health check %v, want /readyz", tg["HealthCheckPath"])
			}
			target := res[s.Logical+"ScalableTarget"]
			tp := checks.Props(target)
			if refOf(tp["MinCapacity"]) != s.Logical+"MinTasks" || refOf(tp["MaxCapacity"]) != s.Logical+"MaxTasks" {
				t.Errorf("scaling bounds %v..%v are not the service's own parameters", tp["MinCapacity"], tp["MaxCapacity"])
			}
			var kinds []string
			for _, p := range policies {
				pp := checks.Props(p)
				if refOf(pp["ScalingTargetId"]) != s.Logical+"ScalableTarget" {
					continue
				}
				tracking := pp["TargetTrackingScalingPolicyConfiguration"].(map[string]any)
				if spec, ok := tracking["PredefinedMetricSpecification"].(map[string]any); ok {
					kinds = append(kinds, spec["PredefinedMetricType"].(string))
				} else {
					spec := tracking["CustomizedMetricSpecification"].(map[string]any)
					kinds = append(kinds, fmt.Sprintf("%v/%v %v", spec["Namespace"], spec["MetricName"], spec["Dimensions"]))
				}
			}
			sort.Strings(kinds)
			want := []string{"ALBRequestCountPerTarget", "ECSServiceAverageCPUUtilization"}
			delay := "30"
			if s.Stream {
				// A live stream is one request however long it lasts: the
				// service scales on the streams its tasks report (what
				// logStreamMetric logs), and drains briefly.
				want = []string{"Chirper/OpenStreams [map[Name:Service Value:" + s.Name + "]]", "ECSServiceAverageCPUUtilization"}
				delay = "10"
				if env := taskEnv(checks.Props(res[s.Logical+"TaskDefinition"])); env["CHIRPER_STREAM_METRIC_INTERVAL"] == "" {
					t.Errorf("the stream task does not log its open streams (CHIRPER_STREAM_METRIC_INTERVAL)")
				}
			}
			if !slices.Equal(kinds, want) {
				t.Errorf("scaling policies %v, want %v", kinds, want)
			}
			if attrs := fmt.Sprint(tg["TargetGroupAttributes"]); !strings.Contains(attrs, "deregistration_delay.timeout_seconds Value:"+delay+"]") {
				t.Errorf("target group attributes %s, want a deregistration delay of %s s", attrs, delay)
			}
		})
	}
}

// checkStopTimeout checks that ECS waits longer between SIGTERM and SIGKILL
// than the container's shutdown can take: the drain delay, the grace of
// the requests in flight, and the last batch of chirp writes.
func checkStopTimeout(t *testing.T, td map[string]any) {
	t.Helper()
	container := td["ContainerDefinitions"].([]any)[0].(map[string]any)
	env := map[string]string{}
	for _, e := range container["Environment"].([]any) {
		kv := e.(map[string]any)
		if v, ok := kv["Value"].(string); ok {
			env[kv["Name"].(string)] = v
		}
	}
	var shutdown time.Duration
	for _, name := range []string{"SHUTDOWN_DELAY", "SHUTDOWN_GRACE", "WRITE_BATCH_TIMEOUT"} {
		v, ok := env["CHIRPER_"+name]
		if !ok {
			v = configDefault(t, name)
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("CHIRPER_%s = %q: %v", name, v, err)
		}
		shutdown += d
	}
	stop, ok := container["StopTimeout"].(int)
	if !ok || time.Duration(stop)*time.Second <= shutdown {
		t.Errorf("StopTimeout %v s, want more than the %v a shutdown can take", container["StopTimeout"], shutdown)
	}
}

// configDefault returns the default of CHIRPER_name from pkg/config.
func configDefault(t *testing.T, name string) string {
	t.Helper()
	typ := reflect.TypeFor[config.Config]()
	for i := range typ.NumField() {
		if f := typ.Field(i); f.Tag.Get("envconfig") == name {
			return f.Tag.Get("default")
		}
	}
	t.Fatalf("pkg/config has no CHIRPER_%s", name)
	return ""
}

func TestLeastPrivilege(t *testing.T) {
	tpls := loadStacks(t)
	app := tpls["app"]
	res := app.Resources()
	for _, s := range checks.Services {
		t.Run(s.Name, func(t *testing.T) {
			role := checks.Props(res[s.Logical+"TaskRole"])
			text := fmt.Sprint(role["Policies"])
			if !strings.Contains(text, "parameter/chirper/${EnvironmentName}/"+s.Name+"]") && !strings.Contains(text, "parameter/chirper/${EnvironmentName}/"+s.Name+" ") {
				t.Errorf("the task role does not limit SSM to /chirper/ENV/%s: %s", s.Name, text)
			}
			if !strings.Contains(text, "dbuser:${ProxyId}/"+s.DBUser) {
				t.Errorf("the task role does not limit rds-db:connect to %s", s.DBUser)
			}
			if strings.Contains(text, `Action:*`) || strings.Contains(text, "Resource:*") {
				t.Errorf("the task role has a wildcard: %s", text)
			}
			td := checks.Props(res[s.Logical+"TaskDefinition"])
			env := fmt.Sprint(td["ContainerDefinitions"])
			vars := taskEnv(td)
			// Every service writes, and hears changes, through the writer;
			// the read services read chirps through the read-only endpoint.
			want := map[string]string{"CHIRPER_DATABASE_URL": "ProxyEndpoint"}
			if s.ReadOnly {
				want["CHIRPER_DATABASE_READ_URL"] = "ProxyReadOnlyEndpoint"
			} else if _, ok := vars["CHIRPER_DATABASE_READ_URL"]; ok {
				t.Errorf("%s has a read replica", s.Name)
			}
			for name, endpoint := range want {
				if v := vars[name]; !strings.Contains(v, "-chirper-"+endpoint+"]") || !strings.Contains(v, "postgres://"+s.DBUser+"@") {
					t.Errorf("%s: %s does not connect as %s through the %s: %s", s.Name, name, s.DBUser, endpoint, v)
				}
			}
			if strings.Contains(env, "Secrets:") {
				t.Errorf("%s is handed a secret by ECS; services read SSM themselves", s.Name)
			}
		})
	}

	t.Run("SecurityGroupChain", func(t *testing.T) {
		net := tpls["network"].Resources()
		ingress := func(sg string) []string {
			var from []string
			for _, rule := range checks.Props(net[sg])["SecurityGroupIngress"].([]any) {
				r := rule.(map[string]any)
				switch {
				case r["SourceSecurityGroupId"] != nil:
					from = append(from, refOf(r["SourceSecurityGroupId"]))
				case r["CidrIp"] != nil:
					from = append(from, r["CidrIp"].(string))
				default:
					from = append(from, r["CidrIpv6"].(string))
				}
			}
			sort.Strings(from)
			return slices.Compact(from)
		}
		for sg, want := range map[string][]string{
			"LoadBalancerSecurityGroup": {"0.0.0.0/0", "::/0"},
			"ServiceSecurityGroup":      {"LoadBalancerSecurityGroup"},
			"ProxySecurityGroup":        {"ServiceSecurityGroup"},
			"DatabaseSecurityGroup":     {"MigrationSecurityGroup", "ProxySecurityGroup"},
		} {
			if got := ingress(sg); !slices.Equal(got, want) {
				t.Errorf("%s admits %v, want %v", sg, got, want)
			}
		}
		if _, hasIngress := checks.Props(net["MigrationSecurityGroup"])["SecurityGroupIngress"]; hasIngress {
			t.Error("the migration task admits traffic")
		}
	})
}

// TestNoPlaintextSecrets looks for secrets written into any template.
func TestNoPlaintextSecrets(t *testing.T) {
	forbidden := regexp.MustCompile(`(?i)(BEGIN [A-Z ]*PRIVATE KEY|AKIA[0-9A-Z]{16}|aws_secret_access_key|\bMasterUserPassword\b|NoEcho)`)
	for name, tpl := range loadStacks(t) {
		b, err := os.ReadFile(tpl.Path)
		if err != nil {
			t.Fatal(err)
		}
		if m := forbidden.FindString(string(b)); m != "" {
			t.Errorf("%s contains %q", name, m)
		}
		checks.Walk(tpl.Root, func(v any) {
			m, ok := v.(map[string]any)
			if !ok {
				return
			}
			n, _ := m["Name"].(string)
			if _, isLiteral := m["Value"].(string); isLiteral && regexp.MustCompile(`(?i)(PASSWORD|SECRET|SIGNING_KEY|TOKEN)`).MatchString(n) {
				t.Errorf("%s sets %s to a literal", name, n)
			}
		})
	}
}

func TestDataIsProtected(t *testing.T) {
	data := loadStacks(t)["data"]
	res := data.Resources()
	cluster := res["Cluster"]
	p := checks.Props(cluster)
	if cluster["DeletionPolicy"] != "Snapshot" || cluster["UpdateReplacePolicy"] != "Snapshot" {
		t.Error("the cluster is not snapshotted on deletion and replacement")
	}
	if p["StorageEncrypted"] != true || p["ManageMasterUserPassword"] != true || p["EnableIAMDatabaseAuthentication"] != true {
		t.Errorf("cluster: encrypted %v, managed password %v, IAM auth %v", p["StorageEncrypted"], p["ManageMasterUserPassword"], p["EnableIAMDatabaseAuthentication"])
	}
	if refOf(p["DeletionProtection"]) != "DeletionProtection" || data.Section("Parameters")["DeletionProtection"].(map[string]any)["Default"] != "true" {
		t.Error("deletion protection is not on by default")
	}
	if len(resourcesOfType(data, "AWS::RDS::DBInstance")) < 2 {
		t.Error("want a writer and at least one reader")
	}
	proxy := checks.Props(res["Proxy"])
	if proxy["DefaultAuthScheme"] != "IAM_AUTH" || proxy["RequireTLS"] != true {
		t.Errorf("proxy auth %v, TLS %v", proxy["DefaultAuthScheme"], proxy["RequireTLS"])
	}
	if checks.Props(res["ProxyReadOnlyEndpoint"])["TargetRole"] != "READ_ONLY" {
		t.Error("no read-only proxy endpoint")
	}
}

// taskEnv is the environment of a task definition's container.
func taskEnv(td map[string]any) map[string]string {
	vars := map[string]string{}
	for _, e := range td["ContainerDefinitions"].([]any)[0].(map[string]any)["Environment"].([]any) {
		kv := e.(map[string]any)
		vars[kv["Name"].(string)] = fmt.Sprint(kv["Value"])
	}
	return vars
}
