package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// RedisAddrEnv names the environment variable that points tests at a running Redis
// (host:port). The project's test command starts one redis-server for the whole run and
// exports it here, so that packages do not each start their own.
const RedisAddrEnv = "CHATCHAT_TEST_REDIS_ADDR"

// redisStartTimeout bounds how long a private redis-server may take to answer PING. It is
// generous because the machine's two cores are shared by parallel test binaries.
const redisStartTimeout = 20 * time.Second

// RedisServer is a Redis that a test may use. Several tests may share one server, so each
// test isolates itself with its own key prefix (see Prefix).
type RedisServer struct {
	// Addr is the server's host:port.
	Addr string

	process // zero when the server came from the environment
	logPath string
}

// Redis returns the Redis named by CHATCHAT_TEST_REDIS_ADDR, or else a private redis-server
// started for tb and stopped by tb.Cleanup.
func Redis(tb testing.TB) *RedisServer {
	tb.Helper()
	return envOrStart(tb, RedisAddrEnv,
		func(addr string) *RedisServer { return &RedisServer{Addr: addr} },
		func(s *RedisServer) error { return s.waitReady(10*time.Second, s.ping) },
		StartRedis)
}

// StartRedis always starts a private redis-server for tb, whatever the environment says:
// for tests that stop or disturb the server and must not do so to a shared one.
func StartRedis(tb testing.TB) *RedisServer {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatalf("testenv: redis-server is not on PATH (%v): run `make test`, which installs it "+
			"(Debian/Ubuntu package redis-server), or set %s to a running Redis", err, RedisAddrEnv)
	}
	dir := tb.TempDir()
	var lastErr error
	// The free port is found by binding and releasing it, so another process may take it
	// before redis-server binds it; a few attempts make that race harmless.
	for attempt := 0; attempt < 5; attempt++ {
		s, err := startRedis(bin, dir, nil)
		if err == nil {
			tb.Cleanup(s.Stop)
			return s
		}
		lastErr = err
	}
	tb.Fatalf("testenv: start redis-server: %v", lastErr)
	return nil
}

// startRedis starts a redis-server on a free port; extra(port) returns more arguments.
func startRedis(bin, dir string, extra func(port int) ([]string, error)) (*RedisServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	var more []string
	if extra != nil {
		if more, err = extra(port); err != nil {
			return nil, err
		}
	}
	logPath := filepath.Join(dir, "redis-"+strconv.Itoa(port)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
	)
	cmd.Args = append(cmd.Args, more...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	proc, err := startProcess(cmd, nil)
	if err != nil {
		return nil, err
	}
	s := &RedisServer{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), process: proc, logPath: logPath}
	if err := s.waitReady(redisStartTimeout, s.ping); err != nil {
		s.Stop()
		return nil, fmt.Errorf("redis-server on port %d: %w; log:\n%s", port, err, tail(logPath))
	}
	return s, nil
}

// NewRedis is StartRedis for a program rather than a test (the load generator's chaos
// run): the server keeps its files in dir, and the caller calls Stop.
func NewRedis(dir string) (*RedisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not on PATH (%v)", err)
	}
	for attempt := 0; ; attempt++ {
		s, err := startRedis(bin, dir, nil)
		if err == nil || attempt == 4 {
			return s, err
		}
	}
}

// restart starts a private server that was killed or stopped again, with the same
// arguments and log, and waits until it answers.
func (s *RedisServer) restart(limit time.Duration) error {
	if s.cmd == nil {
		return fmt.Errorf("%s came from the environment", s.Addr)
	}
	if !s.exited() {
		return fmt.Errorf("%s is still running", s.Addr)
	}
	logFile, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(s.cmd.Path, s.cmd.Args[1:]...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	proc, err := startProcess(cmd, nil)
	if err != nil {
		return err
	}
	s.process = proc
	if err := s.waitReady(limit, s.ping); err != nil {
		return fmt.Errorf("redis-server %s restarted: %w; log:\n%s", s.Addr, err, tail(s.logPath))
	}
	return nil
}

// URL is the server as a redis:// URL, the form of the --redis-url flag.
func (s *RedisServer) URL() string { return "redis://" + s.Addr + "/0" }

// Client returns a new client of the server, closed by tb.Cleanup.
func (s *RedisServer) Client(tb testing.TB) *goredis.Client {
	tb.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Prefix returns a key prefix that no other test uses, and deletes the keys under it when
// tb ends, so that tests sharing one server neither see each other's keys nor leave theirs.
func (s *RedisServer) Prefix(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("testenv: random prefix: %v", err)
	}
	prefix := "test:" + sanitize(tb.Name()) + ":" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		// A test may have stopped its private server; then there is nothing to delete.
		if s.exited() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c := goredis.NewClient(&goredis.Options{Addr: s.Addr})
		defer c.Close()
		iter := c.Scan(ctx, 0, escapeGlob(prefix)+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("testenv: scan keys of %s: %v", prefix, err)
			return
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			if err := c.Del(ctx, keys[:n]...).Err(); err != nil {
				tb.Errorf("testenv: delete keys of %s: %v", prefix, err)
				return
			}
			keys = keys[n:]
		}
	})
	return prefix
}

// ping speaks the protocol by hand so that a server's readiness does not depend on the
// client library's retry and pooling behaviour.
func (s *RedisServer) ping(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// sanitize keeps a test name readable in a key while dropping what MATCH patterns or
// humans reading MONITOR output would trip over.
func sanitize(name string) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		}
		return '_'
	}, name)
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	return name
}

// escapeGlob escapes the characters that SCAN MATCH treats as a pattern.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
