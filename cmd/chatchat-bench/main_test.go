package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// buildChatChat builds cmd/chatchat into dir and returns the binary's path.
func buildChatChat(tb testing.TB, dir string) string {
	tb.Helper()
	bin := filepath.Join(dir, "chatchat")
	build := exec.Command("go", "build", "-o", bin, "../chatchat")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build chatchat: %v\n%s", err, out)
	}
	return bin
}

// startChatChat builds cmd/chatchat and runs it on a free loopback port with the load-test
// settings, and returns its base URL and pid.
func startChatChat(tb testing.TB) (string, int) {
	tb.Helper()
	dir := tb.TempDir()
	bin := buildChatChat(tb, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", addr, "--data-dir", filepath.Join(dir, "data"),
		"--rate-send", "0", "--rate-signup", "0", "--rate-login", "0", "--rate-frames", "0",
		"--argon2-memory", "1024", "--argon2-iterations", "1", "--log-level", "warn")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	// The server prints its address once it listens.
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), addr) {
				close(ready)
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		tb.Fatal("chatchat did not start")
	}
	return "http://" + addr, cmd.Process.Pid
}

// TestSmokeBroadcast runs the broadcast preset briefly, 20 clients at two rates, and
// checks the accounting: every message reached every member once. No timing is asserted.
func TestSmokeBroadcast(t *testing.T) {
	url, pid := startChatChat(t)
	out := filepath.Join(t.TempDir(), "result.json")
	var log strings.Builder
	err := run(context.Background(), []string{"broadcast", "-url", url, "-clients", "20", "-rate", "20,40",
		"-duration", "1s", "-hold", "200ms", "-server-pid", strconv.Itoa(pid), "-out", out}, &log)
	t.Log(log.String())
	if err != nil {
		t.Fatal(err)
	}
	res := readResult(t, out)
	if len(res.Steps) != 2 {
		t.Fatalf("steps = %d, want 2", len(res.Steps))
	}
	for _, s := range res.Steps {
		if s.Sent == 0 || s.Failed != 0 {
			t.Errorf("rate %v: sent %d, failed %d", s.Rate, s.Sent, s.Failed)
		}
		if s.Expected != s.Sent*20 || s.Delivered != s.Expected || s.Lost != 0 || s.Duplicated != 0 {
			t.Errorf("rate %v: expected %d delivered %d lost %d dups %d for %d sent", s.Rate, s.Expected, s.Delivered, s.Lost, s.Duplicated, s.Sent)
		}
		if s.ServerCPUSeconds < 0 || s.ServerRSSMiB <= 0 {
			t.Errorf("rate %v: server cpu %v rss %v", s.Rate, s.ServerCPUSeconds, s.ServerRSSMiB)
		}
	}
	if res.Idle == nil || res.Idle.Connections != 20 {
		t.Errorf("idle = %+v", res.Idle)
	}
	if res.LostConns != 0 {
		t.Errorf("lost connections: %d", res.LostConns)
	}

	svg := filepath.Join(t.TempDir(), "latency.svg")
	if err := run(context.Background(), []string{"chart", "-o", svg, out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(svg)
	if err != nil || !strings.Contains(string(b), "<polyline") {
		t.Fatalf("chart: %v\n%.300s", err, b)
	}
}

// TestSmokeHistory checks that clients that were away get every missed message after
// RESUME, and rooms of several members.
func TestSmokeHistory(t *testing.T) {
	url, pid := startChatChat(t)
	out := filepath.Join(t.TempDir(), "result.json")
	var log strings.Builder
	err := run(context.Background(), []string{"history", "-url", url, "-clients", "20", "-room-size", "5", "-rate", "20",
		"-duration", "1s", "-hold", "200ms", "-server-pid", strconv.Itoa(pid), "-out", out}, &log)
	t.Log(log.String())
	if err != nil {
		t.Fatal(err)
	}
	res := readResult(t, out)
	for _, s := range res.Steps {
		if s.Delivered != s.Expected || s.Lost != 0 || s.Duplicated != 0 || s.Failed != 0 {
			t.Errorf("rate %v: %+v", s.Rate, s)
		}
	}
	h := res.History
	if h == nil || h.Reconnects != 10 || h.Missed == 0 || h.Replayed != h.Missed || h.Lost != 0 || h.Duplicated != 0 {
		t.Errorf("history = %+v", h)
	}
}

func TestOnDataParsesFrames(t *testing.T) {
	r := &runner{cfg: config{}, target: &chatchatTarget{}}
	r.steps = []*stepStats{newStepStats(1)}
	c := &benchConn{r: r}
	frame := `{"type":"MESSAGE_CREATED","data":{"message":{"id":"m1","roomId":"r1","seq":42,"senderId":"u","clientMsgId":"c","type":"text","text":"b:7:1000","createdAt":"x","unreadCount":1}}}`
	c.onData([]byte(frame))
	c.onData([]byte(frame))
	// Centrifugo puts several pushes in one frame, one per line.
	cf := `{"push":{"channel":"bench0","pub":{"data":{"text":"b:8:1000"}}}}` + "\n" + `{"push":{"channel":"bench0","pub":{"data":{"text":"b:9:1000"}}}}`
	c.onData([]byte(cf))
	s := r.steps[0]
	if s.uniq.Load() != 3 || s.dups.Load() != 1 || c.maxSeq != 42 {
		t.Fatalf("uniq %d dups %d maxSeq %d", s.uniq.Load(), s.dups.Load(), c.maxSeq)
	}
}

func TestIsPing(t *testing.T) {
	for in, want := range map[string]bool{
		"{}": true, "{}\n{\"push\":{}}": true, "{\"push\":{}}\n{}": true, "{\"a\":1}\n{}\n{\"b\":2}": true,
		"{\"push\":{}}": false, "{} ": false,
	} {
		if got := isPing([]byte(in)); got != want {
			t.Errorf("isPing(%q) = %v, want %v", in, got, want)
		}
	}
}

func readResult(tb testing.TB, path string) runResult {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var res runResult
	if err := json.Unmarshal(b, &res); err != nil {
		tb.Fatal(err)
	}
	return res
}
