//go:build compose

// Package compose_test runs docker-compose.yml for real (make compose-test):
// it builds every image from its Dockerfile, brings up the services profile
// (PostgreSQL, the migration, the five services, the gateway), runs the
// end-to-end API suite through the gateway, checks what only a real run
// shows, and tears everything down, also when a check fails. DOCKER_HOST
// names the engine (deploy/scripts/dockerd.sh) and CHIRPER_COMPOSE the
// compose command (the Makefile's COMPOSE).
package compose_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/apitest"
	"github.com/chirper/chirper/pkg/auth"
	"github.com/chirper/chirper/pkg/client"
)

const (
	root    = "../.."
	gateway = "http://127.0.0.1:8080"
	// maxServiceImage is a service image's size budget.
	maxServiceImage = 25_000_000
)

// compose runs the compose command with the project's files and the
// services profile.
func compose(t testing.TB, args ...string) string {
	t.Helper()
	cmdline := strings.Fields(os.Getenv("CHIRPER_COMPOSE"))
	if len(cmdline) == 0 {
		t.Fatal("CHIRPER_COMPOSE is not set: run make compose-test")
	}
	all := append(cmdline[1:], "-f", "docker-compose.yml", "-f", "deploy/compose/test.yml", "--profile", "services")
	cmd := exec.Command(cmdline[0], append(all, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0", "COMPOSE_DOCKER_CLI_BUILD=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", cmdline[0], strings.Join(args, " "), err, out)
	}
	return string(out)
}

// docker runs the docker command and returns its output.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// container is what docker inspect says of one container.
type container struct {
	Name   string
	Image  string
	Config struct {
		User   string
		Labels map[string]string
	}
	State struct {
		Status     string
		ExitCode   int
		StartedAt  time.Time
		FinishedAt time.Time
		Health     *struct{ Status string }
	}
	Mounts []struct{ Destination string }
}

// containers inspects every container of the project, running or not.
func containers(t *testing.T) map[string][]container {
	t.Helper()
	ids := strings.Fields(docker(t, "ps", "-aq", "--filter", "label=com.docker.compose.project=chirper"))
	var all []container
	if err := json.Unmarshal([]byte(docker(t, append([]string{"inspect"}, ids...)...)), &all); err != nil {
		t.Fatal(err)
	}
	byService := map[string][]container{}
	for _, c := range all {
		svc := c.Config.Labels["com.docker.compose.service"]
		byService[svc] = append(byService[svc], c)
	}
	return byService
}

// waitFor polls ok every half second until it holds or the time is up.
func waitFor(t *testing.T, what string, limit time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
	}
}

// chirpAsNewUser registers username on the server at base, logs in and
// posts message; it returns the logged-in client and the chirp.
func chirpAsNewUser(t *testing.T, base, username, message string) (*client.Client, *client.Chirp) {
	t.Helper()
	ctx := context.Background()
	c := client.New(base, nil)
	if _, err := c.Register(ctx, client.Registration{Username: username, Password: "long enough"}); err != nil {
		t.Fatal(err)
	}
	tok, err := c.Login(ctx, username, "long enough")
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithToken(tok.AccessToken)
	posted, err := c.CreateChirp(ctx, client.NewChirp{Message: message})
	if err != nil {
		t.Fatal(err)
	}
	return c, posted
}

func answers(url string, status int) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == status
}

var services = []string{"users", "list-chirps", "get-chirp", "create-chirp", "stream", "gateway"}

// healthChecked are the services whose images have a HEALTHCHECK (the
// gateway, a development stand-in for the load balancer, has none).
var healthChecked = services[:5]

func TestCompose(t *testing.T) {
	t.Cleanup(func() { compose(t, "--profile", "standalone", "down", "-v", "--remove-orphans") })
	t.Cleanup(func() { // runs first: what the containers said, when something failed
		if t.Failed() {
			t.Logf("containers:\n%s\nlogs:\n%s", compose(t, "ps"), compose(t, "logs", "--tail", "20"))
		}
	})
	start := time.Now()
	compose(t, "up", "-d", "--build")
	t.Logf("built every image and brought the services up in %v", time.Since(start).Round(time.Second))
	waitFor(t, "the gateway answers GET /v1/chirps", 2*time.Minute, func() bool { return answers(gateway+"/v1/chirps", http.StatusOK) })

	keyPEM, err := os.ReadFile(filepath.Join(root, "data/keys/signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := auth.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("API", func(t *testing.T) {
		apitest.Run(t, &apitest.Env{
			URL: gateway, SigningKey: key, Issuer: "chirper", Audience: "chirper-api",
			MakeAdmin: func(tb testing.TB, username string) {
				tb.Helper()
				compose(tb, "run", "--rm", "migrate", "admin", "grant", username)
			},
		})
	})

	byService := containers(t)
	t.Run("NonRootAndHealthy", func(t *testing.T) {
		waitFor(t, "every service healthy", time.Minute, func() bool {
			byService = containers(t)
			for _, svc := range healthChecked {
				for _, c := range byService[svc] {
					if c.State.Health == nil || c.State.Health.Status != "healthy" {
						return false
					}
				}
			}
			return true
		})
		for _, svc := range services {
			if len(byService[svc]) == 0 {
				t.Errorf("no %s container", svc)
			}
			for _, c := range byService[svc] {
				if u := c.Config.User; u == "" || u == "root" || strings.HasPrefix(u, "0") {
					t.Errorf("%s runs as %q", c.Name, u)
				}
				top := strings.Split(docker(t, "top", strings.TrimPrefix(c.Name, "/"), "-eo", "pid,uid"), "\n")
				for _, line := range top[1:] { // under the PID UID header
					if f := strings.Fields(line); len(f) != 2 || f[1] != "65532" {
						t.Errorf("%s runs a process as %q, want uid 65532", c.Name, line)
					}
				}
				if len(top) < 2 {
					t.Errorf("%s runs no process", c.Name)
				}
			}
		}
		for _, svc := range []string{"list-chirps", "get-chirp", "stream"} {
			if n := len(byService[svc]); n != 2 {
				t.Errorf("%d %s containers, want the 2 replicas", n, svc)
			}
		}
	})

	t.Run("SecretsAreFiles", func(t *testing.T) {
		for _, svc := range services[:5] {
			for _, c := range byService[svc] {
				var dests []string
				for _, m := range c.Mounts {
					dests = append(dests, m.Destination)
				}
				if !slices.Contains(dests, "/run/secrets/public_key") {
					t.Errorf("%s has no /run/secrets/public_key (mounts %v)", c.Name, dests)
				}
				if slices.Contains(dests, "/run/secrets/signing_key") != (svc == "users") {
					t.Errorf("%s: the signing key is mounted %v, want only in users", c.Name, slices.Contains(dests, "/run/secrets/signing_key"))
				}
			}
		}
	})

	t.Run("MigrationFirst", func(t *testing.T) {
		migrate := byService["migrate"]
		if len(migrate) != 1 || migrate[0].State.Status != "exited" || migrate[0].State.ExitCode != 0 {
			t.Fatalf("the migration: %+v, want one that exited 0", migrate)
		}
		for _, svc := range services[:5] {
			for _, c := range byService[svc] {
				if c.State.StartedAt.Before(migrate[0].State.FinishedAt) {
					t.Errorf("%s started at %v, before the migration finished at %v", c.Name, c.State.StartedAt, migrate[0].State.FinishedAt)
				}
			}
		}
	})

	t.Run("ImageSizes", func(t *testing.T) {
		for _, svc := range services {
			c := byService[svc][0]
			size, err := strconv.ParseInt(docker(t, "image", "inspect", "-f", "{{.Size}}", c.Image), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%-12s %.1f MB", svc, float64(size)/1e6)
			if svc != "gateway" && size > maxServiceImage {
				t.Errorf("the %s image is %d bytes, over its budget of %d", svc, size, maxServiceImage)
			}
		}
	})

	t.Run("DataOutlivesARestart", func(t *testing.T) {
		ctx := context.Background()
		c, posted := chirpAsNewUser(t, gateway, "survivor", "before the restart")
		compose(t, "restart", "postgres")
		waitFor(t, "the chirp after PostgreSQL restarted", time.Minute, func() bool {
			got, err := c.GetChirp(ctx, posted.ID)
			return err == nil && got.Message == posted.Message
		})
	})

	t.Run("StandaloneKeepsItsDataVolume", func(t *testing.T) {
		image := byService["migrate"][0].Image
		const name, volume = "chirper-compose-standalone", "chirper-compose-standalone-data"
		t.Cleanup(func() {
			exec.Command("docker", "rm", "-f", name).Run()
			exec.Command("docker", "volume", "rm", "-f", volume).Run()
		})
		docker(t, "run", "-d", "--name", name, "-v", volume+":/data", "-p", "127.0.0.1:18099:8080", image)
		base := "http://127.0.0.1:18099"
		waitFor(t, "the standalone container ready", time.Minute, func() bool { return answers(base+"/readyz", http.StatusOK) })
		ctx := context.Background()
		c, posted := chirpAsNewUser(t, base, "local", "kept in /data")
		files := docker(t, "run", "--rm", "-v", volume+":/data", "golang:1.26-bookworm", "ls", "-ln", "/data")
		for _, f := range []string{"chirper.db", "signing-key.pem"} {
			if !strings.Contains(files, f) {
				t.Errorf("/data lacks %s:\n%s", f, files)
			}
		}
		if !strings.Contains(files, "65532") {
			t.Errorf("/data's files are not the nonroot user's:\n%s", files)
		}
		waitFor(t, "the standalone container healthy", time.Minute, func() bool {
			return docker(t, "inspect", "-f", "{{.State.Health.Status}}", name) == "healthy"
		})
		docker(t, "restart", name)
		waitFor(t, "the chirp after the standalone restarted", time.Minute, func() bool {
			got, err := c.GetChirp(ctx, posted.ID)
			return err == nil && got.Message == posted.Message
		})
		// The same key signs after the restart: the old token still works.
		if _, err := c.CreateChirp(ctx, client.NewChirp{Message: "after the restart"}); err != nil {
			t.Errorf("the token from before the restart: %v", err)
		}
	})
}
