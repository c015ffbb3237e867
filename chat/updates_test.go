package chat_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

func pendingChange(t *testing.T, f *fixture, messageID string) bool {
	t.Helper()
	msgs, err := f.store.PendingChanges(context.Background(), time.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.ID == messageID {
			return true
		}
	}
	return false
}

// TestReactionUpdatesCoalesced: with RunMessageUpdates running, the reactions of a window
// make one MESSAGE_UPDATED with the message's latest state, held as a pending change until
// it goes out; an edit goes out at once; without the runner every reaction is an event.
func TestReactionUpdatesCoalesced(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	a, b, c := f.users[0], f.users[1], f.users[2]
	svc := f.withConfig(chat.ServiceConfig{UpdateWindow: time.Hour}, nil) // flushed only by stopping
	g, _, err := svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", Name: "g", MemberIDs: []string{b, c}})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := svc.SendMessage(ctx, a, g.ID, chat.NewMessage{ClientMsgID: "1", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	updates := func() []chat.Event { return f.eventsOf(chat.EventMessageUpdated) }

	// No runner: one event per reaction.
	if _, err := svc.React(ctx, b, g.ID, m.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	if n := len(updates()); n != 1 {
		t.Fatalf("events without a runner = %d, want 1", n)
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); svc.RunMessageUpdates(runCtx) }()
	// The runner is running once a reaction is held rather than published.
	var last chat.Message
	deadline := time.Now().Add(5 * time.Second)
	for n := 0; ; n++ {
		if time.Now().After(deadline) || n == 45 {
			t.Fatal("the runner never started holding reactions")
		}
		// 45 distinct (user, emoji) pairs, each a change; 15 emoji, under the limit of 20.
		emoji := fmt.Sprintf("e%d", n%15)
		user := []string{a, b, c}[(n/15)%3]
		was := len(updates())
		if last, err = svc.React(ctx, user, g.ID, m.ID, emoji); err != nil {
			t.Fatal(err)
		}
		if len(updates()) == was {
			break // this one was held
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := len(updates())
	for i := range 3 {
		if last, err = svc.React(ctx, []string{a, b, c}[i], g.ID, m.ID, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(updates()); n != before {
		t.Fatalf("held reactions published %d events", n-before)
	}
	if !pendingChange(t, f, m.ID) {
		t.Fatal("a held reaction's change is not pending in the store: a crash would lose its event")
	}

	// An edit of another message goes out at once.
	m2, _, err := svc.SendMessage(ctx, a, g.ID, chat.NewMessage{ClientMsgID: "2", Text: "typo"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.EditMessage(ctx, a, g.ID, m2.ID, chat.MessageEdit{Text: "fixed"}); err != nil {
		t.Fatal(err)
	}
	if n := len(updates()); n != before+1 {
		t.Fatalf("an edit made %d events, want 1 at once", n-before)
	}

	stop()
	<-done
	evs := updates()
	if len(evs) != before+2 {
		t.Fatalf("after stopping: %d events, want the held one flushed (%d)", len(evs), before+2)
	}
	flushed := evs[len(evs)-1]
	if flushed.Rev != last.Rev {
		t.Fatalf("the flushed event's rev = %d, want the last reaction's %d", flushed.Rev, last.Rev)
	}
	if pendingChange(t, f, m.ID) {
		t.Fatal("the flushed change is still pending")
	}
}

// TestLoneReactionGoesAtOnce: with the runner running, a reaction to a message that had none
// within the window is published at once; the next one within the window waits for it.
func TestLoneReactionGoesAtOnce(t *testing.T) {
	f := newFixture(t, 2)
	ctx := context.Background()
	a, b := f.users[0], f.users[1]
	svc := f.withConfig(chat.ServiceConfig{UpdateWindow: time.Hour}, nil)
	g, _, err := svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", Name: "g", MemberIDs: []string{b}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); svc.RunMessageUpdates(runCtx) }()
	defer func() { stop(); <-done }()
	updates := func() int { return len(f.eventsOf(chat.EventMessageUpdated)) }
	// Each round reacts twice to a message of its own: the first reaction, to a quiet
	// message, is always published at once; once the runner runs, the second waits.
	for n := 0; ; n++ {
		if n == 50 {
			t.Fatal("the runner never held a reaction")
		}
		m, _, err := svc.SendMessage(ctx, a, g.ID, chat.NewMessage{ClientMsgID: fmt.Sprint("m", n), Text: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		was := updates()
		if _, err := svc.React(ctx, b, g.ID, m.ID, "👍"); err != nil {
			t.Fatal(err)
		}
		if updates() != was+1 {
			t.Fatalf("round %d: the first reaction to a quiet message was not published at once", n)
		}
		if _, err := svc.React(ctx, a, g.ID, m.ID, "👍"); err != nil {
			t.Fatal(err)
		}
		if updates() == was+1 {
			return // the second of the window waits
		}
		time.Sleep(10 * time.Millisecond)
	}
}
