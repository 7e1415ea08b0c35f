package checks_test

import (
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/chirper/chirper/deploy/checks"
)

const root = "../.."

func TestDockerfiles(t *testing.T) {
	images, err := checks.LoadImages(root)
	if err != nil {
		t.Fatal(err)
	}
	var services []string
	for _, img := range images {
		if strings.HasPrefix(img.Package, "./cmd/services/") {
			services = append(services, path.Base(img.Package))
		}
		t.Run(img.Dockerfile, func(t *testing.T) { checkImage(t, img) })
	}
	slices.Sort(services)
	if want := []string{"create-chirp", "get-chirp", "list-chirps", "stream", "users"}; !slices.Equal(services, want) {
		t.Fatalf("service Dockerfiles for %v, want %v", services, want)
	}
}

func checkImage(t *testing.T, img checks.Image) {
	if len(img.Stages) < 2 {
		t.Fatalf("%d stages, want a builder and a final stage", len(img.Stages))
	}
	builder, final := img.Stages[0], img.Stages[len(img.Stages)-1]
	if !strings.HasPrefix(builder.BaseName, "golang:1.26") {
		t.Errorf("builder FROM %s, want golang:1.26", builder.BaseName)
	}
	if final.BaseName != "scratch" && !strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") {
		t.Errorf("final FROM %s, want distroless static or scratch", final.BaseName)
	}
	for _, flag := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags="-s -w"`} {
		if !strings.Contains(img.BuildCommand, flag) {
			t.Errorf("the build command %q lacks %s", img.BuildCommand, flag)
		}
	}
	// The binary is where the final stage puts the builder's output.
	binary := ""

	var (
		user, entrypoint, health string
		exposed                  []string
		copied                   bool
	)
	for _, cmd := range final.Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.ExposeCommand:
			exposed = append(exposed, c.Ports...)
		case *instructions.EntrypointCommand:
			entrypoint = strings.Join(c.CmdLine, " ")
		case *instructions.HealthCheckCommand:
			health = strings.Join(c.Health.Test, " ")
		case *instructions.CopyCommand:
			if c.From == builder.Name && slices.Contains(c.SourcePaths, "/src/"+img.Output) {
				copied, binary = true, path.Base(c.DestPath)
			}
		case *instructions.RunCommand:
			t.Errorf("RUN in the final stage (%v): it has no shell", c.CmdLine)
		}
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("final USER %q, want a non-root user", user)
	}
	if !slices.Contains(exposed, "8080") {
		t.Errorf("EXPOSE %v, want 8080", exposed)
	}
	if !copied {
		t.Errorf("the final stage does not COPY --from=%s /src/%s", builder.Name, img.Output)
	}
	if !strings.HasPrefix(entrypoint, "/"+binary) {
		t.Errorf("ENTRYPOINT %q does not run /%s", entrypoint, binary)
	}
	if strings.HasPrefix(img.Package, "./cmd/") && health != "CMD /"+binary+" -healthcheck" {
		t.Errorf("HEALTHCHECK %q, want CMD /%s -healthcheck", health, binary)
	}
}

// TestScriptsParse has bash parse every script the project runs.
func TestScriptsParse(t *testing.T) {
	scripts, _ := filepath.Glob(filepath.Join(root, "deploy/scripts/*.sh"))
	scripts = append(scripts, filepath.Join(root, ".ci/run"))
	for _, s := range scripts {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", s, err, out)
		}
	}
}
