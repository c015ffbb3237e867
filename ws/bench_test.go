package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// sink is a client that only counts the bytes it receives, with one buffer for its life,
// so that the benchmark's own side adds no allocation per delivery.
type sink struct {
	conn net.Conn
	n    atomic.Int64
}

func (s *sink) run(wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 32<<10)
	for {
		m, err := s.conn.Read(buf)
		s.n.Add(int64(m))
		if err != nil {
			return
		}
	}
}

// dialSinks connects n users, all members of room, and starts their readers.
func dialSinks(b *testing.B, e *testEnv, n int, room string) ([]*sink, *sync.WaitGroup) {
	b.Helper()
	sinks := make([]*sink, n)
	var wg sync.WaitGroup
	for i := range sinks {
		user := "u" + strconv.Itoa(i)
		e.chat.setRooms(user, room)
		c := e.dial(b, user) // registered once this returns
		sinks[i] = &sink{conn: c.conn}
		wg.Add(1)
		go sinks[i].run(&wg)
	}
	return sinks, &wg
}

// BenchmarkFanout delivers one MESSAGE_CREATED event to N local sessions over loopback
// sockets, and waits, every few events, until every client has received everything, so
// that each op includes the socket writes. ns/delivery and allocs/delivery divide by the
// sessions reached; the clients' reading runs in the same process and is counted too.
// The MESSAGE_UPDATED cases deliver a change of a message with 10 and 1,000 reactors (a
// reaction storm's late events carry every reactor's id).
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			benchFanout(b, n, messageEvent(b, "r1", 1, strings.Repeat("hello ", 20)))
		})
	}
	for _, reactors := range []int{10, 1000} {
		b.Run(fmt.Sprintf("sessions=1000/MESSAGE_UPDATED/reactors=%d", reactors), func(b *testing.B) {
			m := message("r1", 1, strings.Repeat("hello ", 20))
			m.Rev = 2
			r := chat.Reaction{Emoji: "❤️", Count: reactors}
			for i := range reactors {
				r.UserIDs = append(r.UserIDs, fmt.Sprintf("01m950ezhrh89z336q%08d", i))
			}
			m.Reactions = []chat.Reaction{r}
			data, err := json.Marshal(chat.MessageUpdated{Message: m})
			if err != nil {
				b.Fatal(err)
			}
			benchFanout(b, 1000, chat.Event{Type: chat.EventMessageUpdated, RoomID: "r1", Rev: 2, Data: data})
			b.ReportMetric(float64(len(data)), "dataBytes")
		})
	}
}

// fanoutWindow is how many events are in flight before benchFanout waits: it bounds the
// queues.
const fanoutWindow = 64

func benchFanout(b *testing.B, n int, ev chat.Event) {
	// The queues hold the whole window of events in flight, whatever their size: the
	// benchmark measures writing, not the slow-consumer limit.
	e := newTestEnv(b, Config{SendQueue: 1024, SendQueueBytes: max(1<<20, 2*fanoutWindow*len(ev.Data))})
	sinks, wg := dialSinks(b, e, n, "r1")
	b.Cleanup(func() {
		for _, s := range sinks {
			s.conn.Close()
		}
		wg.Wait()
	})
	frameLen := int64(len(eventFrame(ev.Type, ev.Data)))
	base := make([]int64, n)
	for i, s := range sinks {
		base[i] = s.n.Load()
	}
	waitAll := func(events int) {
		want := int64(events) * frameLen
		for i, s := range sinks {
			for s.n.Load()-base[i] < want {
				runtime.Gosched()
			}
		}
	}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		e.srv.HandleEvent(ev)
		if i%fanoutWindow == 0 {
			waitAll(i)
		}
	}
	waitAll(b.N)
	b.StopTimer()
	runtime.ReadMemStats(&after)

	deliveries := float64(b.N) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/deliveries, "allocs/delivery")
	if drops := e.metric(b, "chatchat_ws_send_queue_drops_total"); drops != 0 {
		b.Fatalf("%v sessions dropped", drops)
	}
}

// BenchmarkIdleConnections opens 2,000 connections, each in one room, lets them go idle
// and reports the Go memory (heap + goroutine stacks) and the RSS they add, per
// connection. Both ends live in this process: the figures include the test clients'
// connection objects (one net.Conn each, no goroutine), so they overstate the server's
// share. Run it with -benchtime=1x.
//
// deflate=true has the server offer permessage-deflate and every client negotiate it.
func BenchmarkIdleConnections(b *testing.B) {
	for _, deflate := range []bool{false, true} {
		b.Run(fmt.Sprintf("deflate=%v", deflate), func(b *testing.B) { benchIdle(b, deflate) })
	}
}

func benchIdle(b *testing.B, deflate bool) {
	const conns = 2000
	var offer []httphead.Option
	if deflate {
		offer = []httphead.Option{wsflate.Parameters{}.Option()}
	}
	for range b.N {
		e := newTestEnv(b, Config{Deflate: deflate})
		goMem0, stack0, rss0 := memNow()
		clients := make([]net.Conn, 0, conns)
		for i := range conns {
			user := "u" + strconv.Itoa(i)
			e.chat.setRooms(user, "room"+strconv.Itoa(i%50))
			d := ws.Dialer{Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer tok-" + user}}), Extensions: offer}
			ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
			conn, br, hs, err := d.Dial(ctx, e.wsURL())
			cancel()
			if err != nil {
				b.Fatalf("dial %d: %v", i, err)
			}
			if len(hs.Extensions) > 0 != deflate {
				b.Fatalf("dial %d: negotiated %v", i, hs.Extensions)
			}
			if br != nil {
				ws.PutReader(br)
			}
			clients = append(clients, conn)
		}
		eventually(b, "every session to register", func() bool {
			return e.metric(b, "chatchat_ws_connections") == conns
		})
		// Let the connect-time work (heartbeats, handshake buffers) become garbage.
		time.Sleep(100 * time.Millisecond)
		goMem1, stack1, rss1 := memNow()
		b.ReportMetric(float64(goMem1-goMem0)/conns, "goB/conn")
		b.ReportMetric(float64(stack1-stack0)/conns, "stackB/conn")
		b.ReportMetric(float64(rss1-rss0)/conns, "rssB/conn")
		for _, c := range clients {
			c.Close()
		}
		eventually(b, "every session to close", func() bool {
			return e.metric(b, "chatchat_ws_connections") == 0
		})
	}
}

// memNow returns, after two collections, the Go memory in use (heap objects and goroutine
// stacks), the stacks alone, and the process's resident set size.
func memNow() (goMem, stacks, rss int64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	goMem, stacks = int64(ms.HeapAlloc+ms.StackInuse), int64(ms.StackInuse)
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseInt(f[1], 10, 64)
			rss = pages * int64(os.Getpagesize())
		}
	}
	return goMem, stacks, rss
}
