// Package sqlite is the embedded storage of the single-node mode: a chat.Store kept in one
// SQLite file through the pure-Go driver modernc.org/sqlite.
//
// SQLite allows one writer at a time. Rather than let concurrent writers collide and fail
// with SQLITE_BUSY, the Store holds a single writer connection, through which every write
// goes in a BEGIN IMMEDIATE transaction, and a small pool of read-only connections that
// WAL mode lets read while the writer writes.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chatchat/chatchat/chat"
)

var (
	_ chat.Store  = (*Store)(nil)
	_ chat.Pinger = (*Store)(nil)
)

// Store is a chat.Store in one SQLite database file. It is safe for concurrent use.
type Store struct {
	path   string
	busy   string  // the busy_timeout pragma of every connection
	w      *sql.DB // exactly one connection: every write is serialized through it
	r      *sql.DB // read-only connections
	logger *slog.Logger
	done   publishedSet // outbox rows to delete with the next write (outbox.go)
	// changesDone: changes' pending marks to clear with the next change (changes.go).
	changesDone changesDone
	stmts       sync.Map // query → *sql.Stmt on w: the send path's statements, prepared once
	// sends writes sends in shared transactions (sends.go).
	sends *sendBatcher
	// The search indexer (search.go): stopIndex ends it, indexDone says it has.
	stopIndex chan struct{}
	indexDone chan struct{}
}

// The send path's statements are prepared once on the writer connection, when the store
// opens: preparing was a fifth of a send's cost when every call prepared its own. They
// cannot be prepared lazily: the writer has one connection, which the transaction that
// wants the statement holds.

// prepareHot prepares the hot statements (hotStatements) on the writer connection.
func (s *Store) prepareHot(ctx context.Context) error {
	for _, q := range hotStatements() {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
		s.stmts.Store(q, st)
	}
	return nil
}

// txExec runs query in tx, through its prepared statement when it is a hot one.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st, ok := s.stmts.Load(query); ok {
		return tx.StmtContext(ctx, st.(*sql.Stmt)).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// txQueryRow is txExec for a statement that returns one row.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st, ok := s.stmts.Load(query); ok {
		return tx.StmtContext(ctx, st.(*sql.Stmt)).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// Option configures Open.
type Option func(*config)

type config struct {
	logger      *slog.Logger
	readers     int
	busyTimeout time.Duration
}

// WithLogger sets the logger; by default nothing is logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithReaders sets the number of read-only connections; by default
// max(4, runtime.NumCPU()).
func WithReaders(n int) Option { return func(c *config) { c.readers = n } }

// WithBusyTimeout sets how long a connection waits for a lock held by another process
// (a backup tool, the sqlite3 shell) before failing; 10 s by default. Within one Store,
// writers queue for the writer connection and never wait on SQLite's lock.
func WithBusyTimeout(d time.Duration) Option { return func(c *config) { c.busyTimeout = d } }

// Open opens the database at path, creating it and its directory when missing, and brings
// its schema up to date.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.readers <= 0 {
		cfg.readers = max(4, runtime.NumCPU())
	}
	if cfg.busyTimeout <= 0 {
		cfg.busyTimeout = 10 * time.Second
	}
	// The driver reads everything after the first '?' as DSN parameters.
	if path == "" || strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open: path %q must be a plain file path", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}

	busy := "busy_timeout(" + strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10) + ")"
	wq := url.Values{}
	wq.Add("_pragma", busy)
	wq.Add("_pragma", "journal_mode(WAL)")
	// NORMAL is durable across a crash of the process, and loses at most the last
	// transactions on a power cut, in exchange for no fsync per message.
	wq.Add("_pragma", "synchronous(NORMAL)")
	wq.Add("_pragma", "foreign_keys(1)")
	// BEGIN IMMEDIATE takes the write lock at the start, so a transaction that reads and
	// then writes cannot fail half-way on a lock upgrade.
	wq.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{path: path, busy: busy, w: w, logger: cfg.logger}
	// The writer goes first: it switches the file to WAL, which the readers rely on.
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.prepareHot(ctx); err != nil {
		s.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
		w.Close()
		return nil, err
	}

	rq := url.Values{}
	rq.Add("_pragma", busy)
	rq.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(cfg.readers)
	r.SetMaxIdleConns(cfg.readers)
	s.r = r
	if err := r.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: readers: %w", path, err)
	}
	s.startIndexer()
	s.startSends()
	s.logger.Debug("sqlite store open", "path", path, "readers", cfg.readers)
	return s, nil
}

// Close closes the database. It lets SQLite refresh its query-planner statistics first,
// as SQLite recommends doing before closing a long-lived connection.
func (s *Store) Close() error {
	var errs []error
	s.sends.close()
	s.stopIndexer()
	if err := s.flushPublished(context.Background()); err != nil {
		errs = append(errs, err)
	}
	if err := s.flushChangesDone(context.Background()); err != nil {
		errs = append(errs, err)
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	s.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	if _, err := s.w.Exec("PRAGMA optimize"); err != nil {
		s.logger.Warn("sqlite: optimize on close", "err", err)
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// Ping reports whether the database answers on both the writer and a reader connection.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping writer: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping reader: %w", err)
	}
	return nil
}

// Backup writes a consistent copy of the live database to path, replacing any file there.
// Writes go on while it runs: the copy is the database as of the start of its read
// transaction. The copy is written beside path and renamed into place, so path never
// holds a partial copy.
func (s *Store) Backup(ctx context.Context, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	// VACUUM INTO refuses a target that exists and is not empty; an empty file is fine,
	// but remove it anyway so that the copy is created with SQLite's own permissions.
	os.Remove(tmpName)
	defer os.Remove(tmpName) // a no-op once renamed

	// A connection of its own: the readers are query_only, which refuses VACUUM INTO,
	// and the writer must not be held up. VACUUM INTO only reads the live database, in
	// one read transaction, so sends go on while it copies.
	q := url.Values{}
	q.Add("_pragma", s.busy)
	db, err := sql.Open("sqlite", s.path+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmpName); err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", path, err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return nil
}

// write runs fn in a write transaction on the writer connection, committing when fn
// returns nil. fn's errors are returned as they are: they carry their own context.
func (s *Store) write(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s: begin: %w", what, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s: commit: %w", what, err)
	}
	return nil
}

// read runs fn in a read transaction on a reader connection, so that the several queries
// of one answer see one snapshot.
func (s *Store) read(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: %s: begin: %w", what, err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// sqliteCode returns the extended result code of err, or 0 when err is not from SQLite.
func sqliteCode(err error) int {
	var e *msqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// isUnique reports whether err is a violated UNIQUE or PRIMARY KEY constraint.
func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isForeignKey reports whether err is a violated FOREIGN KEY constraint.
func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// Times are kept as integer Unix milliseconds: the wire's precision, and they sort.

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// anys converts ids into query arguments, after the leading ones.
func anys(lead []any, ids []string) []any {
	out := make([]any, 0, len(lead)+len(ids))
	out = append(out, lead...)
	for _, id := range ids {
		out = append(out, id)
	}
	return out
}
