package main

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestStatCPU: a process's CPU from /proc agrees with what the kernel
// reports for it otherwise, its children's are counted only when asked
// for, and a process that is not there costs nothing.
func TestStatCPU(t *testing.T) {
	burn(300 * time.Millisecond)
	if os.Getenv("BENCHLOAD_BURN") != "" {
		return // the child of the test below
	}
	own, comm := statCPU(strconv.Itoa(os.Getpid()), false)
	if self := selfCPU(); own < self-50*time.Millisecond || own > self+50*time.Millisecond {
		t.Fatalf("/proc says %v, getrusage %v", own, self)
	}
	if comm == "" {
		t.Fatal("no command name")
	}

	child := exec.Command(os.Args[0], "-test.run=^TestStatCPU$")
	child.Env = append(os.Environ(), "BENCHLOAD_BURN=1")
	if out, err := child.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	spent := childCPU(child)
	if spent < 290*time.Millisecond {
		t.Fatalf("the child spent %v, want the 300 ms it burned", spent)
	}
	withChildren, _ := statCPU(strconv.Itoa(os.Getpid()), true)
	alone, _ := statCPU(strconv.Itoa(os.Getpid()), false)
	if d := withChildren - alone; d < spent-30*time.Millisecond {
		t.Fatalf("children's CPU %v, the child spent %v", d, spent)
	}

	if cpu, comm := statCPU("0", true); cpu != 0 || comm != "" {
		t.Fatalf("no such process: %v, %q", cpu, comm)
	}
}

// burn spends d of the process's CPU time, however long that takes on a
// busy machine (counting wall time instead failed under make test, whose
// packages share the cores).
func burn(d time.Duration) {
	for until := selfCPU() + d; selfCPU() < until; {
	}
}
