package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestChaosShort is the short chaos run of `make test`: a cluster of two API, three chat and
// one notify process over a six-node Redis Cluster, under load, through every fault in turn.
// It passes only when every window shows nothing lost or duplicated and every offline
// device pushed exactly once. The long run is the same command with longer windows and
// more rooms (docs/benchmarks.md, "Chaos").
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos run takes about two minutes")
	}
	dir := t.TempDir()
	bin := buildChatChat(t, dir)
	out := filepath.Join(dir, "chaos.json")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	var log bytes.Buffer
	err := run(ctx, []string{"chaos", "-chatchat", bin, "-redis", "cluster", "-rooms", "10", "-online", "4",
		"-rate", "20", "-warmup", "5s", "-window", "12s", "-down", "2s", "-drain", "60s",
		"-dir", filepath.Join(dir, "run"), "-out", out}, &log)
	t.Logf("chaos run:\n%s", log.String())
	if err != nil {
		t.Fatalf("chaos: %v (process logs were in %s)", err, filepath.Join(dir, "run"))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res chaosResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Windows) != 1+len(chaosFaults) {
		t.Fatalf("%d windows, want the baseline and %d faults", len(res.Windows), len(chaosFaults))
	}
	for _, w := range res.Windows {
		if w.Sent == 0 || w.Delivered != w.Deliveries || w.PushedOnce != w.PushesWant {
			t.Errorf("%s: sent %d, delivered %d of %d, pushed once %d of %d", w.Fault, w.Sent, w.Delivered, w.Deliveries, w.PushedOnce, w.PushesWant)
		}
	}
}

// TestChaosAccountCountsLossAndDuplicates: the accounting that decides the chaos run's
// verdict sees a member that never got a message, a message handed over twice, a
// clientMsgId stored twice, a missing and a doubled push, a push repeated because the
// notify process was killed while sending it (counted apart), and a message sent but never
// stored.
func TestChaosAccountCountsLossAndDuplicates(t *testing.T) {
	t0 := time.Now()
	st := &chaosState{rooms: []*chaosRoom{{token: "dev0", members: []int{0, 1}}}}
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	msg := func(first int, answered bool, delivered ...time.Time) *chaosMsg {
		return &chaosMsg{first: at(first), answered: answered, delivered: delivered}
	}
	st.msgs = []*chaosMsg{
		msg(0, true, at(10), at(20)),        // 0: fine
		msg(10, true, at(30), time.Time{}),  // 1: member 1 never got it
		msg(20, true, at(40), at(50)),       // 2: handed over twice (below), stored twice
		msg(30, true, at(40), at(2500)),     // 3: slow: reached everyone 2.5 s after the fault
		msg(40, true, time.Time{}, at(60)),  // 4: answered but not stored: lost in storage
		msg(50, false, time.Time{}, at(70)), // 5: never answered, stored: counted as stored
		msg(60, false),                      // 6: never answered nor stored
	}
	st.msgs[6].delivered = make([]time.Time, 2)
	st.msgs[2].dups = 1
	stored := chaosStored{copies: map[int]int{0: 1, 1: 1, 2: 2, 3: 1, 5: 1}}
	// 5: missing; 3: pushed again after the notify process was killed while pushing it.
	p := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, at(m))
		}
		return ts
	}
	pushes := map[string]map[int][]time.Time{"dev0": {0: p(5), 1: p(15), 2: p(25, 30, 35), 3: p(35, 900)}}
	st.notifyKills = []time.Time{at(100)}
	var w chaosWindow
	st.account(&w, t0, t0.Add(time.Second), stored, pushes)
	want := chaosWindow{Sent: 5, Unanswered: 1, Stored: 5, Deliveries: 12, Delivered: 8, Lost: 4,
		Duplicated: 2, PushesWant: 5, PushedOnce: 4, PushMissing: 1, PushDup: 2, PushRedone: 1, RedoneLagMs: 65, Slow: 1, WorstMs: 2470, RecoveryMs: 2500}
	examples := w.Examples
	w.Examples = nil
	if len(examples) != 6 {
		t.Errorf("examples: %q, want one for each of the six faults", examples)
	}
	if !reflect.DeepEqual(w, want) {
		t.Errorf("account =\n%+v, want\n%+v", w, want)
	}
	res := chaosResult{Windows: []chaosWindow{w}}
	if res.clean() || !strings.Contains(res.markdown(), "| 4 | 2 |") {
		t.Errorf("a window with losses is clean=%v; markdown:\n%s", res.clean(), res.markdown())
	}
}

// TestChaosRecoveryIsTheRunOfSlowMessagesAfterTheFault: the recovery time ends with the
// run of slow messages that follows the fault; a slow one long after it (a noisy machine)
// is counted as slow and as the worst delay, not as recovery.
func TestChaosRecoveryIsTheRunOfSlowMessagesAfterTheFault(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	st := &chaosState{rooms: []*chaosRoom{{token: "dev0", members: []int{0}}}}
	for _, m := range [][2]int{{100, 3000}, {2000, 4000}, {2500, 2600}, {12000, 14500}} {
		st.msgs = append(st.msgs, &chaosMsg{first: at(m[0]), answered: true, delivered: []time.Time{at(m[1])}})
	}
	stored := chaosStored{copies: map[int]int{0: 1, 1: 1, 2: 1, 3: 1}}
	var w chaosWindow
	st.account(&w, t0, at(20000), stored, nil)
	if w.RecoveryMs != 4000 || w.Slow != 3 || w.WorstMs != 2900 {
		t.Errorf("recovery %.0f ms, slow %d, worst %.0f ms; want 4000, 3, 2900", w.RecoveryMs, w.Slow, w.WorstMs)
	}
}
