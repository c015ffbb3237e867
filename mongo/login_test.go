package mongo_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/internal/testenv"
	"github.com/chatchat/chatchat/mongo"
)

// secret is a stand-in for the secret store: what a Credentials reader returns, and how
// often it was asked.
type secret struct {
	mu       sync.Mutex
	password string
	reads    int
}

func (s *secret) set(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.password = p
}

func (s *secret) read(context.Context) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return "chatchat", s.password, nil
}

func (s *secret) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// withLogin returns the gate's URI logged in as chatchat with password.
func withLogin(g *testenv.AuthGate, password string) string {
	return strings.Replace(g.URI, "mongodb://", "mongodb://chatchat:"+url.QueryEscape(password)+"@", 1)
}

// eventually calls op until it succeeds, failing the test if it has not within a minute;
// every failure on the way must be an outage (503) that a client retries, never another
// kind of error.
func eventually(tb testing.TB, what string, op func() error) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := op()
		if err == nil {
			return
		}
		if chat.ErrorKind(err) != chat.Unavailable {
			tb.Fatalf("%s: %v (kind %v), want an unavailable error while the store logs in again", what, err, chat.ErrorKind(err))
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: still failing after a minute: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// openAt opens a store on database at uri, closed when the test ends.
func openAt(tb testing.TB, uri, database string, opts ...mongo.Option) *mongo.Store {
	tb.Helper()
	s, err := mongo.Open(tb.Context(), uri, database, opts...)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func newUser(name string) chat.User {
	return chat.User{ID: chat.NewID(), Username: name, DisplayName: name, CreatedAt: chat.At(time.Now())}
}

// TestReloginAfterRotation: the password changes on the server and in the secret while the
// store runs; once its connections are gone (a failover, a blip, idle reaping), its next
// login is refused, it reads the secret again and carries on with the new password.
func TestReloginAfterRotation(t *testing.T) {
	ctx := t.Context()
	srv := testenv.Mongo(t)
	gate := testenv.StartAuthGate(t, srv, "old")
	sec := &secret{password: "old"}
	s := openAt(t, withLogin(gate, "old"), srv.Database(t), mongo.WithCredentials(sec.read),
		mongo.WithServerSelectionTimeout(time.Second))
	u := newUser("before")
	if err := s.CreateUser(ctx, u, "h"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if n := sec.count(); n != 0 {
		t.Errorf("secret read %d times before any login was refused", n)
	}

	gate.SetPassword("new")
	sec.set("new")
	gate.DropConnections()
	eventually(t, "User after the rotation", func() error { _, err := s.User(ctx, u.ID); return err })
	if gate.Refused() == 0 || sec.count() == 0 {
		t.Errorf("%d logins refused, secret read %d times: the rotation was not exercised", gate.Refused(), sec.count())
	}
	if err := s.CreateUser(ctx, newUser("after"), "h"); err != nil {
		t.Fatalf("CreateUser with the new password: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// TestOpenWithRotatedPassword: a process that read the password just before a rotation
// starts anyway: its first login is refused, and Open reads the secret again.
func TestOpenWithRotatedPassword(t *testing.T) {
	srv := testenv.Mongo(t)
	gate := testenv.StartAuthGate(t, srv, "new")
	sec := &secret{password: "new"}
	s := openAt(t, withLogin(gate, "old"), srv.Database(t), mongo.WithCredentials(sec.read))
	if err := s.CreateUser(t.Context(), newUser("fresh"), "h"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
}

// TestReloginBounded: while the secret still holds the refused password (a rotation between
// its steps, or a wrong one), failing operations do not each read the secret: at most one
// read per interval, and the store stays an outage rather than an error.
func TestReloginBounded(t *testing.T) {
	ctx := t.Context()
	srv := testenv.Mongo(t)
	gate := testenv.StartAuthGate(t, srv, "old")
	sec := &secret{password: "old"}
	s := openAt(t, withLogin(gate, "old"), srv.Database(t), mongo.WithCredentials(sec.read),
		mongo.WithReloginInterval(time.Hour), mongo.WithServerSelectionTimeout(time.Second))
	gate.SetPassword("new")
	gate.DropConnections()
	for range 10 {
		if _, err := s.User(ctx, "nobody"); chat.ErrorKind(err) != chat.Unavailable {
			t.Fatalf("User with a refused login: %v, want unavailable", err)
		}
	}
	// The read runs in the background; Close waits for it.
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := sec.count(); n != 1 {
		t.Errorf("secret read %d times, want 1 within the interval", n)
	}
}
