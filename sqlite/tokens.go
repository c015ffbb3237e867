package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

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

const tokenColumns = `hash, user_id, family_id, created_at, expires_at, revoked, used, used_at, successor, grace_used`

// scanToken reads a row of tokenColumns; used reports the used flag, which predates
// used_at (tokens used before migration 5 have used_at 0).
func scanToken(row interface{ Scan(...any) error }) (t chat.RefreshToken, used bool, err error) {
	var createdAt, expiresAt, usedAt int64
	err = row.Scan(&t.Hash, &t.UserID, &t.FamilyID, &createdAt, &expiresAt, &t.Revoked, &used, &usedAt,
		&t.Successor, &t.GraceUsed)
	if err != nil {
		return chat.RefreshToken{}, false, notFound(err)
	}
	t.CreatedAt, t.ExpiresAt = fromMillis(createdAt), fromMillis(expiresAt)
	if usedAt != 0 {
		t.UsedAt = fromMillis(usedAt)
	}
	return t, used, nil
}

// RefreshToken implements chat.TokenStore.
func (s *Store) RefreshToken(ctx context.Context, hash string) (chat.RefreshToken, error) {
	t, _, err := scanToken(s.r.QueryRowContext(ctx,
		`SELECT `+tokenColumns+` FROM refresh_tokens WHERE hash = ?`, hash))
	if err != nil {
		return chat.RefreshToken{}, fmt.Errorf("sqlite: refresh token: %w", err)
	}
	return t, nil
}

// ConsumeRefreshToken implements chat.TokenStore.
func (s *Store) ConsumeRefreshToken(ctx context.Context, hash string, now time.Time) (chat.RefreshToken, bool, error) {
	var (
		t        chat.RefreshToken
		firstUse bool
	)
	// Read and mark in one transaction on the single writer, so that of two concurrent
	// uses exactly one sees the token unused.
	err := s.write(ctx, "consume refresh token", func(tx *sql.Tx) error {
		var used bool
		var err error
		t, used, err = scanToken(tx.QueryRowContext(ctx,
			`SELECT `+tokenColumns+` FROM refresh_tokens WHERE hash = ?`, hash))
		if err != nil {
			return fmt.Errorf("sqlite: consume refresh token: %w", err)
		}
		firstUse = !used
		if used {
			return nil
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE refresh_tokens SET used = 1, used_at = ? WHERE hash = ?`, millis(now), hash); err != nil {
			return fmt.Errorf("sqlite: consume refresh token: %w", err)
		}
		return nil
	})
	if err != nil {
		return chat.RefreshToken{}, false, err
	}
	return t, firstUse, nil
}

// SetSuccessor implements chat.TokenStore.
func (s *Store) SetSuccessor(ctx context.Context, hash string, sealed []byte) (bool, error) {
	var revoked bool
	err := s.w.QueryRowContext(ctx,
		`UPDATE refresh_tokens SET successor = ? WHERE hash = ? RETURNING revoked`, sealed, hash).Scan(&revoked)
	if err != nil {
		return false, fmt.Errorf("sqlite: set successor: %w", notFound(err))
	}
	return revoked, nil
}

// ClaimGrace implements chat.TokenStore. The successor is dropped with the claim: the one
// repeat it was kept for has happened.
func (s *Store) ClaimGrace(ctx context.Context, hash string) (chat.RefreshToken, bool, error) {
	var (
		t       chat.RefreshToken
		claimed bool
	)
	err := s.write(ctx, "claim refresh grace", func(tx *sql.Tx) error {
		var err error
		t, _, err = scanToken(tx.QueryRowContext(ctx,
			`SELECT `+tokenColumns+` FROM refresh_tokens WHERE hash = ?`, hash))
		if err != nil {
			return fmt.Errorf("sqlite: claim refresh grace: %w", err)
		}
		if len(t.Successor) == 0 || t.GraceUsed {
			return nil
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE refresh_tokens SET grace_used = 1, successor = NULL WHERE hash = ?`, hash); err != nil {
			return fmt.Errorf("sqlite: claim refresh grace: %w", err)
		}
		claimed = true
		return nil
	})
	if err != nil {
		return chat.RefreshToken{}, false, err
	}
	return t, claimed, nil
}

// RevokeTokenFamily implements chat.TokenStore.
func (s *Store) RevokeTokenFamily(ctx context.Context, familyID string) error {
	if _, err := s.w.ExecContext(ctx,
		`UPDATE refresh_tokens SET revoked = 1 WHERE family_id = ?`, familyID); err != nil {
		return fmt.Errorf("sqlite: revoke token family %s: %w", familyID, err)
	}
	return nil
}

// RevokeUserTokens implements chat.TokenStore.
func (s *Store) RevokeUserTokens(ctx context.Context, userID string) error {
	if _, err := s.w.ExecContext(ctx,
		`UPDATE refresh_tokens SET revoked = 1 WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("sqlite: revoke tokens of user %s: %w", userID, err)
	}
	return nil
}

// TokenFamilies implements chat.TokenStore.
func (s *Store) TokenFamilies(ctx context.Context, userID string, since time.Time) ([]string, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = ? AND created_at >= ?`,
		userID, millis(since))
	if err != nil {
		return nil, fmt.Errorf("sqlite: token families of user %s: %w", userID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: token families of user %s: %w", userID, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: token families of user %s: %w", userID, err)
	}
	return out, nil
}

// DropSuccessors implements chat.TokenStore.
func (s *Store) DropSuccessors(ctx context.Context, usedBefore time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx,
		`UPDATE refresh_tokens SET successor = NULL WHERE successor IS NOT NULL AND used_at < ?`, millis(usedBefore))
	if err != nil {
		return 0, fmt.Errorf("sqlite: drop successors: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: drop successors: %w", err)
	}
	return n, nil
}

// pruneBatch bounds the rows one pruning transaction deletes, so that a first prune of a
// large table does not hold the one writer (and every send) for long.
const pruneBatch = 1000

// PruneRefreshTokens implements chat.TokenStore.
func (s *Store) PruneRefreshTokens(ctx context.Context, now time.Time) (int64, error) {
	return s.prune(ctx, "prune refresh tokens", `
		DELETE FROM refresh_tokens WHERE rowid IN (
			SELECT rowid FROM refresh_tokens WHERE expires_at <= ? LIMIT ?)`, millis(now))
}

// prune runs a batched DELETE (its parameters: the cut-off, then the batch size) until a
// batch deletes less than a full batch.
func (s *Store) prune(ctx context.Context, what, query string, cutoff int64) (int64, error) {
	var total int64
	for {
		res, err := s.w.ExecContext(ctx, query, cutoff, pruneBatch)
		if err != nil {
			return total, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
