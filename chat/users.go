package chat

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// User returns a user's profile.
func (s *Service) User(ctx context.Context, userID string) (User, error) {
	u, err := s.users.User(ctx, userID)
	if IsNotFound(err) {
		return User{}, Errorf(NotFound, "user_not_found", "no such user")
	}
	return u, err
}

// UserWithPresence returns a user's profile with their presence.
func (s *Service) UserWithPresence(ctx context.Context, userID string) (User, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return User{}, err
	}
	ps, err := s.presence.Statuses(ctx, []string{userID})
	if err != nil {
		return User{}, fmt.Errorf("presence: %w", err)
	}
	u.Presence = &ps[0]
	return u, nil
}

// SearchUsers finds users by username or display-name prefix.
func (s *Service) SearchUsers(ctx context.Context, q string, limit int) ([]User, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, Errorf(Invalid, "bad_request", "q is required")
	}
	if utf8.RuneCountInString(q) > 64 {
		return nil, Errorf(Invalid, "bad_request", "q is too long")
	}
	limit = clamp(limit, 20, 50)
	return s.users.SearchUsers(ctx, q, limit)
}

func (s *Service) checkUsersExist(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	users, err := s.users.UsersByIDs(ctx, ids)
	if err != nil {
		return err
	}
	if len(users) != len(ids) {
		return Errorf(Invalid, "unknown_user", "some memberIds are not users")
	}
	return nil
}
