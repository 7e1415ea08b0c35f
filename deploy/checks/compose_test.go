package checks_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/chirper/chirper/pkg/httpapi"
)

// loadCompose loads docker-compose.yml as docker compose would, with every
// profile, and checks it against the compose specification.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithProfiles([]string{"*"}), cli.WithResolvedPaths(false))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

func TestCompose(t *testing.T) {
	p := loadCompose(t)
	svc := func(name string) types.ServiceConfig {
		t.Helper()
		s, err := p.GetService(name)
		if err != nil {
			t.Fatalf("no %s service: %v", name, err)
		}
		return s
	}

	t.Run("PostgresKeepsData", func(t *testing.T) {
		pg := svc("postgres")
		if len(pg.Profiles) != 0 {
			t.Fatal("postgres must run in every profile")
		}
		if len(pg.Volumes) != 1 || pg.Volumes[0].Type != types.VolumeTypeVolume || pg.Volumes[0].Target != "/var/lib/postgresql/data" {
			t.Fatalf("postgres volumes %+v, want a named volume on its data folder", pg.Volumes)
		}
		if _, ok := p.Volumes[pg.Volumes[0].Source]; !ok {
			t.Fatalf("volume %q is not declared", pg.Volumes[0].Source)
		}
		for _, port := range pg.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Fatalf("postgres is published on %q, want loopback only", port.HostIP)
			}
		}
	})

	t.Run("Standalone", func(t *testing.T) {
		s := svc("standalone")
		if s.Build == nil || s.Build.Dockerfile != "cmd/standalone/Dockerfile" {
			t.Fatalf("standalone build %+v", s.Build)
		}
		if !strings.HasPrefix(*s.Environment["CHIRPER_DATABASE_URL"], "postgres://") {
			t.Fatal("the standalone is not wired to PostgreSQL")
		}
	})

	// Every group of the routing table is a service of the services
	// profile, built from its own Dockerfile, and the gateway routes to it.
	t.Run("ServicesAndGateway", func(t *testing.T) {
		gw := svc("gateway")
		upstreams := map[string]string{}
		for _, pair := range strings.Split(*gw.Environment["CHIRPER_UPSTREAMS"], ",") {
			group, url, _ := strings.Cut(strings.TrimSpace(pair), ":")
			upstreams[group] = url
		}
		var gatewayIP string
		if n := gw.Networks["default"]; n != nil {
			gatewayIP = n.Ipv4Address
		}
		if gatewayIP == "" {
			t.Fatal("the gateway has no fixed address for the services to trust")
		}
		groups := map[string]bool{}
		for _, r := range httpapi.Routes {
			groups[r.Group] = true
		}
		for group := range groups {
			s := svc(group)
			if !slices.Contains(s.Profiles, "services") {
				t.Errorf("%s is not in the services profile", group)
			}
			if want := "cmd/services/" + group + "/Dockerfile"; s.Build == nil || s.Build.Dockerfile != want {
				t.Errorf("%s builds from %+v, want %s", group, s.Build, want)
			}
			if want := "http://" + group + ":8080"; upstreams[group] != want {
				t.Errorf("the gateway sends %s to %q, want %q", group, upstreams[group], want)
			}
			if !strings.HasPrefix(*s.Environment["CHIRPER_DATABASE_URL"], "postgres://") {
				t.Errorf("%s is not on PostgreSQL", group)
			}
			hasSigning := false
			for _, sec := range s.Secrets {
				hasSigning = hasSigning || sec.Source == "signing_key"
			}
			if hasSigning != (group == httpapi.GroupUsers) {
				t.Errorf("%s has the signing key: %v; only users may", group, hasSigning)
			}
			if got := *s.Environment["CHIRPER_TRUSTED_PROXIES"]; got != gatewayIP+"/32" {
				t.Errorf("%s trusts X-Forwarded-For from %q, want the gateway's address %s only", group, got, gatewayIP)
			}
			if _, ok := s.DependsOn["migrate"]; !ok {
				t.Errorf("%s does not wait for the migration", group)
			}
		}
		if len(upstreams) != len(groups) {
			t.Errorf("the gateway has upstreams %v for groups %v", upstreams, groups)
		}
		for _, read := range []string{httpapi.GroupListChirps, httpapi.GroupGetChirp} {
			if s := svc(read); s.Deploy == nil || s.Deploy.Replicas == nil || *s.Deploy.Replicas < 2 {
				t.Errorf("%s runs fewer than two replicas", read)
			}
		}
	})

	t.Run("NoSecretsInTheFile", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"PRIVATE KEY", "POSTGRES_PASSWORD", "SIGNING_KEY:"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("docker-compose.yml contains %q", bad)
			}
		}
	})
}
