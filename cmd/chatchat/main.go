// Command chatchat runs ChatChat: every role in one process by default (`chatchat serve`),
// or one role per process in a cluster. It reads flags and the environment and wires the
// packages together; nothing else.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], environ(), os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "chatchat:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

const usage = `ChatChat: a real-time chat server.

Usage:
  chatchat serve [flags]          run the server (every role by default; --help lists settings)
  chatchat backup --out-dir DIR   copy the embedded database, the media and the JWT secret (safe while serving)
  chatchat backup --out FILE      copy the embedded database only
  chatchat tail --token TOKEN     print the WebSocket events a user receives, one JSON object per line
  chatchat admin grant|revoke [flags] USERNAME
                                  grant or revoke server administration (serve's storage flags)
  chatchat version                print the version

With no flags, serve listens on 127.0.0.1:8080 with embedded storage in ./data.
`

// run is main without the process: tests run the whole binary in-process through it.
func run(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], env, stdout, stderr)
	case "backup":
		return backup(ctx, args[1:], env, stdout, stderr)
	case "tail":
		return tail(ctx, args[1:], env, stdout, stderr)
	case "admin":
		return admin(ctx, args[1:], env, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "chatchat", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
		return errUsage
	}
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"
