package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
)

// tail prints the WebSocket events one user receives, one JSON object per line, until
// interrupted: a way to watch a server live with nothing but this binary (websocat and its
// like are not in every distribution).
func tail(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: chatchat tail (--user NAME --password PW | --token TOKEN) [flags]\n\n"+
			"Prints every event the user receives over WebSocket, one JSON object per line, until interrupted.\n\n")
		fs.PrintDefaults()
	}
	str := func(name, def, usage string) *string { return fs.String(name, def, usage+envNote(name)) }
	apiURL := str("url", "http://127.0.0.1:8080", "the server to log in to and, unless --chat-url says otherwise, to listen on")
	chatURL := str("chat-url", "", "the chat (WebSocket) server when it is not --url, such as a cluster's ws node: http://127.0.0.1:8081")
	user := str("user", "", "log in as this user (with --password)")
	password := str("password", "", "the user's password (prefer the environment variable: flags show in process lists)")
	token := str("token", "", "an access token instead of --user and --password")
	if err := applyEnv(fs, env); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("tail: unexpected arguments: %v", fs.Args())
	}
	if (*token == "") == (*user == "") {
		return errors.New("tail: give either --user and --password or --token")
	}

	c := client.New(*apiURL)
	if *token != "" {
		c.SetTokens(client.Tokens{AccessToken: *token})
	} else if _, err := c.Login(ctx, *user, *password); err != nil {
		return fmt.Errorf("tail: log in as %s: %w", *user, err)
	}
	if *chatURL != "" {
		// The client adds /ws to its base, so a full ws:// URL is taken too.
		c = client.New(strings.TrimSuffix(strings.TrimRight(*chatURL, "/"), "/ws"), client.WithTokens(c.Tokens()))
	}
	conn, err := c.Connect(ctx)
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	defer conn.Close()

	// The client sends a heartbeat on connecting; its ack means the server has registered
	// the session, so every event from then on is printed. Acks are not printed: one comes
	// every 25 s and says nothing about the chat.
	announced := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-conn.Events():
			if !ok {
				return fmt.Errorf("tail: %w", conn.Err())
			}
			if ev.Type == chat.EventHeartBeatAck {
				if !announced {
					announced = true
					fmt.Fprintln(stderr, "tail: listening; one JSON event per line follows (Ctrl-C stops)")
				}
				continue
			}
			line, err := json.Marshal(ev)
			if err != nil {
				return fmt.Errorf("tail: %w", err)
			}
			if _, err := stdout.Write(append(line, '\n')); err != nil {
				return fmt.Errorf("tail: %w", err)
			}
		}
	}
}
