package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chatchat/chatchat/client"
)

// TestSearchMessages searches through the real server and the Go client, on the embedded
// SQLite store and on the MongoDB-wire server: only the caller's rooms of now, Korean word
// stems, edits and deletes followed, pages, and the errors.
func TestSearchMessages(t *testing.T) {
	for _, store := range []string{"sqlite", "mongo"} {
		t.Run(store, func(t *testing.T) {
			var args []string
			if store == "mongo" {
				args = append(clusterStoreArgs(t), "--jwt-secret", testSecret)
			}
			testSearchMessages(t, startNode(t, "", nil, append(args, "--rate-send", "0")...))
		})
	}
}

func testSearchMessages(t *testing.T, n *node) {
	ctx := context.Background()
	alice, _ := newUser(t, n, "alice")
	bob, ba := newUser(t, n, "bob")
	carol, _ := newUser(t, n, "carol")
	group, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "group", Name: "trip", MemberIDs: []string{ba.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(c *client.Client, text string) string {
		t.Helper()
		m, _, err := c.SendMessage(ctx, group.ID, client.NewMessage{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	texts := func(c *client.Client, q client.SearchQuery) []string {
		t.Helper()
		msgs, _, err := c.SearchMessages(ctx, q)
		if err != nil {
			t.Fatalf("search %+v: %v", q, err)
		}
		out := []string{}
		for _, m := range msgs {
			out = append(out, m.Text)
		}
		return out
	}
	want := func(what string, got []string, want ...string) {
		t.Helper()
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: found %q, want %q", what, got, want)
		}
	}

	send(alice, "서울에서 만나요")
	typo := send(bob, "see you in Seuol")
	gone := send(alice, "서울역 3시")
	want("서울", texts(bob, client.SearchQuery{Q: "서울"}), "서울역 3시", "서울에서 만나요")
	want("서울 in the room", texts(alice, client.SearchQuery{Q: "서울", RoomID: group.ID}), "서울역 3시", "서울에서 만나요")
	want("a non-member", texts(carol, client.SearchQuery{Q: "서울"}))
	_, _, err = carol.SearchMessages(ctx, client.SearchQuery{Q: "서울", RoomID: group.ID})
	wantAPIError(t, err, 404, "room_not_found")

	if _, err := bob.EditMessage(ctx, group.ID, typo, client.MessageEdit{Text: "see you in Seoul"}); err != nil {
		t.Fatal(err)
	}
	want("the typo after the edit", texts(alice, client.SearchQuery{Q: "seuol"}))
	want("the edit", texts(alice, client.SearchQuery{Q: "SEOUL"}), "see you in Seoul")
	if err := alice.DeleteMessage(ctx, group.ID, gone); err != nil {
		t.Fatal(err)
	}
	want("after a delete", texts(bob, client.SearchQuery{Q: "서울"}), "서울에서 만나요")

	// Pages, newest first.
	for i := 1; i <= 5; i++ {
		send(alice, fmt.Sprintf("page %d", i))
	}
	var got []string
	before := ""
	for range 5 {
		msgs, more, err := bob.SearchMessages(ctx, client.SearchQuery{Q: "page", BeforeID: before, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			got = append(got, m.Text)
		}
		if !more {
			break
		}
		before = msgs[len(msgs)-1].ID
	}
	want("pages", got, "page 5", "page 4", "page 3", "page 2", "page 1")

	// Leaving a room leaves its messages out.
	if err := bob.LeaveRoom(ctx, group.ID); err != nil {
		t.Fatal(err)
	}
	want("after leaving", texts(bob, client.SearchQuery{Q: "서울"}))

	_, _, err = alice.SearchMessages(ctx, client.SearchQuery{Q: "  !? "})
	wantAPIError(t, err, 400, "bad_request")
	_, _, err = alice.SearchMessages(ctx, client.SearchQuery{Q: strings.Repeat("a", 501)})
	wantAPIError(t, err, 400, "bad_request")
	_, _, err = alice.SearchMessages(ctx, client.SearchQuery{Q: "a b c d e f g h i j k"})
	wantAPIError(t, err, 400, "bad_request")
	_, _, err = alice.SearchMessages(ctx, client.SearchQuery{Q: "page", BeforeID: "no-such-message"})
	wantAPIError(t, err, 400, "bad_request")
	msgs, _, err := alice.SearchMessages(ctx, client.SearchQuery{Q: "page", Limit: 500})
	if err != nil || len(msgs) != 5 {
		t.Fatalf("limit 500 = %d messages, %v; want it taken as 50", len(msgs), err)
	}
}
