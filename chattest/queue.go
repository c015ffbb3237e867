package chattest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// queueIdle is the suite's claim timeout: short enough for the tests to wait out, long
// enough that a consumer's own jobs are not reclaimed from under it on a loaded machine
// while a test looks at them.
const queueIdle = 500 * time.Millisecond

// QueueFactory makes a queue for TestPushQueue: see there.
type QueueFactory = func(t *testing.T, claimIdle time.Duration) (chat.PushQueue, func(name string) chat.PushConsumer)

// TestPushQueue runs the contract every chat.PushQueue and its chat.PushConsumer must meet,
// as documented in chat/push.go. newQueue returns a fresh, empty queue whose consumers
// reclaim jobs left unacknowledged for claimIdle, and a function that makes the consumer
// called name (separate clients for a networked queue, as separate processes have); it
// registers its own cleanup on t.
func TestPushQueue(t *testing.T, newQueue QueueFactory) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, newQueue QueueFactory)
	}{
		{"DeliversJobsIntactInOrder", testQueueDeliversJobsIntactInOrder},
		{"ReceiveWaitsForEnqueue", testQueueReceiveWaitsForEnqueue},
		{"ReceiveEndsWithContext", testQueueReceiveEndsWithContext},
		{"AckedJobsAreNeverRedelivered", testQueueAckedJobsAreNeverRedelivered},
		{"UnackedJobsAreReclaimedByAnother", testQueueUnackedJobsAreReclaimedByAnother},
		{"ConsumersShareTheWork", testQueueConsumersShareTheWork},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newQueue)
		})
	}
}

func testQueueDeliversJobsIntactInOrder(t *testing.T, newQueue QueueFactory) {
	q, consumer := newQueue(t, time.Minute)
	c := consumer("a")
	var want []chat.PushJob
	for i := range 5 {
		want = append(want, pushJob(i))
		enqueue(t, q, want[i])
	}
	// A read job (a read cursor for the reader's devices) travels the same way.
	read := chat.PushJob{Read: &chat.ReadPush{RoomID: "room-1", UserID: "user-2", LastReadSeq: 4}, EnqueuedAt: storeAt(9).UnixMilli()}
	want = append(want, read)
	enqueue(t, q, read)
	got := receiveN(t, c, len(want), 2)
	for i := range got {
		if !reflect.DeepEqual(got[i].Job, want[i]) {
			t.Errorf("job %d = %+v, want %+v", i, got[i].Job, want[i])
		}
	}
	ack(t, c, got...)
}

func testQueueReceiveWaitsForEnqueue(t *testing.T, newQueue QueueFactory) {
	q, consumer := newQueue(t, time.Minute)
	c := consumer("a")
	got := make(chan []chat.PushDelivery, 1)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	go func() {
		ds, err := c.Receive(ctx, 10)
		if err != nil {
			t.Errorf("Receive: %v", err)
		}
		got <- ds
	}()
	time.Sleep(50 * time.Millisecond) // let Receive start waiting; passes either way
	enqueue(t, q, pushJob(1))
	select {
	case ds := <-got:
		if len(ds) != 1 || ds[0].Job.Message.ID != pushJob(1).Message.ID {
			t.Errorf("Receive = %+v, want the job enqueued while it waited", ds)
		}
	case <-time.After(waitLimit):
		t.Fatal("Receive did not return after an enqueue")
	}
}

func testQueueReceiveEndsWithContext(t *testing.T, newQueue QueueFactory) {
	_, consumer := newQueue(t, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		ds, err := consumer("a").Receive(ctx, 1)
		if len(ds) > 0 {
			t.Errorf("Receive on an empty queue = %+v", ds)
		}
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Receive after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Receive did not return after its context ended")
	}
}

func testQueueAckedJobsAreNeverRedelivered(t *testing.T, newQueue QueueFactory) {
	q, consumer := newQueue(t, queueIdle)
	a, b := consumer("a"), consumer("b")
	for i := range 3 {
		enqueue(t, q, pushJob(i))
	}
	ack(t, a, receiveN(t, a, 3, 3)...)
	time.Sleep(2 * queueIdle)
	enqueue(t, q, pushJob(9))
	ds := receiveN(t, b, 1, 10)
	if ds[0].Job.Message.ID != pushJob(9).Message.ID {
		t.Errorf("after acks, b received %s, want only the new job", ds[0].Job.Message.ID)
	}
	ack(t, b, ds...)
	assertNothing(t, b, 2*queueIdle)
}

func testQueueUnackedJobsAreReclaimedByAnother(t *testing.T, newQueue QueueFactory) {
	q, consumer := newQueue(t, queueIdle)
	dead, survivor := consumer("dead"), consumer("survivor")
	for i := range 4 {
		enqueue(t, q, pushJob(i))
	}
	taken := receiveN(t, dead, 4, 4)
	ack(t, dead, taken[0]) // finished one job, then died holding three
	got := receiveN(t, survivor, 3, 10)
	ids := map[string]bool{}
	for _, d := range got {
		ids[d.Job.Message.ID] = true
	}
	for _, d := range taken[1:] {
		if !ids[d.Job.Message.ID] {
			t.Errorf("job %s left by the dead consumer was not reclaimed", d.Job.Message.ID)
		}
	}
	ack(t, survivor, got...)
	assertNothing(t, survivor, 2*queueIdle)
}

func testQueueConsumersShareTheWork(t *testing.T, newQueue QueueFactory) {
	q, consumer := newQueue(t, time.Minute)
	const jobs = 60
	for i := range jobs {
		enqueue(t, q, pushJob(i))
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, name := range []string{"a", "b", "c"} {
		c := consumer(name)
		wg.Go(func() {
			for {
				ds, err := c.Receive(ctx, 4)
				if err != nil {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.Job.Message.ID]++
				}
				n := len(seen)
				mu.Unlock()
				if err := c.Ack(context.Background(), ids(ds)...); err != nil {
					t.Errorf("Ack: %v", err)
				}
				if n == jobs {
					cancel()
				}
			}
		})
	}
	select {
	case <-ctx.Done():
	case <-time.After(waitLimit):
		cancel()
	}
	wg.Wait()
	if len(seen) != jobs {
		t.Errorf("%d distinct jobs received, want %d", len(seen), jobs)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("job %s received %d times, want once", id, n)
		}
	}
}

// pushJob returns a job whose fields are all set, distinct per i.
func pushJob(i int) chat.PushJob {
	return chat.PushJob{
		Message: chat.Message{
			ID: fmt.Sprintf("msg-%03d", i), RoomID: "room-1", Seq: int64(i + 1), SenderID: "user-1",
			ClientMsgID: fmt.Sprint("c", i), Type: chat.MessageText, Text: fmt.Sprintf("héllo \"%d\"", i),
			CreatedAt: chat.At(storeAt(i)), UnreadCount: 2,
		},
		EnqueuedAt: storeAt(i).UnixMilli(),
	}
}

func enqueue(tb testing.TB, q chat.PushQueue, job chat.PushJob) {
	tb.Helper()
	if err := q.Enqueue(tb.Context(), job); err != nil {
		tb.Fatalf("Enqueue: %v", err)
	}
}

// receiveN receives, limit at a time, until it has n jobs, and fails if more arrive in
// one Receive than were asked for.
func receiveN(tb testing.TB, c chat.PushConsumer, n, limit int) []chat.PushDelivery {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var out []chat.PushDelivery
	for len(out) < n {
		ds, err := c.Receive(ctx, limit)
		if err != nil {
			tb.Fatalf("Receive: got %d of %d jobs: %v", len(out), n, err)
		}
		if len(ds) == 0 || len(ds) > limit {
			tb.Fatalf("Receive(%d) returned %d jobs", limit, len(ds))
		}
		out = append(out, ds...)
	}
	if len(out) != n {
		tb.Fatalf("received %d jobs, want %d", len(out), n)
	}
	return out
}

func ids(ds []chat.PushDelivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func ack(tb testing.TB, c chat.PushConsumer, ds ...chat.PushDelivery) {
	tb.Helper()
	if err := c.Ack(tb.Context(), ids(ds)...); err != nil {
		tb.Fatalf("Ack: %v", err)
	}
}

// assertNothing fails if c receives a job within d.
func assertNothing(tb testing.TB, c chat.PushConsumer, d time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if ds, err := c.Receive(ctx, 10); len(ds) > 0 {
		tb.Errorf("received %d jobs that were acknowledged or never queued (%v)", len(ds), err)
	}
}
