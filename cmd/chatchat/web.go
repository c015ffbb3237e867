package main

import (
	"fmt"

	"github.com/chatchat/chatchat/api"
	"github.com/chatchat/chatchat/web"
)

// registerWeb serves the browser client at / in a process with the api role, so that the
// page, the API and (with the ws role) the WebSocket share one origin.
//
// The pattern is "/" for every method rather than "GET /": the API's catch-all "/api/"
// takes every method, and net/http refuses "GET /" beside it as ambiguous (each is more
// specific than the other in one respect). The handler answers 405 to other methods itself.
func registerWeb(rt *api.Router, roles map[string]bool, wsURL string) error {
	if !roles["api"] {
		return nil
	}
	h, err := web.New(web.Config{WebSocketURL: wsURL})
	if err != nil {
		return fmt.Errorf("--ws-public-url: %w", err)
	}
	rt.Handle("/", h)
	return nil
}

// servingLine says what a process serves at addr, for the line `chatchat serve` prints
// once it listens: the web app's URL where the api role runs (scripts/browser-test.sh and
// the tests read that "open http://…/"), and otherwise what is there instead, so that no
// one opens a page a chat or notification process does not serve.
func servingLine(roles map[string]bool, addr string) string {
	switch {
	case roles["api"]:
		return "open http://" + addr + "/"
	case roles["ws"]:
		return "WebSocket on ws://" + addr + "/ws (no web app here: processes with the api role serve it)"
	default:
		return "no web app or WebSocket here; health on http://" + addr + "/readyz"
	}
}
