package auth_test

import (
	"context"
	"strings"
	"sync"

	"github.com/chatchat/chatchat/chat"
)

// memStore is the smallest chat.UserStore and chat.TokenStore that keeps the contract
// auth relies on. It stands in only while the sqlite store is being written; see newStore.
type memStore struct {
	mu     sync.Mutex
	users  map[string]memUser // by lower-case username
	tokens map[string]*memToken
}

type memUser struct {
	user chat.User
	hash string
}

type memToken struct {
	t    chat.RefreshToken
	used bool
}

var (
	_ chat.UserStore  = (*memStore)(nil)
	_ chat.TokenStore = (*memStore)(nil)
)

func newMemStore() *memStore {
	return &memStore{users: map[string]memUser{}, tokens: map[string]*memToken{}}
}

func (m *memStore) CreateUser(_ context.Context, u chat.User, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := strings.ToLower(u.Username)
	if _, ok := m.users[k]; ok {
		return chat.ErrConflict
	}
	m.users[k] = memUser{u, hash}
	return nil
}

func (m *memStore) User(_ context.Context, id string) (chat.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if u.user.ID == id {
			return u.user, nil
		}
	}
	return chat.User{}, chat.ErrNotFound
}

func (m *memStore) UserByUsername(_ context.Context, username string) (chat.User, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[strings.ToLower(username)]
	if !ok {
		return chat.User{}, "", chat.ErrNotFound
	}
	return u.user, u.hash, nil
}

func (m *memStore) UsersByIDs(context.Context, []string) ([]chat.User, error) {
	panic("not used by auth")
}

func (m *memStore) SearchUsers(context.Context, string, int) ([]chat.User, error) {
	panic("not used by auth")
}

func (m *memStore) CreateRefreshToken(_ context.Context, t chat.RefreshToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tokens[t.Hash]; ok {
		return chat.ErrConflict
	}
	m.tokens[t.Hash] = &memToken{t: t}
	return nil
}

func (m *memStore) ConsumeRefreshToken(_ context.Context, hash string) (chat.RefreshToken, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[hash]
	if !ok {
		return chat.RefreshToken{}, false, chat.ErrNotFound
	}
	first := !t.used
	t.used = true
	return t.t, first, nil
}

func (m *memStore) RevokeTokenFamily(_ context.Context, familyID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tokens {
		if t.t.FamilyID == familyID {
			t.t.Revoked = true
		}
	}
	return nil
}
