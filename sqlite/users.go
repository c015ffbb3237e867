package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/chatchat/chatchat/chat"
)

// CreateUser implements chat.UserStore.
func (s *Store) CreateUser(ctx context.Context, u chat.User, passwordHash string) error {
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO users (id, username, username_key, display_name, display_key, password_hash, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Username, foldKey(u.Username), u.DisplayName, foldKey(u.DisplayName),
		passwordHash, millis(u.CreatedAt.Time))
	if isUnique(err) {
		return fmt.Errorf("sqlite: create user %q: %w", u.Username, chat.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user %q: %w", u.Username, err)
	}
	return nil
}

const userColumns = `id, username, display_name, created_at`

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
		u    chat.User
		hash string
		at   int64
	)
	err := s.r.QueryRowContext(ctx, `
		SELECT id, username, display_name, created_at, password_hash
		FROM users WHERE username_key = ?`, foldKey(username)).
		Scan(&u.ID, &u.Username, &u.DisplayName, &at, &hash)
	if err != nil {
		return chat.User{}, "", fmt.Errorf("sqlite: user by username %q: %w", username, notFound(err))
	}
	u.CreatedAt = chat.At(fromMillis(at))
	return u, hash, nil
}

// UsersByIDs implements chat.UserStore.
func (s *Store) UsersByIDs(ctx context.Context, ids []string) ([]chat.User, error) {
	ids = uniq(ids)
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
	key := foldKey(prefix)
	// A prefix match as a range, [key, successor of key), so that each side of the OR is
	// a search of its index; LIKE would fold only ASCII letters.
	var (
		rows *sql.Rows
		err  error
	)
	if end, ok := prefixEnd(key); ok {
		rows, err = s.r.QueryContext(ctx, `
			SELECT `+userColumns+` FROM users
			WHERE (username_key >= ?1 AND username_key < ?2)
			   OR (display_key >= ?1 AND display_key < ?2)
			ORDER BY username_key LIMIT ?3`, key, end, limit)
	} else {
		// Every key starts with "" (and nothing is past the last rune).
		rows, err = s.r.QueryContext(ctx, `
			SELECT `+userColumns+` FROM users
			WHERE username_key >= ?1 OR display_key >= ?1
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

// foldKey is the case-insensitive form of a username or display name.
func foldKey(s string) string { return strings.ToLower(s) }

// prefixEnd returns the least string greater than every string that starts with p, for a
// range scan; ok is false when there is none (p is empty or all maximal runes). UTF-8
// byte order is code point order, so incrementing the last rune is enough.
func prefixEnd(p string) (end string, ok bool) {
	for p != "" {
		r, size := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-size]
		switch {
		case r == utf8.MaxRune || r == utf8.RuneError && size == 1:
			continue // cannot increment: carry into the rune before
		case r == 0xD7FF:
			r = 0xE000 // skip the surrogates, which UTF-8 cannot encode
		default:
			r++
		}
		return p + string(r), true
	}
	return "", false
}

type scanner interface{ Scan(dest ...any) error }

func scanUser(row scanner) (chat.User, error) {
	var (
		u  chat.User
		at int64
	)
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &at); err != nil {
		return chat.User{}, err
	}
	u.CreatedAt = chat.At(fromMillis(at))
	return u, nil
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
