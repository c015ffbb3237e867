package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/chatchat/chatchat/chat"
)

// CreateRefreshToken implements chat.TokenStore.
func (s *Store) CreateRefreshToken(ctx context.Context, t chat.RefreshToken) error {
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO refresh_tokens (hash, user_id, family_id, created_at, expires_at, revoked)
		VALUES (?, ?, ?, ?, ?, ?)`,
		t.Hash, t.UserID, t.FamilyID, millis(t.CreatedAt), millis(t.ExpiresAt), t.Revoked)
	switch {
	case isUnique(err):
		return fmt.Errorf("sqlite: create refresh token: %w", chat.ErrConflict)
	case isForeignKey(err):
		return fmt.Errorf("sqlite: create refresh token: user %s: %w", t.UserID, chat.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: create refresh token: %w", err)
	}
	return nil
}

// ConsumeRefreshToken implements chat.TokenStore.
func (s *Store) ConsumeRefreshToken(ctx context.Context, hash string) (chat.RefreshToken, bool, error) {
	var (
		t         chat.RefreshToken
		firstUse  bool
		createdAt int64
		expiresAt int64
	)
	// Read and mark in one transaction on the single writer, so that of two concurrent
	// uses exactly one sees the token unused.
	err := s.write(ctx, "consume refresh token", func(tx *sql.Tx) error {
		var used bool
		err := tx.QueryRowContext(ctx, `
			SELECT hash, user_id, family_id, created_at, expires_at, revoked, used
			FROM refresh_tokens WHERE hash = ?`, hash).
			Scan(&t.Hash, &t.UserID, &t.FamilyID, &createdAt, &expiresAt, &t.Revoked, &used)
		if err != nil {
			return fmt.Errorf("sqlite: consume refresh token: %w", notFound(err))
		}
		firstUse = !used
		if used {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET used = 1 WHERE hash = ?`, hash); err != nil {
			return fmt.Errorf("sqlite: consume refresh token: %w", err)
		}
		return nil
	})
	if err != nil {
		return chat.RefreshToken{}, false, err
	}
	t.CreatedAt = fromMillis(createdAt)
	t.ExpiresAt = fromMillis(expiresAt)
	return t, firstUse, nil
}

// RevokeTokenFamily implements chat.TokenStore.
func (s *Store) RevokeTokenFamily(ctx context.Context, familyID string) error {
	if _, err := s.w.ExecContext(ctx,
		`UPDATE refresh_tokens SET revoked = 1 WHERE family_id = ?`, familyID); err != nil {
		return fmt.Errorf("sqlite: revoke token family %s: %w", familyID, err)
	}
	return nil
}
