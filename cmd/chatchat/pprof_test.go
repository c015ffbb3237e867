package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// freeAddr returns a loopback address that nothing listened on a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

// TestPprofOnItsOwnAddress: --pprof-addr serves the profiles on that address only, never on
// the public one, and stops listening with the server; without it nothing listens.
func TestPprofOnItsOwnAddress(t *testing.T) {
	addr := freeAddr(t)
	n := startNode(t, "", nil, "--pprof-addr", addr)
	if code, body := get(t, "http://"+addr+"/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof index: %d %q", code, body)
	}
	if code, body := get(t, "http://"+addr+"/debug/pprof/heap?debug=1"); code != http.StatusOK || !strings.Contains(body, "heap profile") {
		t.Errorf("heap profile: %d %.80q", code, body)
	}
	if code, _ := get(t, n.URL+"/debug/pprof/"); code == http.StatusOK {
		t.Error("the public address serves the profiles")
	}
	// A CPU profile running at shutdown ends with it, rather than holding the stop.
	profiled := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=60")
		if err != nil {
			profiled <- 0
			return
		}
		resp.Body.Close()
		profiled <- resp.StatusCode
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	n.stop(t)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stopping took %v with a CPU profile running", d)
	}
	select {
	case <-profiled:
	case <-time.After(10 * time.Second):
		t.Error("the CPU profile's request did not end with the server")
	}
	if !refused(addr) {
		t.Errorf("%s still listens after the server stopped", addr)
	}

	off := freeAddr(t)
	n = startNode(t, "", nil)
	if code, _ := get(t, n.URL+"/debug/pprof/"); code == http.StatusOK {
		t.Error("the public address serves the profiles without --pprof-addr")
	}
	if !refused(off) {
		t.Errorf("something listens on %s without --pprof-addr", off)
	}
}

// TestPprofAddressTaken: an address that cannot be listened on stops the start.
func TestPprofAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out strings.Builder
	err = run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--pprof-addr", ln.Addr().String()}, nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--pprof-addr") {
		t.Fatalf("serve with a taken --pprof-addr: %v", err)
	}
}
