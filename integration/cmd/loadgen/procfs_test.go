package main

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// A command name with a space and a parenthesis, as the kernel writes
	// it; utime 250, stime 50, cutime 1000, cstime 0 ticks.
	line := "4242 (postgres: a) b) S 4000 4242 4242 0 -1 4194560 700 0 0 0 250 50 1000 0 20 0 1 0 100 0 0"
	got, err := parseProcStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if got.ppid != 4000 || got.own != 3*time.Second || got.children != 10*time.Second {
		t.Errorf("%+v; want ppid 4000, own 3s, children 10s", got)
	}
	if _, err := parseProcStat("4242 postgres S 1"); err == nil {
		t.Error("a line without the command's parentheses parsed")
	}
}

// The generator's own run time, from schedstat, agrees with what
// getrusage says it used.
func TestRunTime(t *testing.T) {
	rusage := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	before, err := runTime(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	r0 := rusage()
	for rusage()-r0 < 100*time.Millisecond {
	}
	after, _ := runTime(os.Getpid())
	used := rusage() - r0
	if d := after - before; d < used*3/4 || d > used*5/4+20*time.Millisecond {
		t.Errorf("schedstat counted %v where getrusage counted %v", d, used)
	}
}
