package chattest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// --- users ---

func testUserCreateAndLookUp(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := chat.User{ID: chat.NewID(), Username: "Alice", DisplayName: "Alice Liddell", CreatedAt: chat.At(storeEpoch)}
	if err := s.CreateUser(ctx, u, "secret-hash"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	sameUser(t, "User", got, u)

	for _, name := range []string{"Alice", "alice", "ALICE"} {
		got, hash, err := s.UserByUsername(ctx, name)
		if err != nil {
			t.Fatalf("UserByUsername(%q): %v", name, err)
		}
		sameUser(t, "UserByUsername("+name+")", got, u)
		if hash != "secret-hash" {
			t.Errorf("UserByUsername(%q) hash = %q, want %q", name, hash, "secret-hash")
		}
	}
}

func testUserDuplicate(t *testing.T, s chat.Store) {
	ctx := t.Context()
	for _, c := range []struct{ first, second string }{
		{"bob", "bob"},
		{"Carol", "cAROL"},
		{"Émile", "émile"}, // case folding is not only for ASCII
	} {
		first := chat.User{ID: chat.NewID(), Username: c.first, DisplayName: "first", CreatedAt: chat.At(storeEpoch)}
		if err := s.CreateUser(ctx, first, "h1"); err != nil {
			t.Fatalf("CreateUser(%q): %v", c.first, err)
		}
		second := chat.User{ID: chat.NewID(), Username: c.second, DisplayName: "second", CreatedAt: chat.At(storeEpoch)}
		wantConflict(t, fmt.Sprintf("CreateUser(%q) after %q", c.second, c.first), s.CreateUser(ctx, second, "h2"))

		// The first stays as it was, and the second was not stored under its id.
		got, hash, err := s.UserByUsername(ctx, c.second)
		if err != nil {
			t.Fatalf("UserByUsername(%q): %v", c.second, err)
		}
		sameUser(t, "UserByUsername after conflict", got, first)
		if hash != "h1" {
			t.Errorf("hash after conflict = %q, want h1", hash)
		}
		_, err = s.User(ctx, second.ID)
		wantNotFound(t, "User(rejected id)", err)
	}
}

func testUserNotFound(t *testing.T, s chat.Store) {
	ctx := t.Context()
	storeUser(t, s, "dave")
	_, err := s.User(ctx, chat.NewID())
	wantNotFound(t, "User(unknown)", err)
	_, _, err = s.UserByUsername(ctx, "nobody")
	wantNotFound(t, "UserByUsername(unknown)", err)
	_, _, err = s.UserByUsername(ctx, "dav") // a prefix is not a match
	wantNotFound(t, "UserByUsername(prefix)", err)
}

func testUsersByIDs(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 3)
	got, err := s.UsersByIDs(ctx, []string{users[2].ID, chat.NewID(), users[0].ID})
	if err != nil {
		t.Fatalf("UsersByIDs: %v", err)
	}
	sameIDs(t, "UsersByIDs", userIDs(got), []string{users[0].ID, users[2].ID})
	for _, u := range got {
		if u.ID == users[0].ID {
			sameUser(t, "UsersByIDs[user0]", u, users[0])
		}
	}
	got, err = s.UsersByIDs(ctx, nil)
	if err != nil || len(got) != 0 {
		t.Errorf("UsersByIDs(nil) = %v, %v; want none", got, err)
	}
}

func testSearchUsers(t *testing.T, s chat.Store) {
	ctx := t.Context()
	for _, u := range []struct{ username, display string }{
		{"alice", "Alice Liddell"},
		{"alfred", "Alfred Pennyworth"},
		{"bob", "Alchemist Bob"}, // found by display name only
		{"carol", "Carol"},
		{"elodie", "Élodie Durand"}, // folding beyond ASCII
		{"zed", "Zed"},
	} {
		err := s.CreateUser(ctx, chat.User{ID: chat.NewID(), Username: u.username, DisplayName: u.display, CreatedAt: chat.At(storeEpoch)}, "h")
		if err != nil {
			t.Fatalf("CreateUser(%s): %v", u.username, err)
		}
	}
	for _, c := range []struct {
		prefix string
		limit  int
		want   []string // usernames, in order
	}{
		{"al", 10, []string{"alfred", "alice", "bob"}},
		{"AL", 10, []string{"alfred", "alice", "bob"}},
		{"Al", 2, []string{"alfred", "alice"}},
		{"ali", 10, []string{"alice"}},
		{"alice", 10, []string{"alice"}},
		{"alicex", 10, nil},
		{"liddell", 10, nil}, // inside the display name, not a prefix
		{"car", 10, []string{"carol"}},
		{"ÉLO", 10, []string{"elodie"}},
		{"élo", 10, []string{"elodie"}},
		{"elo", 10, []string{"elodie"}},
		{"z", 10, []string{"zed"}},
		{"x", 10, nil},
	} {
		got, err := s.SearchUsers(ctx, c.prefix, c.limit)
		if err != nil {
			t.Fatalf("SearchUsers(%q, %d): %v", c.prefix, c.limit, err)
		}
		var names []string
		for _, u := range got {
			names = append(names, u.Username)
		}
		if !slices.Equal(names, c.want) {
			t.Errorf("SearchUsers(%q, %d) = %v, want %v", c.prefix, c.limit, names, c.want)
		}
	}
}

func testUserConcurrentCreate(t *testing.T, s chat.Store) {
	ctx := t.Context()
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Differing case: the race is decided on the folded name.
			name := "racer"
			if i%2 == 1 {
				name = "Racer"
			}
			u := chat.User{ID: chat.NewID(), Username: name, DisplayName: "Racer", CreatedAt: chat.At(storeEpoch)}
			errs[i] = s.CreateUser(ctx, u, "h")
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !chat.IsConflict(err):
			t.Errorf("CreateUser: %v, want success or a conflict", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent CreateUser with one username succeeded, want exactly 1", ok, n)
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
