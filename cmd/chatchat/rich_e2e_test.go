package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/client"
)

// TestMessageChangeErrors holds every error of the message-change routes to its status and
// code, through the real server and the Go client.
func TestMessageChangeErrors(t *testing.T) {
	n := startNode(t, "", nil, "--rate-send", "0")
	ctx := context.Background()
	alice, aa := newUser(t, n, "alice")
	bob, ba := newUser(t, n, "bob")
	carol, ca := newUser(t, n, "carol")
	direct, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{ba.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	group, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "group", Name: "g", MemberIDs: []string{ba.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := alice.SendMessage(ctx, direct.ID, client.NewMessage{Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	up, err := alice.UploadMedia(ctx, direct.ID, "notes.txt", strings.NewReader("notes"))
	if err != nil {
		t.Fatal(err)
	}
	file, _, err := alice.SendMessage(ctx, direct.ID, client.NewMessage{Type: "file", MediaID: up.ID})
	if err != nil {
		t.Fatal(err)
	}

	_, err = bob.EditMessage(ctx, direct.ID, m.ID, client.MessageEdit{Text: "mine now"})
	wantAPIError(t, err, 403, "not_sender")
	_, err = alice.EditMessage(ctx, direct.ID, file.ID, client.MessageEdit{Text: "text"})
	wantAPIError(t, err, 400, "not_text")
	wantAPIError(t, bob.DeleteMessage(ctx, direct.ID, m.ID), 403, "not_sender")
	_, err = carol.EditMessage(ctx, direct.ID, m.ID, client.MessageEdit{Text: "x"})
	wantAPIError(t, err, 404, "room_not_found")
	_, err = alice.EditMessage(ctx, direct.ID, "nope", client.MessageEdit{Text: "x"})
	wantAPIError(t, err, 404, "message_not_found")
	_, err = alice.React(ctx, direct.ID, m.ID, "no spaces")
	wantAPIError(t, err, 400, "bad_emoji")

	// Replies and mentions on send.
	gm, _, err := alice.SendMessage(ctx, group.ID, client.NewMessage{Text: "group"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = alice.SendMessage(ctx, direct.ID, client.NewMessage{Text: "re", ReplyToID: gm.ID})
	wantAPIError(t, err, 400, "bad_reply")
	_, _, err = alice.SendMessage(ctx, direct.ID, client.NewMessage{Text: "hi", Mentions: []string{ca.User.ID}})
	wantAPIError(t, err, 400, "bad_mention")
	reply, _, err := bob.SendMessage(ctx, direct.ID, client.NewMessage{Text: "re", ReplyToID: m.ID, Mentions: []string{aa.User.ID}})
	if err != nil || reply.ReplyTo == nil || reply.ReplyTo.Text != "hello" || len(reply.Mentions) != 1 {
		t.Fatalf("reply = %+v, %v", reply, err)
	}

	// Pins: a group's plain member may not; its owner (alice, who created it) may.
	_, err = bob.Pin(ctx, group.ID, gm.ID)
	wantAPIError(t, err, 403, "forbidden")
	if _, err := alice.Pin(ctx, group.ID, gm.ID); err != nil {
		t.Fatalf("the group's owner pins: %v", err)
	}
	for i := range chat.MaxPins {
		pm, _, err := alice.SendMessage(ctx, direct.ID, client.NewMessage{Text: fmt.Sprint("pin ", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Pin(ctx, direct.ID, pm.ID); err != nil {
			t.Fatal(err)
		}
	}
	_, err = bob.Pin(ctx, direct.ID, m.ID)
	wantAPIError(t, err, 409, "too_many_pins")
	pins, err := alice.Pins(ctx, direct.ID)
	if err != nil || len(pins) != chat.MaxPins || pins[0].Text != fmt.Sprint("pin ", chat.MaxPins-1) {
		t.Fatalf("pins: %d, %v; want %d, most recently pinned first", len(pins), err, chat.MaxPins)
	}

	// Reactions: 20 distinct emoji, the emoji escaped in the path.
	emoji := []string{"👍", "❤️", "🇰🇷", "👨‍👩‍👧", "a/b", "%", "?"}
	for i := len(emoji); i < chat.MaxEmoji; i++ {
		emoji = append(emoji, fmt.Sprint("e", i))
	}
	for _, e := range emoji {
		got, err := bob.React(ctx, direct.ID, m.ID, e)
		if err != nil {
			t.Fatalf("react %q: %v", e, err)
		}
		if last := got.Reactions[len(got.Reactions)-1]; last.Emoji != e {
			t.Fatalf("reaction %q came back as %q", e, last.Emoji)
		}
	}
	_, err = alice.React(ctx, direct.ID, m.ID, "🙃")
	wantAPIError(t, err, 409, "too_many_reactions")
	if got, err := alice.React(ctx, direct.ID, m.ID, "a/b"); err != nil || got.Reactions[4].Count != 2 {
		t.Fatalf("joining an emoji at the limit: %v", err)
	}

	// Deletes: twice is 204; then edits, reactions and pins are 409 deleted.
	for range 2 {
		if err := alice.DeleteMessage(ctx, direct.ID, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	_, err = alice.EditMessage(ctx, direct.ID, m.ID, client.MessageEdit{Text: "x"})
	wantAPIError(t, err, 409, "deleted")
	_, err = bob.React(ctx, direct.ID, m.ID, "👍")
	wantAPIError(t, err, 409, "deleted")

	// Changes: limit ≤ 500; a bad afterRev is 400.
	_, err = alice.Changes(ctx, direct.ID, 0, 501)
	wantAPIError(t, err, 400, "bad_request")
	resp, err := http.Get(n.URL + "/api/v1/rooms/" + direct.ID + "/changes?afterRev=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 { // no token: the route exists and asks for one
		t.Fatalf("changes without a token: %d", resp.StatusCode)
	}
	page, err := bob.Changes(ctx, direct.ID, 0, 500)
	if err != nil || page.HasMore || page.LastRev == 0 {
		t.Fatalf("changes: %+v, %v", page, err)
	}
	last := page.Messages[len(page.Messages)-1]
	if last.ID != m.ID || last.DeletedAt == nil || last.Text != "" || len(last.Reactions) != 0 || last.Rev != page.LastRev {
		t.Fatalf("last change = %+v; want the tombstone at lastRev %d", last, page.LastRev)
	}
	hist, _, err := bob.History(ctx, direct.ID, chat.HistoryQuery{AfterSeq: reply.Seq - 1, Forward: true, Limit: 1})
	if err != nil || len(hist) != 1 || hist[0].ReplyTo == nil || !hist[0].ReplyTo.Deleted || hist[0].ReplyTo.Text != "" {
		t.Fatalf("reply after its target's delete: %+v, %v", hist, err)
	}
}

// TestDeletedMessageMediaRemoved: deleting a file message removes the file from storage.
func TestDeletedMessageMediaRemoved(t *testing.T) {
	n := startNode(t, "", nil)
	ctx := context.Background()
	alice, _ := newUser(t, n, "alice")
	bob, ba := newUser(t, n, "bob")
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{ba.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	up, err := alice.UploadMedia(ctx, room.ID, "photo.jpg", bytes.NewReader(chattest.JPEG(t, 640, 480, 1)))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Type: "image", MediaID: up.ID})
	if err != nil {
		t.Fatal(err)
	}
	blobs := func() []string {
		var out []string
		filepath.WalkDir(filepath.Join(n.DataDir, "media"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Contains(p, up.ID) {
				out = append(out, p)
			}
			return nil
		})
		return out
	}
	if b := blobs(); len(b) != 2 {
		t.Fatalf("stored blobs of the image: %v; want the file and its thumbnail", b)
	}
	if err := alice.DeleteMessage(ctx, room.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	if b := blobs(); len(b) != 0 {
		t.Fatalf("blobs left after the delete: %v", b)
	}
	_, err = bob.Media(ctx, up.ID, false)
	wantAPIError(t, err, 404, "media_not_found")
	hist, _, err := bob.History(ctx, room.ID, chat.HistoryQuery{})
	if err != nil || len(hist) != 1 || hist[0].MediaID != "" || hist[0].Media != nil || hist[0].DeletedAt == nil {
		t.Fatalf("history after the delete: %+v, %v", hist, err)
	}
}

// TestOfflineDeviceCatchesUpWithChanges: a device that was away while messages were edited,
// deleted, reacted to and pinned resumes with its seqs and revs and ends with exactly the
// server's state of every message.
func TestOfflineDeviceCatchesUpWithChanges(t *testing.T) {
	n := startNode(t, "", nil, "--rate-send", "0")
	alice, _ := newUser(t, n, "alice")
	bob, ba := newUser(t, n, "bob")
	offlineCatchUp(t, alice, bob, ba.User.ID, bob, bob)
}

// TestClusterOfflineDeviceCatchesUpWithChanges is the same on a cluster (MongoDB-wire
// store, Redis bus): bob's device is on one chat node before and on the other after.
func TestClusterOfflineDeviceCatchesUpWithChanges(t *testing.T) {
	c := startCluster(t)
	alice, _ := newUser(t, c.api, "alice")
	bob, ba := newUser(t, c.api, "bob")
	via := func(ws *node) *client.Client {
		return client.New(splitProxy(t, c.api, ws), client.WithTokens(bob.Tokens()), client.WithHeartbeat(0))
	}
	offlineCatchUp(t, alice, bob, ba.User.ID, via(c.ws1), via(c.ws2))
}

// splitProxy serves ws's /ws and api's everything else under one URL, as a load balancer.
func splitProxy(t *testing.T, api, ws *node) string {
	t.Helper()
	apiURL, _ := url.Parse(api.URL)
	wsURL, _ := url.Parse(ws.URL)
	apiProxy, wsProxy := httputil.NewSingleHostReverseProxy(apiURL), httputil.NewSingleHostReverseProxy(wsURL)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/ws") {
			wsProxy.ServeHTTP(w, r)
			return
		}
		apiProxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// offlineCatchUp: bob follows a room with a Session of before, goes away while alice (and
// bob on another device) change its messages, comes back with a Session of after resuming
// from where the first stopped, and must end with the server's state of every message.
func offlineCatchUp(t *testing.T, alice, bob *client.Client, bobID string, before, after *client.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobID}})
	if err != nil {
		t.Fatal(err)
	}
	var sent []chat.Message
	for i := range 6 {
		m, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: fmt.Sprint("m", i)})
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}

	// Bob's device is online and sees everything so far.
	state := map[string]chat.Message{}
	keep := func(m chat.Message) {
		if cur, ok := state[m.ID]; !ok || m.Rev >= cur.Rev {
			state[m.ID] = m
		}
	}
	s, err := before.NewSession(ctx, client.WithResume(map[string]int64{room.ID: 0}))
	if err != nil {
		t.Fatal(err)
	}
	collectState(t, ctx, s, keep, func() bool { return len(state) == len(sent) })
	if _, err := alice.React(ctx, room.ID, sent[0].ID, "👍"); err != nil { // seen live
		t.Fatal(err)
	}
	collectState(t, ctx, s, keep, func() bool { return len(state[sent[0].ID].Reactions) == 1 })
	seqs, revs := s.Cursors(), s.Revs()
	s.Close()

	// Away: edits, deletes, reactions, pins, and new messages that are changed too.
	steps := []func() error{
		func() error {
			_, err := alice.EditMessage(ctx, room.ID, sent[1].ID, client.MessageEdit{Text: "m1 edited"})
			return err
		},
		func() error { return alice.DeleteMessage(ctx, room.ID, sent[2].ID) },
		func() error { _, err := bob.React(ctx, room.ID, sent[3].ID, "🎉"); return err }, // bob's other device
		func() error { _, err := alice.React(ctx, room.ID, sent[3].ID, "🎉"); return err },
		func() error { _, err := alice.Unreact(ctx, room.ID, sent[0].ID, "👍"); return err },
		func() error { _, err := alice.Pin(ctx, room.ID, sent[4].ID); return err },
		func() error {
			m, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "new", ReplyToID: sent[5].ID})
			if err == nil {
				sent = append(sent, m)
				_, err = alice.EditMessage(ctx, room.ID, m.ID, client.MessageEdit{Text: "new, edited"})
			}
			return err
		},
		func() error {
			_, err := alice.EditMessage(ctx, room.ID, sent[5].ID, client.MessageEdit{Text: "m5 edited"})
			return err
		},
		func() error { _, err := bob.Pin(ctx, room.ID, sent[1].ID); return err },
		func() error { _, err := alice.Unpin(ctx, room.ID, sent[4].ID); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}

	s, err = after.NewSession(ctx, client.WithResume(seqs), client.WithResumeRevs(revs))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	final, _, err := bob.History(ctx, room.ID, chat.HistoryQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]chat.Message{}
	for _, m := range final {
		want[m.ID] = m
	}
	collectState(t, ctx, s, keep, func() bool { return sameState(state, want) == "" })
	if diff := sameState(state, want); diff != "" {
		t.Fatal(diff)
	}
	room2, err := bob.Room(ctx, room.ID)
	if err != nil || s.Revs()[room.ID] != room2.LastRev {
		t.Fatalf("session's rev %d, room's lastRev %d (%v)", s.Revs()[room.ID], room2.LastRev, err)
	}
}

// collectState feeds the session's messages to keep until done, or fails after ctx.
func collectState(t *testing.T, ctx context.Context, s *client.Session, keep func(chat.Message), done func() bool) {
	t.Helper()
	for !done() {
		select {
		case ev, ok := <-s.Events():
			if !ok {
				t.Fatal("session ended")
			}
			switch ev.Type {
			case chat.EventMessageCreated:
				m, err := ev.Message()
				if err != nil {
					t.Fatal(err)
				}
				keep(m)
			case chat.EventMessageUpdated:
				m, err := ev.UpdatedMessage()
				if err != nil {
					t.Fatal(err)
				}
				keep(m)
			}
		case <-ctx.Done():
			t.Fatal("timed out collecting the session's messages")
		}
	}
}

// sameState describes how got differs from want ("" when it does not), on what a change
// can touch.
func sameState(got, want map[string]chat.Message) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d messages, want %d", len(got), len(want))
	}
	for id, w := range want {
		g := got[id]
		if g.Rev != w.Rev || g.Text != w.Text || (g.DeletedAt == nil) != (w.DeletedAt == nil) ||
			(g.PinnedAt == nil) != (w.PinnedAt == nil) || g.PinnedBy != w.PinnedBy ||
			(g.ReplyTo == nil) != (w.ReplyTo == nil) || fmt.Sprint(g.Reactions) != fmt.Sprint(w.Reactions) ||
			!slices.Equal(g.Mentions, w.Mentions) {
			return fmt.Sprintf("message %s:\n\tgot  %+v\n\twant %+v", id, g, w)
		}
	}
	return ""
}

// TestResumeChangesPastTheByteBound: changes to older messages that are more than one
// RESUME sends (about 1 MiB) come up to the bound, then RESUME_OK says up to which rev with
// complete false, and the Session pages the rest from the changes feed (before it passes
// RESUME_OK on): every edit arrives.
func TestResumeChangesPastTheByteBound(t *testing.T) {
	n := startNode(t, "", nil, "--rate-send", "0")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alice, _ := newUser(t, n, "alice")
	bob, ba := newUser(t, n, "bob")
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{ba.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	const count = 300 // 300 edits × 4,000 characters: about 1.2 MB of frames
	var ids []string
	for i := range count {
		m, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	r, err := bob.Room(ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if _, err := alice.EditMessage(ctx, room.ID, id, client.MessageEdit{Text: strings.Repeat("가", 3990) + fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := bob.NewSession(ctx, client.WithResume(map[string]int64{room.ID: r.LastSeq}), client.WithResumeRevs(map[string]int64{room.ID: r.LastRev}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	edited, incomplete, sawOK := map[string]bool{}, false, false
	for len(edited) < count || !sawOK {
		select {
		case ev := <-s.Events():
			switch ev.Type {
			case chat.EventResumeOK:
				ok, err := ev.ResumeOK()
				if err != nil {
					t.Fatal(err)
				}
				incomplete, sawOK = incomplete || !ok.Complete, true
			case chat.EventMessageUpdated:
				m, err := ev.UpdatedMessage()
				if err != nil || !strings.HasSuffix(m.Text, "가"+fmt.Sprint(m.Seq-1)) {
					t.Fatalf("update %+v, %v", m.Seq, err)
				}
				edited[m.ID] = true
			case chat.EventMessageCreated:
				t.Fatal("a created message replayed: bob had them all")
			}
		case <-ctx.Done():
			t.Fatalf("got %d of %d edits", len(edited), count)
		}
	}
	if !incomplete {
		t.Fatal("the replay was not cut: the test did not reach the bound it is about")
	}
	final, err := bob.Room(ctx, room.ID)
	if err != nil || s.Revs()[room.ID] != final.LastRev {
		t.Fatalf("session's rev %d, room's %d (%v)", s.Revs()[room.ID], final.LastRev, err)
	}
}
