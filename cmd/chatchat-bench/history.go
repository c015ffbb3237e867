package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// historyResult is the recovery cost of clients that come back with RESUME.
type historyResult struct {
	Reconnects       int     `json:"reconnects"`
	Missed           int64   `json:"missed"`   // messages the reconnecting clients owed
	Replayed         int64   `json:"replayed"` // of those, received after RESUME
	Lost             int64   `json:"lost"`
	Duplicated       int64   `json:"duplicated"`
	Recovery         latency `json:"recoveryMs"` // from the start of the reconnect to each replayed message
	Seconds          float64 `json:"seconds"`
	ServerCPUSeconds float64 `json:"serverCpuSeconds"`
}

// replayStats counts what the reconnected connections receive.
type replayStats struct {
	uniq, dups atomic.Int64
	mu         sync.Mutex
	h          *hdrhistogram.Histogram
}

func (r *runner) recordReplay(c *benchConn, msgNo int) {
	rs := r.replay
	if c.seen.set(msgNo) {
		rs.dups.Add(1)
		return
	}
	rs.uniq.Add(1)
	rs.mu.Lock()
	_ = rs.h.RecordValue(max((time.Now().UnixNano()-c.resumeAt)/1000, 1))
	rs.mu.Unlock()
}

// runHistory disconnects every other client, sends one more step while they are away,
// then reconnects them with RESUME from the last seq each had and measures how long the
// missed messages take to arrive.
func (r *runner) runHistory(ctx context.Context, t *chatchatTarget) (*historyResult, error) {
	var away []*benchConn
	for i, c := range r.conns {
		if i%2 == 1 && c.room >= 0 {
			away = append(away, c)
		}
	}
	sentBefore := make([]int64, len(r.rooms))
	for _, c := range away {
		c.closing.Store(true)
		c.close()
		<-c.done
		r.rooms[c.room].online.Add(-1)
	}
	for i, rm := range r.rooms {
		sentBefore[i] = rm.next.Load()
	}
	r.logf("history: %d clients away; sending while they are", len(away))
	step, err := r.runStep(ctx, len(r.steps), r.cfg.Rates[0])
	if err != nil {
		return nil, err
	}
	if step.Failed > 0 {
		return nil, fmt.Errorf("%d sends failed while clients were away", step.Failed)
	}
	var missed int64
	for _, c := range away {
		missed += r.rooms[c.room].next.Load() - sentBefore[c.room]
	}
	r.replay = &replayStats{h: hdrhistogram.New(1, 120_000_000, 3)}
	before, err := sampleProcs(r.cfg.ServerPIDs)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	err = parallel(ctx, len(away), r.cfg.ConnectWorkers, func(ctx context.Context, i int) error {
		c := away[i]
		c.done = make(chan struct{})
		c.readErr = nil
		c.resumeAt = time.Now().UnixNano()
		if err := t.dial(ctx, r, c, nil); err != nil {
			return err
		}
		c.closing.Store(false)
		r.rooms[c.room].online.Add(1)
		r.readersDone.Add(1)
		go func() {
			defer r.readersDone.Done()
			c.readLoop()
			if !c.closing.Load() {
				r.lostConns.Add(1)
			}
		}()
		return c.writeText(t.resumeFrame(r.rooms[c.room].id, c.maxSeq))
	})
	if err != nil {
		return nil, fmt.Errorf("reconnect: %w", err)
	}
	deadline := time.Now().Add(r.cfg.DrainTimeout + 10*time.Second)
	for time.Now().Before(deadline) && r.replay.uniq.Load() < missed && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	end := time.Now()
	after, err := sampleProcs(r.cfg.ServerPIDs)
	if err != nil {
		return nil, err
	}
	// Late replays may still be recorded: read a copy.
	r.replay.mu.Lock()
	h := hdrhistogram.Import(r.replay.h.Export())
	r.replay.mu.Unlock()
	ms := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1000 }
	return &historyResult{
		Reconnects: len(away), Missed: missed, Replayed: r.replay.uniq.Load(),
		Lost: max(0, missed-r.replay.uniq.Load()), Duplicated: r.replay.dups.Load(),
		Recovery: latency{P50: ms(50), P90: ms(90), P99: ms(99), P999: ms(99.9), Max: float64(h.Max()) / 1000},
		Seconds:  end.Sub(start).Seconds(), ServerCPUSeconds: (after.cpu - before.cpu).Seconds(),
	}, ctx.Err()
}
