package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/chatchat/chatchat/internal/keyrange"

	"github.com/chatchat/chatchat/chat"
)

// CreateUser implements chat.UserStore.
func (s *Store) CreateUser(ctx context.Context, u chat.User, passwordHash string) error {
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO users (id, username, username_key, display_name, display_key, password_hash, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Username, chat.FoldKey(u.Username), u.DisplayName, chat.FoldKey(u.DisplayName),
		passwordHash, millis(u.CreatedAt.Time))
	if isUnique(err) {
		return fmt.Errorf("sqlite: create user %q: %w", u.Username, chat.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user %q: %w", u.Username, err)
	}
	return nil
}

const userColumns = `id, username, display_name, created_at, admin, suspended_at`

// User implements chat.UserStore.
func (s *Store) User(ctx context.Context, id string) (chat.User, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id)
	u, err := scanUser(row)
	if err != nil {
		return chat.User{}, fmt.Errorf("sqlite: user %s: %w", id, notFound(err))
	}
	return u, nil
}

// UserByUsername implements chat.UserStore.
func (s *Store) UserByUsername(ctx context.Context, username string) (chat.User, string, error) {
	var (
		u         chat.User
		hash      string
		at        int64
		suspended sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, `
		SELECT `+userColumns+`, password_hash
		FROM users WHERE username_key = ? AND erased_at IS NULL`, chat.FoldKey(username)).
		Scan(&u.ID, &u.Username, &u.DisplayName, &at, &u.Admin, &suspended, &hash)
	if err != nil {
		return chat.User{}, "", fmt.Errorf("sqlite: user by username %q: %w", username, notFound(err))
	}
	u.CreatedAt = chat.At(fromMillis(at))
	u.SuspendedAt = optionalTime(suspended)
	return u, hash, nil
}

// UsersByIDs implements chat.UserStore.
func (s *Store) UsersByIDs(ctx context.Context, ids []string) ([]chat.User, error) {
	ids = chat.UniqueIDs(ids)
	if len(ids) == 0 {
		return []chat.User{}, nil
	}
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE id IN (`+placeholders(len(ids))+`)`, anys(nil, ids)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: users by ids: %w", err)
	}
	users, err := scanUsers(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: users by ids: %w", err)
	}
	return users, nil
}

// SearchUsers implements chat.UserStore. A limit of zero or less means 20.
func (s *Store) SearchUsers(ctx context.Context, prefix string, limit int) ([]chat.User, error) {
	if limit <= 0 {
		limit = 20
	}
	key := chat.FoldKey(prefix)
	// A prefix match as a range, [key, successor of key), so that each side of the OR is
	// a search of its index; LIKE would fold only ASCII letters.
	var (
		rows *sql.Rows
		err  error
	)
	if end, ok := keyrange.PrefixEnd(key); ok {
		rows, err = s.r.QueryContext(ctx, `
			SELECT `+userColumns+` FROM users
			WHERE ((username_key >= ?1 AND username_key < ?2)
			   OR (display_key >= ?1 AND display_key < ?2)) AND erased_at IS NULL
			ORDER BY username_key LIMIT ?3`, key, end, limit)
	} else {
		// Every key starts with "" (and nothing is past the last rune).
		rows, err = s.r.QueryContext(ctx, `
			SELECT `+userColumns+` FROM users
			WHERE (username_key >= ?1 OR display_key >= ?1) AND erased_at IS NULL
			ORDER BY username_key LIMIT ?2`, key, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: search users %q: %w", prefix, err)
	}
	users, err := scanUsers(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search users %q: %w", prefix, err)
	}
	return users, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanUser(row scanner) (chat.User, error) {
	var (
		u         chat.User
		at        int64
		suspended sql.NullInt64
	)
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &at, &u.Admin, &suspended); err != nil {
		return chat.User{}, err
	}
	u.CreatedAt = chat.At(fromMillis(at))
	u.SuspendedAt = optionalTime(suspended)
	return u, nil
}

func optionalTime(ms sql.NullInt64) *chat.Time {
	if !ms.Valid {
		return nil
	}
	t := chat.At(fromMillis(ms.Int64))
	return &t
}

func scanUsers(rows *sql.Rows) ([]chat.User, error) {
	defer rows.Close()
	users := []chat.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// notFound turns sql.ErrNoRows into chat.ErrNotFound and leaves other errors alone.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return chat.ErrNotFound
	}
	return err
}
