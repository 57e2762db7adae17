package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the unit of /proc/PID/stat's times (USER_HZ), 100 on
// every Linux the kernel's ABI promises it to user space.
const clockTicks = 100

// procTimes is what /proc/PID/stat says of a process's CPU time.
type procTimes struct {
	ppid int
	// own is utime+stime; children is cutime+cstime, the time of the
	// children it has waited for (a Postgres backend that exited ends up
	// there, in the postmaster's).
	own, children time.Duration
}

func readProcTimes(pid int) (procTimes, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procTimes{}, err
	}
	return parseProcStat(string(b))
}

// parseProcStat reads fields 4 (ppid) and 14 to 17 (utime, stime, cutime,
// cstime) of a /proc/PID/stat line; the command name, field 2, is in
// parentheses and may hold spaces and parentheses itself.
func parseProcStat(line string) (procTimes, error) {
	end := strings.LastIndexByte(line, ')')
	if end < 0 {
		return procTimes{}, fmt.Errorf("stat line without a command: %q", line)
	}
	f := strings.Fields(line[end+1:]) // f[0] is field 3
	if len(f) < 15 {
		return procTimes{}, fmt.Errorf("stat line with %d fields", len(f)+2)
	}
	var v [5]int64
	for i, idx := range []int{1, 11, 12, 13, 14} {
		n, err := strconv.ParseInt(f[idx], 10, 64)
		if err != nil {
			return procTimes{}, fmt.Errorf("stat field %d: %w", idx+3, err)
		}
		v[i] = n
	}
	tick := time.Second / clockTicks
	return procTimes{ppid: int(v[0]), own: time.Duration(v[1]+v[2]) * tick, children: time.Duration(v[3]+v[4]) * tick}, nil
}

// runTime is the time pid's threads have run, summed from
// /proc/PID/task/*/schedstat (nanoseconds, as the scheduler accounts it),
// or, where that is missing, utime+stime (in clock ticks: 10 ms steps,
// too coarse for the few hundred calls of a short run).
func runTime(pid int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err == nil {
		var total time.Duration
		ok := false
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
			if err != nil {
				continue // exited meanwhile
			}
			f := strings.Fields(string(b))
			if len(f) == 0 {
				continue
			}
			ns, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				continue
			}
			total += time.Duration(ns)
			ok = true
		}
		if ok {
			return total, nil
		}
	}
	t, err := readProcTimes(pid)
	return t.own, err
}

// treeCPU is the CPU time of a process and of all its children, living or
// waited for: for a postmaster, the whole server's (backends, autovacuum,
// checkpointer, WAL writer), including backends that came and went (their
// time comes back in the postmaster's cutime and cstime, in clock ticks,
// once it has waited for them).
func treeCPU(root int) (time.Duration, error) {
	rt, err := readProcTimes(root)
	if err != nil {
		return 0, err
	}
	own, err := runTime(root)
	if err != nil {
		return 0, err
	}
	total := own + rt.children
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		t, err := readProcTimes(pid)
		if err != nil || t.ppid != root {
			continue // gone meanwhile, or not a child
		}
		d, err := runTime(pid)
		if err != nil {
			continue
		}
		total += d + t.children
	}
	return total, nil
}

// processCPU is one process's own CPU time.
func processCPU(pid int) (time.Duration, error) {
	return runTime(pid)
}
