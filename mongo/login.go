package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// Credentials returns the user name and password the store logs in with. It is called
// after the server refuses a login, so that a password rotated while the process runs (on
// AWS, by the DocumentDB secret's rotation Lambda) needs no restart.
type Credentials func(ctx context.Context) (username, password string, err error)

// WithCredentials makes the store read its credentials again with c when the server
// refuses a login, and, when they changed, connect again with them. Operations fail as
// unavailable (503) until then. The URI's own credentials are the first ones used.
func WithCredentials(c Credentials) Option { return func(cfg *config) { cfg.credentials = c } }

// WithReloginInterval sets the least time between two reads of the credentials after
// refused logins; 5 s by default. It bounds the calls to the secret store while a
// password is wrong, and is about how long a rotation can cost before the new password is
// in use.
func WithReloginInterval(d time.Duration) Option { return func(c *config) { c.loginInterval = d } }

// codeAuthenticationFailed is the server's error code for a refused login.
const codeAuthenticationFailed = 18

// isAuthFailure reports whether err is, or was caused by, a refused login. A login happens
// when a connection is opened, so a refusal comes either from the operation's own new
// connection or, once the driver has marked the server unusable because of it, as the
// server's last error in a server selection failure.
func isAuthFailure(err error) bool {
	var de driver.Error
	if errors.As(err, &de) && de.Code == codeAuthenticationFailed {
		return true
	}
	var sse topology.ServerSelectionError
	if errors.As(err, &sse) {
		for _, srv := range sse.Desc.Servers {
			if srv.LastError != nil && isAuthFailure(srv.LastError) {
				return true
			}
		}
	}
	return false
}

// connect returns a client for the store's URI, logged in with login's credentials when
// login is set, else with the URI's. It does not contact the server.
func (s *Store) connect(login *conn) (*conn, error) {
	co := options.Client().ApplyURI(s.uri) // timeoutMS in the URI overrides operationTimeout
	if co.RetryWrites == nil {
		co.SetRetryWrites(false)
	}
	if co.ServerSelectionTimeout == nil {
		co.SetServerSelectionTimeout(s.cfg.selectionTimeout)
	}
	if co.ConnectTimeout == nil {
		co.SetConnectTimeout(s.cfg.selectionTimeout)
	}
	if co.Timeout == nil {
		// Every operation is bounded even when its caller's context is not (a relay
		// pass, a background sweep): a hung server costs seconds, not forever.
		co.SetTimeout(operationTimeout)
	}
	c := &conn{}
	if co.Auth != nil {
		c.username, c.password = co.Auth.Username, co.Auth.Password
	}
	if login != nil {
		auth := options.Credential{}
		if co.Auth != nil {
			auth = *co.Auth // keeps the mechanism and auth source of the URI
		}
		auth.Username, auth.Password, auth.PasswordSet = login.username, login.password, true
		co.SetAuth(auth)
		c.username, c.password = login.username, login.password
	}
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("mongo: open: %w", err)
	}
	c.client, c.db = client, client.Database(s.database)
	return c, nil
}

// errSameCredentials is relogin's answer when the credentials read are those in use: the
// rotation has not reached the secret yet, or the password is simply wrong.
var errSameCredentials = errors.New("mongo: the credentials read are the ones refused")

// relogin reads the credentials and, when they differ from stale's, replaces stale with a
// client that has logged in with them. Nothing is done when stale was replaced already.
func (s *Store) relogin(ctx context.Context, stale *conn) error {
	s.login.Lock()
	defer s.login.Unlock()
	if s.conn.Load() != stale {
		return nil
	}
	username, password, err := s.cfg.credentials(ctx)
	if err != nil {
		return fmt.Errorf("mongo: read credentials: %w", err)
	}
	if username == stale.username && password == stale.password {
		return errSameCredentials
	}
	fresh, err := s.connect(&conn{username: username, password: password})
	if err != nil {
		return err
	}
	// Ping opens a connection, so it logs in: a client that cannot does not replace one
	// whose pooled connections may still work.
	if err := fresh.client.Ping(ctx, readpref.Primary()); err != nil {
		s.disconnect(fresh)
		return fmt.Errorf("mongo: log in as %s: %w", username, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.disconnect(fresh)
		return errors.New("mongo: store closed")
	}
	s.conn.Store(fresh)
	s.bg.Go(func() { s.disconnect(stale) })
	s.logger.Info("mongo: logged in again with the credentials read after a refused login", "username", username)
	return nil
}

// reloginSoon starts a re-login in the background, unless one is running, one started
// less than the interval ago, or the store has no way to read credentials.
func (s *Store) reloginSoon() {
	if s.cfg.credentials == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || time.Since(s.lastLogin) < s.cfg.loginInterval {
		return
	}
	s.lastLogin = time.Now()
	stale := s.conn.Load()
	s.bg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.loginTimeout)
		defer cancel()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-s.done:
				cancel()
			case <-stop:
			}
		}()
		if err := s.relogin(ctx, stale); err != nil {
			s.logger.Warn("mongo: login refused and reading the credentials again did not help", "err", err)
		}
	})
}

// disconnect closes a client that is no longer used, giving the operations still running
// on it the close timeout to finish.
func (s *Store) disconnect(c *conn) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.closeTimeout)
	defer cancel()
	if err := c.client.Disconnect(ctx); err != nil && !errors.Is(err, mongo.ErrClientDisconnected) {
		s.logger.Warn("mongo: close the replaced client", "err", err)
	}
}
