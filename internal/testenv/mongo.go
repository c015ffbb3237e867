package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MongoURIEnv names the environment variable that points tests at a running MongoDB-wire
// server (a mongodb:// URI). The project's test command starts one ferret-server for the
// whole run and exports it here, so that packages do not each start their own.
const MongoURIEnv = "CHATCHAT_TEST_MONGO_URI"

// mongoStartTimeout bounds how long a private ferret-server may take to print its address.
// Generous, as for Redis: the machine's cores are shared by parallel test binaries.
const mongoStartTimeout = 60 * time.Second

// ferretBuildTimeout bounds the one-time build of ferret-server; a first build with an
// empty build cache takes about a minute on two cores.
const ferretBuildTimeout = 15 * time.Minute

// MongoServer is a MongoDB-wire server that a test may use: FerretDB (SQLite backend) behind
// the relay of tools/ferret, which makes single-document writes atomic as MongoDB's are.
// Several tests may share one server, so each test uses its own database (see Database).
type MongoServer struct {
	// URI is the server as a mongodb:// URI, with retryWrites=false as DocumentDB needs.
	URI string

	process // zero when the server came from the environment
}

// Mongo returns the server named by CHATCHAT_TEST_MONGO_URI, or else a private
// ferret-server started for tb and stopped by tb.Cleanup.
func Mongo(tb testing.TB) *MongoServer {
	tb.Helper()
	return envOrStart(tb, MongoURIEnv,
		func(uri string) *MongoServer { return &MongoServer{URI: uri} },
		func(s *MongoServer) error { return s.waitPing(10 * time.Second) },
		StartMongo)
}

// StartMongo always starts a private ferret-server for tb, whatever the environment says:
// for tests that stop the server and must not do so to a shared one. The binary is built
// on first use (see FerretBinary).
func StartMongo(tb testing.TB) *MongoServer {
	tb.Helper()
	bin := FerretBinary(tb)
	s, err := startFerret(bin, tb.TempDir())
	if err != nil {
		tb.Fatalf("testenv: start ferret-server: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

func startFerret(bin, dir string) (*MongoServer, error) {
	logPath := filepath.Join(dir, "ferret-server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--dir", filepath.Join(dir, "data"))
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	addrc := make(chan string, 1)
	proc, err := startProcess(cmd, func() {
		// The address line, then the rest until the child exits, so that it never blocks
		// on a full pipe.
		rd := bufio.NewReader(stdout)
		line, _ := rd.ReadString('\n')
		addrc <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, rd)
	})
	if err != nil {
		return nil, err
	}
	s := &MongoServer{process: proc}
	select {
	case addr := <-addrc:
		if _, _, err := net.SplitHostPort(addr); err != nil {
			s.Stop()
			return nil, fmt.Errorf("ferret-server printed %q, not an address; log:\n%s", addr, tail(logPath))
		}
		s.URI = "mongodb://" + addr + "/?retryWrites=false&directConnection=true"
	case <-time.After(mongoStartTimeout):
		s.Stop()
		return nil, fmt.Errorf("no address within %s; log:\n%s", mongoStartTimeout, tail(logPath))
	}
	if err := s.waitPing(mongoStartTimeout); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w; log:\n%s", err, tail(logPath))
	}
	return s, nil
}

// Database returns a database name that no other test uses, and drops that database when
// tb ends.
func (s *MongoServer) Database(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("testenv: random database name: %v", err)
	}
	// Letters, digits and '_' only, and short: FerretDB's SQLite backend maps a database
	// to a file, and MongoDB limits names to 64 bytes.
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, tb.Name())
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	db := "t" + hex.EncodeToString(b[:]) + "_" + name
	tb.Cleanup(func() {
		if s.exited() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := mongo.Connect(options.Client().ApplyURI(s.URI).SetServerSelectionTimeout(5 * time.Second))
		if err != nil {
			tb.Errorf("testenv: drop database %s: %v", db, err)
			return
		}
		defer c.Disconnect(ctx)
		if err := c.Database(db).Drop(ctx); err != nil {
			tb.Errorf("testenv: drop database %s: %v", db, err)
		}
	})
	return db
}

// waitPing waits until the server answers a ping, or the private server exits, or the time
// is up.
func (s *MongoServer) waitPing(limit time.Duration) error {
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI).SetServerSelectionTimeout(limit))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Disconnect(context.Background())
	return s.waitReady(limit, func(ctx context.Context) error { return c.Ping(ctx, nil) })
}

// FerretBinary returns the path of the ferret-server binary, building it from tools/ferret
// (its own Go module, so that FerretDB stays out of ChatChat's dependencies) when it is not
// built yet. The binary is kept under os.TempDir, named by a hash of the tool's sources and
// go.sum: a test run builds it at most once, and so do later runs until the tool changes.
// A lock file makes concurrent test binaries wait for one build rather than each run it.
func FerretBinary(tb testing.TB) string {
	tb.Helper()
	dir, err := ferretDir()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	key, err := hashTool(dir)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	bin := filepath.Join(os.TempDir(), "chatchat-ferret-server-"+key)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}

	lock, err := os.OpenFile(bin+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		tb.Fatalf("testenv: lock ferret-server build: %v", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		tb.Fatalf("testenv: lock ferret-server build: %v", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin // built by another test binary while this one waited
	}

	tb.Logf("testenv: building ferret-server from %s (once; about a minute with a cold build cache)", dir)
	ctx, cancel := context.WithTimeout(context.Background(), ferretBuildTimeout)
	defer cancel()
	tmp := fmt.Sprintf("%s.tmp%d", bin, os.Getpid())
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, ".")
	cmd.Dir = dir
	// The tool's module, not whatever module the test's environment names.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	if err != nil {
		os.Remove(tmp)
		tb.Fatalf("testenv: build ferret-server in %s: %v\n%s", dir, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		tb.Fatalf("testenv: build ferret-server: %v", err)
	}
	return bin
}

// ferretDir finds tools/ferret beside the main module's go.mod.
func ferretDir() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the chatchat module: cannot find tools/ferret")
	}
	dir := filepath.Join(filepath.Dir(gomod), "tools", "ferret")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", fmt.Errorf("find tools/ferret: %w", err)
	}
	return dir, nil
}

// hashTool hashes what the binary is built from: go.mod, go.sum and the Go files.
func hashTool(dir string) (string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", err
	}
	names = append(names, filepath.Join(dir, "go.mod"), filepath.Join(dir, "go.sum"))
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return "", fmt.Errorf("hash ferret-server sources: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(n), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
