package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// admin grants or revokes server administration: `chatchat admin grant|revoke [flags]
// USERNAME`, with serve's storage flags and environment, so that it finds the store the
// server uses. It writes to the store only, which a running server reads on every admin
// request: it takes effect at once, with no restart.
func admin(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "grant" && args[0] != "revoke") {
		fmt.Fprint(stderr, adminUsage)
		return errUsage
	}
	grant := args[0] == "grant"
	var s settings
	fs := s.flagSet("admin")
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, adminUsage+"\nStorage flags (as for serve; the environment too):\n\n")
		fs.PrintDefaults()
	}
	if err := applyEnv(fs, env); err != nil {
		return err
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, adminUsage)
		return errUsage
	}
	username := fs.Arg(0)
	log, err := newLogger(stderr, "warn", s.LogFormat)
	if err != nil {
		return err
	}
	if s.MongoURI == "" {
		// A mistyped --data-dir must not create an empty database beside the real one.
		if _, err := os.Stat(dbPath(s.DataDir)); err != nil {
			return fmt.Errorf("admin: no database at %s (give the --data-dir the server runs with): %w", dbPath(s.DataDir), err)
		}
	}
	s.RedisURL = "" // the store is all this needs
	b, err := openBackends(ctx, &s, log, nil)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	defer b.close(log)

	u, _, err := b.store.UserByUsername(ctx, username)
	if chat.IsNotFound(err) {
		return fmt.Errorf("admin: no user %q in the %s store", username, b.storeName)
	}
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	action, verb := chat.AuditGrantAdmin, "now administers"
	if !grant {
		action, verb = chat.AuditRevokeAdmin, "no longer administers"
	}
	// The entry first, as the API does: no change goes unrecorded.
	e := chat.NewAuditEntry("", "cli", action, chat.TargetUser, u.ID, u.Username, time.Now())
	if err := b.store.AddAudit(ctx, e); err != nil {
		return fmt.Errorf("admin: audit: %w", err)
	}
	if err := b.store.SetAdmin(ctx, u.ID, grant); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	fmt.Fprintf(stdout, "%s (%s) %s the server\n", u.Username, u.ID, verb)
	return nil
}

const adminUsage = `Usage: chatchat admin grant|revoke [flags] USERNAME

Grants or revokes server administration (the admin API and page). Give the storage flags
the server runs with (--data-dir, or --mongo-uri and --mongo-database); it works while the
server runs. Every grant and revoke is written to the audit log.
`
