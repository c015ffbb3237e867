// Package testenv gives tests the real servers they run against. A server comes from the
// environment when the test command started one for the whole run, and is otherwise started
// privately for the test and stopped when it ends. A missing server binary is a failure,
// never a skip: tests that silently skip hide broken adapters.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// envOrStart is the shape every server of this package shares: the server named by the
// environment variable env (made by fromEnv from its value, and waited for with ready), or
// else one that start runs privately for tb.
func envOrStart[S any](tb testing.TB, env string, fromEnv func(string) S, ready func(S) error, start func(testing.TB) S) S {
	tb.Helper()
	v := os.Getenv(env)
	if v == "" {
		return start(tb)
	}
	s := fromEnv(v)
	if err := ready(s); err != nil {
		tb.Fatalf("testenv: %s=%s does not answer: %v", env, v, err)
	}
	return s
}

// process is a server's child process when a test started it; its zero value stands for a
// server that came from the environment, which Stop leaves alone.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// startProcess starts cmd and a goroutine that runs drain (which reads the child's output
// to its end, when the child writes to a pipe), then reaps the child. Stop waits on done, so
// the goroutine never outlives the test.
func startProcess(cmd *exec.Cmd, drain func()) (process, error) {
	if err := cmd.Start(); err != nil {
		return process{}, fmt.Errorf("run %s: %w", cmd.Path, err)
	}
	p := process{cmd: cmd, done: make(chan struct{})}
	go func() {
		if drain != nil {
			drain()
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Stop stops a private server and waits for it to exit. It does nothing to a server that
// came from the environment. Tests call it to see how adapters behave when the server is
// gone.
func (p *process) Stop() {
	if p.cmd == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Kill kills a private server's process (SIGKILL), as a crash would, and waits for it to
// exit. It does nothing to a server from the environment.
func (p *process) Kill() {
	if p.cmd == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Pause stops a private server's process (SIGSTOP) without closing its sockets: a hung
// server, which answers nothing and refuses nothing. Resume lets it go on. Both do
// nothing to a server from the environment.
func (p *process) Pause() {
	if p.cmd != nil && !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGSTOP)
	}
}

// Resume undoes Pause.
func (p *process) Resume() {
	if p.cmd != nil && !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
	}
}

// exited reports whether a private server has exited; never for one from the environment.
func (p *process) exited() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady calls probe until it succeeds, the private server exits, or limit has passed.
// Each probe gets at most a second.
func (p *process) waitReady(limit time.Duration, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		if p.exited() {
			return errors.New("the server exited")
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		err := probe(pctx)
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer within %s: %w", limit, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the end of a server's log, for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
