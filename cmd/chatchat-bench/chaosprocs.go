package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The chaos run's processes: chatchat servers on fixed ports, started, SIGKILLed and
// started again with the same arguments, and a balancer in front of them that stands in for
// the load balancer (new connections go to a process that accepts them).

// chatProc is one chatchat serve process.
type chatProc struct {
	name string
	port int
	bin  string
	args []string
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

func (p *chatProc) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// start starts the process and waits until /readyz answers 200.
func (p *chatProc) start(ctx context.Context) error {
	f, err := os.OpenFile(p.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close() // the child holds its own descriptor
	cmd := exec.Command(p.bin, append([]string{"serve", "--addr", p.addr()}, p.args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("%s exited while starting; see %s", p.name, p.log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if readyz(p.addr()) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after 60 s; see %s", p.name, p.log)
		}
	}
}

func readyz(addr string) error {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

// signal sends sig and waits (at most 15 s, then SIGKILL) for the process to exit.
func (p *chatProc) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (p *chatProc) kill() { p.signal(syscall.SIGKILL) }
func (p *chatProc) stop() { p.signal(syscall.SIGTERM) }

func (p *chatProc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// balancer sends /ws to the chat processes and everything else to the API processes,
// round-robin over those that accept a connection, as an ALB sends new connections to
// healthy targets. A request in flight to a process that dies fails (502); the client
// retries.
type balancer struct {
	srv    *http.Server
	ln     net.Listener
	closed chan struct{}
}

func newBalancer(api, chat []*chatProc) (*balancer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	apiProxy := roundRobinProxy(api)
	wsProxy := roundRobinProxy(chat)
	b := &balancer{ln: ln, closed: make(chan struct{})}
	b.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/ws") {
				wsProxy.ServeHTTP(w, r)
				return
			}
			apiProxy.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = b.srv.Serve(ln); close(b.closed) }()
	return b, nil
}

func (b *balancer) url() string { return "http://" + b.ln.Addr().String() }

func (b *balancer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.srv.Shutdown(ctx)
	_ = b.srv.Close() // hijacked WebSockets are not closed by Shutdown
	<-b.closed
}

// roundRobinProxy proxies to one of procs: each new backend connection goes to the next
// process in turn, skipping those that refuse it.
func roundRobinProxy(procs []*chatProc) *httputil.ReverseProxy {
	var next atomic.Uint64
	target, _ := url.Parse("http://backend")
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
		},
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				start := next.Add(1)
				var last error
				for i := range procs {
					p := procs[(start+uint64(i))%uint64(len(procs))]
					d := net.Dialer{Timeout: 2 * time.Second}
					c, err := d.DialContext(ctx, network, p.addr())
					if err == nil {
						return c, nil
					}
					last = err
				}
				return nil, last
			},
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       30 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, `{"error":{"code":"bad_gateway","message":%q}}`, err.Error())
		},
	}
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// newChatProc names a process with a free port and its log under dir.
func newChatProc(dir, name, bin string, args []string) (*chatProc, error) {
	port, err := freeTCPPort()
	if err != nil {
		return nil, err
	}
	return &chatProc{name: name, port: port, bin: bin, args: args, log: filepath.Join(dir, name+".log")}, nil
}
