package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERM runs the real binary and stops it with SIGTERM: it must fail
// readiness, drain and exit 0.
func TestSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "standalone")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"CHIRPER_HTTP_ADDR="+addr, "CHIRPER_ADMIN_ADDR=", "CHIRPER_DATA_DIR="+t.TempDir(),
		"CHIRPER_SHUTDOWN_DELAY=200ms")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitReady(t, "http://"+addr, exited)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit within 10s of SIGTERM")
	}
	for _, want := range []string{`"msg":"draining`, `"msg":"shutting down"`, `"msg":"stopped"`} {
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("the log lacks %s:\n%s", want, logs.String())
		}
	}
}
