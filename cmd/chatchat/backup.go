package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/chatchat/chatchat/auth"
	"github.com/chatchat/chatchat/sqlite"
)

// backup writes a consistent copy of the embedded database, safe while a server runs; with
// --out-dir, also the media folder and the JWT secret, as a data dir a server can start on.
func backup(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("backup", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprintf(stderr, "Usage: chatchat backup (--out FILE | --out-dir DIR) [--data-dir DIR]\n\n"+
			"--out copies the embedded database only: not the media files (DATA_DIR/media) nor the\n"+
			"JWT secret (DATA_DIR/%s). --out-dir copies all three into a new directory that is itself\n"+
			"a data dir: restore by starting a server on (a copy of) it. Both are safe while serving.\n\n", auth.SecretFile)
		flags.PrintDefaults()
	}
	dataDir := flags.String("data-dir", "./data", "the data dir of the server to back up"+envNote("data-dir"))
	out := flags.String("out", "", "write the database only to this file (must not exist)")
	outDir := flags.String("out-dir", "", "write the database, the media folder and the JWT secret into this directory (must not exist)")
	if v := env[envName("data-dir")]; v != "" {
		*dataDir = v
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if (*out == "") == (*outDir == "") {
		return errors.New("backup: give --out FILE (the database only) or --out-dir DIR (database, media and JWT secret)")
	}
	target := *out + *outDir
	if _, err := os.Stat(target); err == nil {
		return fmt.Errorf("backup: %s exists; choose a new name", target)
	}
	path := dbPath(*dataDir)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: no database at %s: %w", path, err)
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer st.Close()
	if *out != "" {
		if err := st.Backup(ctx, *out); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		fmt.Fprintf(stdout, "backup of %s written to %s (the database only: not the media nor the JWT secret)\n", path, *out)
		return nil
	}

	if err := os.MkdirAll(*outDir, 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// The database first, then the media: a blob is stored before the row that names it,
	// so every media item of the copied database has its files in the copy.
	if err := st.Backup(ctx, dbPath(*outDir)); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	parts := []string{filepath.Base(dbPath(*outDir))}
	n, err := copyMedia(filepath.Join(*dataDir, "media"), filepath.Join(*outDir, "media"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		parts = append(parts, "no media folder (nothing uploaded, or media in S3)")
	case err != nil:
		return fmt.Errorf("backup: media: %w", err)
	default:
		files := "files"
		if n == 1 {
			files = "file"
		}
		parts = append(parts, fmt.Sprintf("media/ (%d %s)", n, files))
	}
	switch err := copyFile(filepath.Join(*dataDir, auth.SecretFile), filepath.Join(*outDir, auth.SecretFile)); {
	case errors.Is(err, fs.ErrNotExist):
		parts = append(parts, "no "+auth.SecretFile+" file (the server takes --jwt-secret)")
	case err != nil:
		return fmt.Errorf("backup: JWT secret: %w", err)
	default:
		parts = append(parts, auth.SecretFile)
	}
	fmt.Fprintf(stdout, "backup of %s written to %s: %s\n", *dataDir, *outDir, strings.Join(parts, ", "))
	return nil
}

// copyMedia copies the media folder's files and returns how many it copied; fs.ErrNotExist
// when there is no folder. Files that vanish meanwhile (deleted orphan uploads) are
// skipped, and so are the temporary files of uploads in progress.
func copyMedia(src, dst string) (int, error) {
	if _, err := os.Stat(src); err != nil {
		return 0, err
	}
	n := 0
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		if strings.HasPrefix(d.Name(), ".") { // localfs's ".put-*" files, not yet a blob
			return nil
		}
		if err := copyFile(p, filepath.Join(dst, rel)); errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// copyFile copies one file, readable by its owner only, as everything in a data dir is.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
