package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/chirper/chirper/pkg/client"
	"github.com/chirper/chirper/pkg/httpapi"
)

// contractTools finds portman and newman: make test installs them (pinned)
// and sets TEST_CONTRACT_TOOLS, whose absence then fails the test.
func contractTools(t *testing.T) string {
	dir := os.Getenv("TEST_CONTRACT_TOOLS")
	if dir == "" {
		t.Skip("SKIPPED: TEST_CONTRACT_TOOLS is not set (make test installs portman and newman and sets it); the generated contract test did not run")
	}
	for _, tool := range []string{"portman", "newman"} {
		if _, err := os.Stat(filepath.Join(dir, tool)); err != nil {
			t.Fatalf("TEST_CONTRACT_TOOLS=%s has no %s: %v", dir, tool, err)
		}
	}
	return dir
}

// TestGeneratedContract runs a contract test that portman generates from
// openapi.yaml, with newman, against the standalone: every operation
// (but the live stream, which never ends) is called with the document's own
// examples as its parameters and bodies, in the order of
// deploy/contract/portman-config.json, and its answer is checked against
// the document (status, content type, schema, headers).
func TestGeneratedContract(t *testing.T) {
	tools := contractTools(t)
	s := startStandalone(t, nil)
	// The examples log in as alice, an admin, with this password.
	ctx := context.Background()
	if _, err := client.New(s.URL, nil).Register(ctx, client.Registration{Username: "alice", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	s.env(t).MakeAdmin(t, "alice")

	// One folder, so that the order of operations can run across tags.
	dir := t.TempDir()
	doc := regexp.MustCompile(`(\n      tags: )\[[a-z]+\]`).ReplaceAll(httpapi.OpenAPIDocument(), []byte("${1}[contract]"))
	spec := filepath.Join(dir, "openapi.yaml")
	if err := os.WriteFile(spec, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	collection := filepath.Join(dir, "collection.json")
	config, err := filepath.Abs("../../deploy/contract")
	if err != nil {
		t.Fatal(err)
	}
	generate := exec.Command(filepath.Join(tools, "portman"), "-l", spec, "-b", s.URL, "-o", collection, "--bundleContractTests",
		"-c", filepath.Join(config, "portman-config.json"), "-s", filepath.Join(config, "postman-config.json"),
		"--filterFile", filepath.Join(config, "filter.json"))
	generate.Dir = dir // portman writes its work files under ./tmp
	if out, err := generate.CombinedOutput(); err != nil {
		t.Fatalf("portman: %v\n%s", err, out)
	}
	report := filepath.Join(dir, "report.json")
	run := exec.Command(filepath.Join(tools, "newman"), "run", collection, "--reporters", "cli,json", "--reporter-json-export", report, "--color", "off")
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("newman: %v\n%s", err, out)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Run struct {
			Stats struct {
				Requests, Assertions struct{ Total, Failed int }
			}
		}
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	operations := 0
	for _, route := range httpapi.Routes {
		if !route.LongLived() {
			operations++
		}
	}
	operations += 2 // /healthz and /readyz, outside the routing table
	st := r.Run.Stats
	if st.Requests.Total != operations || st.Requests.Failed != 0 || st.Assertions.Failed != 0 || st.Assertions.Total < 4*operations {
		t.Fatalf("newman: %d requests (%d failed), %d assertions (%d failed); want %d requests, at least 4 assertions each, none failed\n%s",
			st.Requests.Total, st.Requests.Failed, st.Assertions.Total, st.Assertions.Failed, operations, bytes.TrimSpace(out))
	}
	t.Logf("newman: %d requests, %d assertions, none failed", st.Requests.Total, st.Assertions.Total)
}
