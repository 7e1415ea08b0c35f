package main

import (
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
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"CHIRPER_HTTP_ADDR=127.0.0.1:0", "CHIRPER_ADMIN_ADDR=", "CHIRPER_DATA_DIR="+t.TempDir(),
		"CHIRPER_SHUTDOWN_DELAY=200ms")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	exited := make(chan struct{})
	go func() {
		exitErr = cmd.Wait()
		close(exited)
	}()
	addr, _ := waitServing(t, logs.String, exited, func() error { return exitErr })
	waitReady(t, "http://"+addr, exited, func() error { return exitErr })

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if exitErr != nil {
			t.Fatalf("exit: %v\n%s", exitErr, logs.String())
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
