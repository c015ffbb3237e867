package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatchat/chatchat/client"
	"github.com/chatchat/chatchat/internal/testenv"
)

// proc is a chatchat process started from the built binary.
type proc struct {
	cmd  *exec.Cmd
	url  *url.URL
	done chan error
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chatchat")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn",
		"--argon2-memory", "1024", "--argon2-iterations", "1"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1)}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := servedURL(sc.Text()); ok {
				found <- u
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case u := <-found:
		p.url, _ = url.Parse(u)
	case err := <-p.done:
		t.Fatalf("chatchat exited before listening: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("chatchat did not start")
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// balancer stands in for the load balancer: /api goes to the API process, /ws to the first
// chat process that accepts connections, as an ALB sends new connections to healthy targets.
func balancer(t *testing.T, api *proc, chats ...*proc) *httptest.Server {
	apiProxy := httputil.NewSingleHostReverseProxy(api.url)
	wsProxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(chats[0].url) },
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var last error
			for _, c := range chats {
				conn, err := (&net.Dialer{}).DialContext(ctx, network, c.url.Host)
				if err == nil {
					return conn, nil
				}
				last = err
			}
			return nil, last
		}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/ws") {
			wsProxy.ServeHTTP(w, r)
			return
		}
		apiProxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestDrainOnSIGTERM: a chat process that receives SIGTERM while clients are connected and
// messages flow closes its sockets with 1001 and exits 0; the clients reconnect through the
// balancer to the other chat process, resume, and every client ends with every message once.
func TestDrainOnSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	r := testenv.Redis(t)
	dir := t.TempDir()
	common := []string{"--data-dir", dir, "--redis-url", r.URL(), "--redis-prefix", r.Prefix(t),
		"--jwt-secret", testSecret, "--rate-send", "0", "--rate-signup", "0", "--rate-login", "0"}
	common = append(common, clusterStoreArgs(t)...)
	api := startProc(t, bin, append(common, "--roles", "api,notify")...)
	ws1 := startProc(t, bin, append(common, "--roles", "ws")...)
	ws2 := startProc(t, bin, append(common, "--roles", "ws")...)
	lb := balancer(t, api, ws1, ws2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const members, messages = 8, 120
	var clients []*client.Client
	var ids []string
	for i := 0; i < members; i++ {
		c := client.New(lb.URL, client.WithHeartbeat(0))
		a, err := c.Signup(ctx, fmt.Sprintf("drain%d", i), "correct horse battery", fmt.Sprintf("D%d", i))
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		ids = append(ids, a.User.ID)
	}
	room, _, err := clients[0].CreateRoom(ctx, client.NewRoom{Type: "group", Name: "drain", MemberIDs: ids[1:]})
	if err != nil {
		t.Fatal(err)
	}
	var sessions []*client.Session
	for _, c := range clients {
		s, err := c.NewSession(ctx, client.WithBackoff(20*time.Millisecond, 200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		sessions = append(sessions, s)
	}

	got := make([]map[int64]int, members)
	var wg sync.WaitGroup
	for i, s := range sessions {
		got[i] = map[int64]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for len(got[i]) < messages {
				select {
				case ev, ok := <-s.Events():
					if !ok {
						return
					}
					if m, err := ev.Message(); err == nil && ev.Type == "MESSAGE_CREATED" && m.RoomID == room.ID {
						got[i][m.Seq]++
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}

	sender := clients[0]
	for i := 1; i <= messages; i++ {
		if _, _, err := sender.SendMessage(ctx, room.ID, client.NewMessage{Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		if i == messages/3 {
			// Everyone is on ws1 (the balancer's first choice): drain it mid-flow.
			if err := ws1.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-ws1.done:
		if err != nil {
			t.Fatalf("the drained chat process exited with %v, want 0", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("the drained chat process did not exit")
	}
	wg.Wait()
	for i := range got {
		if len(got[i]) != messages {
			t.Errorf("client %d got %d of %d messages", i, len(got[i]), messages)
		}
		for seq, n := range got[i] {
			if n != 1 {
				t.Errorf("client %d got seq %d %d times", i, seq, n)
			}
		}
	}
}
