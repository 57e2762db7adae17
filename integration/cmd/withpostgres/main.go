package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/mcpsession/mcpsession/internal/testdb"
	_ "github.com/mcpsession/mcpsession/mcpsessiontest" // registers the container runtime
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// Exit codes of -image.
const (
	exitNoDocker = 3 // no Docker engine: the Postgres tests skip
	exitNoImage  = 4 // an engine, but no image to be had: build one
)

func run(args []string) int {
	if len(args) == 1 && args[0] == "-image" {
		return printImage()
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: withpostgres [--] command [args...]")
		return 2
	}

	// Registered first, so that an interrupt while the container starts
	// still terminates it.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)

	env := os.Environ()
	if os.Getenv(testdb.PostgresEnv) == "" {
		rt, _, err := testdb.PostgresImage()
		switch {
		case err != nil && os.Getenv(testdb.RequireEnv) == "1":
			fmt.Fprintf(os.Stderr, "withpostgres: %v and %s is not set; not running the command, because %s=1\n",
				err, testdb.PostgresEnv, testdb.RequireEnv)
			return 1
		case err != nil:
			fmt.Fprintf(os.Stderr, "withpostgres: %v and %s is not set: running without Postgres\n", err, testdb.PostgresEnv)
		default:
			srv, code := startServer(rt, sigs)
			if srv == nil {
				return code
			}
			defer terminate(srv)
			env = append(env, testdb.PostgresEnv+"="+srv.DSN())
			setup := ""
			if s := rt.Notes(); s != "" {
				setup = " (" + s + ")"
			}
			fmt.Fprintf(os.Stderr, "withpostgres: %s listening on port %d%s\n", srv.Image(), srv.HostPort(), setup)
		}
	}

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Env = os.Stdin, os.Stdout, os.Stderr, env
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "withpostgres: %v\n", err)
		return 127
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				_ = cmd.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if cmd.ProcessState == nil {
		fmt.Fprintf(os.Stderr, "withpostgres: %v\n", err)
		return 1
	}
	var exitErr *exec.ExitError
	switch ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); {
	case ok && ws.Signaled():
		return 128 + int(ws.Signal())
	case err != nil && !errors.As(err, &exitErr):
		fmt.Fprintf(os.Stderr, "withpostgres: %v\n", err)
	}
	return cmd.ProcessState.ExitCode()
}

// printImage prints the image a container would be started from, chosen
// as the tests choose it, and exits 0; or says why there is none and exits
// exitNoDocker or exitNoImage.
func printImage() int {
	_, img, err := testdb.PostgresImage()
	if err == nil {
		fmt.Println(img)
		return 0
	}
	fmt.Fprintf(os.Stderr, "withpostgres: %v\n", err)
	if errors.Is(err, testdb.ErrNoImage) {
		return exitNoImage
	}
	return exitNoDocker
}

// startServer starts the container, or gives up on an interrupt. It
// returns the server, or nil and the exit code.
func startServer(rt testdb.Runtime, sigs <-chan os.Signal) (testdb.Server, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var srv testdb.Server
	var err error
	started := make(chan struct{})
	go func() {
		defer close(started)
		srv, err = rt.StartPostgres(ctx, testdb.ServerOptions{})
	}()
	select {
	case <-started:
		if err != nil {
			fmt.Fprintf(os.Stderr, "withpostgres: %v\n", err)
			return nil, 1
		}
		return srv, 0
	case sig := <-sigs:
		cancel()
		if <-started; srv != nil {
			terminate(srv)
		}
		return nil, 128 + int(sig.(syscall.Signal))
	}
}

func terminate(srv testdb.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.Terminate(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "withpostgres: %v\n", err)
	}
}
