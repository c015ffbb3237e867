package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
)

// TestResumePastTheByteBound: a RESUME whose replay is more than the server sends at once
// (about 1 MiB) gets what fits, then RESUME_OK with complete false; the Go client's Session
// pages the rest with history, and ends with every message once, in order.
func TestResumePastTheByteBound(t *testing.T) {
	n := startNode(t, "", nil, "--rate-send", "0")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alice, _ := newUser(t, n, "alice")
	bob, ba := newUser(t, n, "bob")
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{ba.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	const count = 400 // 400 × 4,000 characters: about 1.7 MB of frames
	text := strings.Repeat("가", 4000)
	for i := 0; i < count; i++ {
		if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := bob.NewSession(ctx, client.WithResume(map[string]int64{room.ID: 0}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	next, incomplete, sawOK := int64(1), false, false
	for next <= count || !sawOK {
		select {
		case ev := <-s.Events():
			switch ev.Type {
			case "RESUME_OK":
				sawOK = true
				incomplete = incomplete || strings.Contains(string(ev.Data), `"complete":false`)
			case "MESSAGE_CREATED":
				m, err := ev.Message()
				if err != nil || m.Seq != next {
					t.Fatalf("got seq %d (%v), want %d", m.Seq, err, next)
				}
				next++
			}
		case <-ctx.Done():
			t.Fatalf("got %d of %d messages", next-1, count)
		}
	}
	if !incomplete {
		t.Fatal("the replay was not cut: the test did not reach the bound it is about")
	}
}

// TestResumeOfThousandsOfRooms: a user in more rooms than one RESUME frame can name (about
// 1,500 within 64 KiB) resumes all of them: the Go client sends the RESUME in chunks, each
// after the previous RESUME_OK, and the connection stays (it once closed with 1009, or
// refused "at most 1000 rooms").
func TestResumeOfThousandsOfRooms(t *testing.T) {
	n := startNode(t, "", nil, "--rate-send", "0", "--rate-rooms", "0")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alice, _ := newUser(t, n, "alice")
	bob, ba := newUser(t, n, "bob")
	const rooms = 2100
	resume := make(map[string]int64, rooms)
	var last string
	for i := 0; i < rooms; i++ {
		r, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "group", Name: "g", MemberIDs: []string{ba.User.ID}})
		if err != nil {
			t.Fatal(err)
		}
		resume[r.ID], last = 0, r.ID
	}
	if _, _, err := alice.SendMessage(ctx, last, client.NewMessage{Text: "missed"}); err != nil {
		t.Fatal(err)
	}
	// GET /rooms pages: the first page holds the page maximum and a cursor, and walking
	// every page gives each room once.
	first, err := bob.RoomsPage(ctx, 0, "")
	if err != nil || len(first.Rooms) != chat.MaxRoomsPage || first.NextCursor == nil {
		t.Fatalf("first page: %d rooms, next %v, %v; want %d and a cursor", len(first.Rooms), first.NextCursor, err, chat.MaxRoomsPage)
	}
	if first.Rooms[0].ID != last {
		t.Errorf("first page starts with %s, want the room with the newest message %s", first.Rooms[0].ID, last)
	}
	all, err := bob.Rooms(ctx)
	seen := map[string]bool{}
	for _, r := range all {
		seen[r.ID] = true
	}
	if err != nil || len(all) != rooms || len(seen) != rooms {
		t.Fatalf("all pages: %d rooms (%d distinct), %v; want %d", len(all), len(seen), err, rooms)
	}
	var apiErr *client.APIError
	if _, err := bob.RoomsPage(ctx, 10, "not-a-cursor"); !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Code != "bad_cursor" {
		t.Errorf("a made-up cursor: %v, want 400 bad_cursor", err)
	}
	s, err := bob.NewSession(ctx, client.WithResume(resume))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	oks, got := 0, false
	for oks < (rooms+499)/500 || !got {
		select {
		case ev := <-s.Events():
			switch ev.Type {
			case "RESUME_OK":
				oks++
			case "MESSAGE_CREATED":
				if m, err := ev.Message(); err == nil && m.RoomID == last && m.Text == "missed" {
					got = true
				}
			case "ERROR":
				t.Fatalf("error: %s", ev.Data)
			}
		case <-ctx.Done():
			t.Fatalf("%d RESUME_OK of %d, missed message received: %t", oks, (rooms+499)/500, got)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("session: %v", err)
	}
}
