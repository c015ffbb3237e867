package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// histShards spreads the latency recording of thousands of readers over several locks.
const histShards = 8

// maxSteps bounds a ramp.
const maxSteps = 32

// runner runs one scenario against one target.
type runner struct {
	cfg    config
	target target
	out    io.Writer // progress and table

	rooms []*room
	conns []*benchConn

	steps     []*stepStats
	stepStart [maxSteps]atomic.Int64 // unix ns each step began sending
	curStep   atomic.Int32

	replay      *replayStats // history: set before the reconnecting readers start
	readersDone sync.WaitGroup
	lostConns   atomic.Int64
}

// stepStats is what one rate step of a run measured.
type stepStats struct {
	rate     float64
	sent     atomic.Int64 // publishes that succeeded
	failed   atomic.Int64 // publishes that failed
	late     atomic.Int64 // publishes that started over 100 ms after their scheduled time
	expected atomic.Int64 // deliveries the succeeded publishes owe
	uniq     counter
	dups     counter
	hists    [histShards]struct {
		mu sync.Mutex
		h  *hdrhistogram.Histogram
	}
}

func newStepStats(rate float64) *stepStats {
	s := &stepStats{rate: rate}
	for i := range s.hists {
		// 1 µs to 2 min at 3 significant digits.
		s.hists[i].h = hdrhistogram.New(1, 120_000_000, 3)
	}
	return s
}

func (s *stepStats) merged() *hdrhistogram.Histogram {
	h := hdrhistogram.New(1, 120_000_000, 3)
	for i := range s.hists {
		s.hists[i].mu.Lock()
		h.Merge(s.hists[i].h)
		s.hists[i].mu.Unlock()
	}
	return h
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.out, "# "+format+"\n", args...)
}

// layout assigns connections to rooms: rooms of RoomSize, or none when it is 0.
func (r *runner) layout() {
	r.conns = make([]*benchConn, r.cfg.Clients)
	for i := range r.conns {
		r.conns[i] = &benchConn{r: r, idx: i, room: -1, done: make(chan struct{})}
	}
	if r.cfg.RoomSize <= 0 {
		return
	}
	for i := 0; i < r.cfg.Clients; i += r.cfg.RoomSize {
		rm := &room{}
		for j := i; j < min(i+r.cfg.RoomSize, r.cfg.Clients); j++ {
			rm.members = append(rm.members, j)
			r.conns[j].room = len(r.rooms)
		}
		if len(rm.members) < 2 && len(r.rooms) > 0 {
			// A lone leftover joins the previous room: a room needs a second member.
			prev := r.rooms[len(r.rooms)-1]
			prev.members = append(prev.members, rm.members...)
			r.conns[i].room = len(r.rooms) - 1
			continue
		}
		r.rooms = append(r.rooms, rm)
	}
}

// record counts one received message.
func (r *runner) record(c *benchConn, msgNo int, latNs, sentNs int64) {
	if c.resumeAt != 0 {
		r.recordReplay(c, msgNo)
		return
	}
	st := int(r.curStep.Load())
	for st > 0 && sentNs < r.stepStart[st].Load() {
		st--
	}
	s := r.steps[st]
	if c.seen.set(msgNo) {
		s.dups.Add(1)
		return
	}
	s.uniq.Add(1)
	h := &s.hists[c.idx%histShards]
	h.mu.Lock()
	_ = h.h.RecordValue(max(latNs/1000, 1))
	h.mu.Unlock()
}

// connect dials every connection, ConnectWorkers at a time, and starts the readers.
func (r *runner) connect(ctx context.Context) error {
	start := time.Now()
	var opened atomic.Int64
	err := parallel(ctx, len(r.conns), r.cfg.ConnectWorkers, func(ctx context.Context, i int) error {
		c := r.conns[i]
		var src net.IP
		if len(r.cfg.SourceIPs) > 0 {
			src = r.cfg.SourceIPs[i%len(r.cfg.SourceIPs)]
		}
		if err := r.target.dial(ctx, r, c, src); err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		r.readersDone.Add(1)
		go func() {
			defer r.readersDone.Done()
			c.readLoop()
			if !c.closing.Load() {
				if r.lostConns.Add(1) <= 3 {
					r.logf("connection %d ended: %v", c.idx, c.readErr)
				}
			}
		}()
		if n := opened.Add(1); n%5000 == 0 {
			r.logf("%d connections open", n)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.logf("opened %d connections in %s", len(r.conns), time.Since(start).Round(time.Millisecond))
	return nil
}

// heartbeats sends the target's heartbeat to every connection every interval, spread
// over the interval, until ctx ends.
func (r *runner) heartbeats(ctx context.Context, every time.Duration) {
	hb := r.target.heartbeat()
	if hb == nil || len(r.conns) == 0 {
		return
	}
	gap := every / time.Duration(len(r.conns))
	t := time.NewTicker(max(gap, time.Millisecond))
	defer t.Stop()
	i := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Catch up when the ticker's floor is coarser than the gap.
		for range max(1, int(time.Millisecond/max(gap, 1))) {
			c := r.conns[i%len(r.conns)]
			i++
			if !c.closing.Load() {
				_ = c.writeText(hb)
			}
		}
	}
}

// closeAll closes every connection and waits for the readers.
func (r *runner) closeAll() {
	for _, c := range r.conns {
		if c.nc != nil {
			c.closing.Store(true)
			c.close()
		}
	}
	r.readersDone.Wait()
}

// publishJob is one scheduled message.
type publishJob struct {
	room  *room
	no    int64
	sched int64 // unix ns it was due
	step  *stepStats
}

// runStep sends at rate for the configured duration (open loop: each message is due at
// its own time, and its latency counts from then, however late the sender is), then
// waits for the deliveries to arrive or the drain time to pass.
func (r *runner) runStep(ctx context.Context, idx int, rate float64) (stepResult, error) {
	s := newStepStats(rate)
	r.steps = append(r.steps, s)
	before, err := sampleProcs(r.cfg.ServerPIDs)
	if err != nil {
		return stepResult{}, err
	}
	genBefore := selfCPU()
	start := time.Now()
	r.stepStart[idx].Store(start.UnixNano())
	r.curStep.Store(int32(idx))

	jobs := make(chan publishJob, 1<<16)
	var wg sync.WaitGroup
	for range r.cfg.HTTPConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r.publishOne(ctx, j)
			}
		}()
	}

	stopProgress := r.progress(ctx, s, before, start)
	total := int64(rate * r.cfg.Duration.Seconds())
	t := time.NewTicker(time.Millisecond)
	var n int64
	roomIdx := 0
schedule:
	for n < total {
		select {
		case <-ctx.Done():
			break schedule
		case now := <-t.C:
			due := min(total, int64(now.Sub(start).Seconds()*rate)+1)
			for ; n < due; n++ {
				rm := r.rooms[roomIdx%len(r.rooms)]
				roomIdx++
				j := publishJob{room: rm, no: rm.next.Add(1), sched: start.UnixNano() + int64(float64(n)/rate*1e9), step: s}
				select {
				case jobs <- j:
				default:
					s.failed.Add(1) // the queue of 65,536 is full: the server stopped answering
				}
			}
		}
	}
	t.Stop()
	close(jobs)
	wg.Wait()
	sendEnd := time.Now()

	// Drain: bounded by DrainTimeout.
	deadline := time.Now().Add(r.cfg.DrainTimeout)
	for time.Now().Before(deadline) && s.uniq.Load() < s.expected.Load() && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	end := time.Now()
	stopProgress()
	after, err := sampleProcs(r.cfg.ServerPIDs)
	if err != nil {
		return stepResult{}, err
	}
	return r.result(s, before, after, start, sendEnd, end, selfCPU()-genBefore), ctx.Err()
}

func (r *runner) publishOne(ctx context.Context, j publishJob) {
	if d := time.Until(time.Unix(0, j.sched)); d > 0 {
		time.Sleep(d)
	} else if d < -100*time.Millisecond {
		j.step.late.Add(1)
	}
	text := "b:" + strconv.FormatInt(j.no, 10) + ":" + strconv.FormatInt(j.sched, 10)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := r.target.publish(cctx, r, j.room, j.no, text)
	cancel()
	if err != nil {
		if j.step.failed.Add(1) <= 3 {
			r.logf("publish failed: %v", err)
		}
		return
	}
	j.step.sent.Add(1)
	j.step.expected.Add(j.room.online.Load())
}

// progress prints a line every ProgressEvery until the returned function is called.
func (r *runner) progress(ctx context.Context, s *stepStats, base procSample, start time.Time) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(r.cfg.ProgressEvery)
		defer t.Stop()
		prev, prevGen, prevN := base, selfCPU(), int64(0)
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			cur, err := sampleProcs(r.cfg.ServerPIDs)
			if err != nil {
				fmt.Fprintf(r.out, "  progress: %v\n", err)
				continue
			}
			gen := selfCPU()
			n := s.uniq.Load()
			dt := cur.at.Sub(prev.at).Seconds()
			fmt.Fprintf(r.out, "  %5.1fs rate=%.0f/s sent=%d deliveries=%d (%.0f/s) dups=%d server cpu=%.0f%% rss=%.0fMiB gen cpu=%.0f%% lost-conns=%d\n",
				time.Since(start).Seconds(), s.rate, s.sent.Load(), n, float64(n-prevN)/dt, s.dups.Load(),
				100*(cur.cpu-prev.cpu).Seconds()/dt, float64(cur.rssKiB)/1024, 100*(gen-prevGen).Seconds()/dt, r.lostConns.Load())
			prev, prevGen, prevN = cur, gen, n
		}
	}()
	return func() { cancel(); <-done }
}
