package redis_test

import (
	"io"
	"net"
	"sync"
	"testing"
)

// proxy is a loopback TCP proxy that can make its current connections go silent without
// closing them, as a connection through a dead NAT or a frozen peer does.
type proxy struct {
	addr string
	ln   net.Listener

	mu    sync.Mutex
	conns []*proxyConn
	wg    sync.WaitGroup
}

type proxyConn struct {
	client, server net.Conn
	mu             sync.Mutex
	silent         bool
}

func newProxy(tb testing.TB, target string) *proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("proxy listen: %v", err)
	}
	p := &proxy{addr: ln.Addr().String(), ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			pc := &proxyConn{client: c, server: s}
			p.mu.Lock()
			p.conns = append(p.conns, pc)
			p.mu.Unlock()
			p.wg.Go(func() { pc.pipe(s, c) })
			p.wg.Go(func() { pc.pipe(c, s) })
		}
	})
	tb.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, pc := range p.conns {
			pc.client.Close()
			pc.server.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// silence makes every connection open now drop what passes through it, both ways, while
// staying open. Connections made later pass traffic.
func (p *proxy) silence() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.conns {
		pc.mu.Lock()
		pc.silent = true
		pc.mu.Unlock()
	}
}

func (pc *proxyConn) pipe(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			pc.mu.Lock()
			silent := pc.silent
			pc.mu.Unlock()
			if !silent {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			pc.client.Close()
			pc.server.Close()
			return
		}
	}
}
