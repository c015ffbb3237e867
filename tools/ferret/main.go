// Command ferret-server is the MongoDB-wire server of ChatChat's tests: FerretDB v1.24 with
// its SQLite backend, embedded as a library, behind a relay that lets one write command
// through at a time.
//
//	ferret-server --listen 127.0.0.1:0 --dir DIR
//	ferret-server --listen 127.0.0.1:0 --dir DIR --postgresql-url postgres://USER@HOST:PORT/DB
//
// With --postgresql-url it runs FerretDB's PostgreSQL backend instead (the database must
// exist; FerretDB creates a schema per MongoDB database in it); --dir then holds only the
// Unix socket between the relay and FerretDB. The tests use SQLite; the PostgreSQL backend
// is for benchmarks (bench/store.sh), where it is a MongoDB-wire server whose storage
// takes concurrent writes. With --write-lock collection the relay serializes write
// commands per collection instead of globally (see relay.go).
//
// It prints the address it listens on (host:port) as the first line of standard output,
// then serves until SIGINT or SIGTERM.
//
// Why a relay: FerretDB 1.24 implements findAndModify and update as read-then-replace
// (FerretDB issue 2168), so concurrent $inc loses increments and concurrent upserts fail
// with E11000. MongoDB and Amazon DocumentDB apply each single-document write atomically,
// and ChatChat's store relies on that; serializing writes at the wire makes the test server
// keep the same promise. Reads are not held back. The relay also sends a createIndexes that
// names several indexes one index at a time, because FerretDB 1.24 panics when several of
// them exist already, as they do when processes start together (indexes.go).
//
// Why embedded: built with `go install` from the module proxy, FerretDB's own binary panics
// at start (build/version embeds a version.txt that the module zip lacks); the library
// entry point does not read it.
//
// This is its own Go module so that FerretDB and its dependencies stay out of ChatChat's
// module graph and production binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"golang.org/x/sync/errgroup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ferret-server:", err)
		os.Exit(1)
	}
}

// run starts FerretDB and the relay, writes the relay's address to stdout, and serves until
// ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ferret-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "TCP `address` the MongoDB wire protocol is served on")
	dir := fs.String("dir", "", "`directory` of the SQLite databases (required; created when missing)")
	serialize := fs.Bool("serialize-writes", true, "let one write command through at a time (false shows FerretDB's own, non-atomic behaviour)")
	writeLock := fs.String("write-lock", "global", "`scope` of the relay's write lock when --serialize-writes: global (one write command at a time) or collection (one at a time per collection)")
	pgURL := fs.String("postgresql-url", "", "use FerretDB's PostgreSQL backend on this `URL` (postgres://user@host:port/db) instead of SQLite in --dir")
	logLevel := fs.String("log-level", "warn", "log `level` of FerretDB and the relay: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("--dir is required")
	}
	if *writeLock != "global" && *writeLock != "collection" {
		return fmt.Errorf("--write-lock %q: want global or collection", *writeLock)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	dataDir, err := filepath.Abs(*dir)
	if err != nil {
		return fmt.Errorf("--dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fmt.Errorf("--dir: %w", err)
	}

	// FerretDB listens on a Unix socket in the data directory: only the relay can reach it,
	// and there is no second TCP port to race for. Socket paths are limited to about 100
	// bytes, so a long --dir falls back to a private temporary directory.
	sockDir := dataDir
	if len(filepath.Join(sockDir, "ferretdb.sock")) > 100 {
		if sockDir, err = os.MkdirTemp("", "ferret-sock-"); err != nil {
			return fmt.Errorf("socket directory: %w", err)
		}
		defer os.RemoveAll(sockDir)
	}
	sock := filepath.Join(sockDir, "ferretdb.sock")
	_ = os.Remove(sock) // a stale socket of an earlier run would make the listen fail

	cfg := &ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: sock},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dataDir + "/",
	}
	backend := "sqlite " + dataDir
	if *pgURL != "" {
		cfg.Handler, cfg.SQLiteURL, cfg.PostgreSQLURL = "postgresql", "", *pgURL
		backend = "postgresql"
	}
	fdb, err := ferretdb.New(cfg)
	if err != nil {
		return fmt.Errorf("start FerretDB: %w", err)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	relay := newRelay(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}, logger)
	relay.serialize = *serialize
	relay.perCollection = *writeLock == "collection"

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return fdb.Run(gctx) })
	g.Go(func() error { return relay.serve(gctx, ln) })

	if err := waitSocket(gctx, sock); err != nil {
		cancel()
		_ = g.Wait()
		return err
	}
	if _, err := fmt.Fprintln(stdout, ln.Addr().String()); err != nil {
		cancel()
		_ = g.Wait()
		return fmt.Errorf("print address: %w", err)
	}
	logger.Info("ferret-server ready", "addr", ln.Addr().String(), "backend", backend, "write-lock", *writeLock)
	return g.Wait()
}

// waitSocket waits until FerretDB accepts connections on its socket, so that the printed
// address is usable at once.
func waitSocket(ctx context.Context, sock string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("unix", sock, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("FerretDB did not listen on %s: %w", sock, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
