package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatchat/chatchat/auth"
	"github.com/chatchat/chatchat/client"
)

// TestFullBackupWhileServing backs up a serving node with --out-dir, then starts a second
// node on the copy: the users, their tokens (the JWT secret came along) and the media
// (the files came along) are all there.
func TestFullBackupWhileServing(t *testing.T) {
	n := startNode(t, "", nil)
	ctx := context.Background()
	alice, _ := newUser(t, n, "alice")
	_, bob := newUser(t, n, "bob")
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bob.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	notes := []byte("meeting notes: ship the backup\n")
	m, err := alice.UploadMedia(ctx, room.ID, "notes.txt", bytes.NewReader(notes))
	if err != nil {
		t.Fatal(err)
	}
	// Sent in a message, so that bob, a member of the room, may open it.
	if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Type: "file", MediaID: m.ID}); err != nil {
		t.Fatal(err)
	}
	// An upload in progress leaves a temporary file; it is not a blob and stays behind.
	if err := os.WriteFile(filepath.Join(n.DataDir, "media", ".put-123"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "backup")
	var stdout strings.Builder
	if err := run(ctx, []string{"backup", "--data-dir", n.DataDir, "--out-dir", dir}, nil, &stdout, testLogWriter{t}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"chatchat.db", "media/ (1 file)", auth.SecretFile} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("backup said %q, which does not mention %s", stdout.String(), want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "media", ".put-123")); err == nil {
		t.Error("the backup holds an upload's temporary file")
	}
	if err := run(ctx, []string{"backup", "--data-dir", n.DataDir, "--out-dir", dir}, nil, &stdout, testLogWriter{t}); err == nil {
		t.Error("backup into an existing directory succeeded")
	}
	n.stop(t)

	restored := startNode(t, dir, nil)
	bobAgain := client.New(restored.URL, client.WithTokens(client.Tokens{AccessToken: bob.AccessToken, RefreshToken: bob.RefreshToken}))
	if me, err := bobAgain.Me(ctx); err != nil || me.ID != bob.User.ID {
		t.Fatalf("bob's token on the restored node: %+v, %v", me, err)
	}
	blob, err := bobAgain.Media(ctx, m.ID, false)
	if err != nil || !bytes.Equal(blob.Data, notes) {
		t.Fatalf("media on the restored node: %q, %v", blob.Data, err)
	}
}

func TestBackupWantsOneTarget(t *testing.T) {
	n := startNode(t, "", nil)
	dir := t.TempDir()
	for name, args := range map[string][]string{
		"neither": {"backup", "--data-dir", n.DataDir},
		"both":    {"backup", "--data-dir", n.DataDir, "--out", filepath.Join(dir, "a.db"), "--out-dir", filepath.Join(dir, "b")},
	} {
		if err := run(context.Background(), args, nil, &strings.Builder{}, testLogWriter{t}); err == nil || !strings.Contains(err.Error(), "--out-dir") {
			t.Errorf("%s: %v; want an error naming --out and --out-dir", name, err)
		}
	}
}
