package ws

import (
	"github.com/chatchat/chatchat/chat"
	"github.com/gobwas/ws"
)

// Close codes the server sends. 1000–1015 are RFC 6455's; 4000–4999 are the application's
// own, as centrifuge's disconnect.go keeps them.
const (
	CloseNormal          ws.StatusCode = 1000
	CloseGoingAway       ws.StatusCode = 1001 // server shutdown
	CloseProtocolError   ws.StatusCode = 1002 // a frame that breaks RFC 6455 (unmasked, bad fragments)
	CloseUnsupportedData ws.StatusCode = 1003 // a binary frame
	CloseInvalidPayload  ws.StatusCode = 1007 // a text frame that is not UTF-8
	ClosePolicyViolation ws.StatusCode = 1008
	CloseTooBig          ws.StatusCode = 1009
	CloseInternalError   ws.StatusCode = 1011
	CloseUnauthorized    ws.StatusCode = 4001
	CloseForbidden       ws.StatusCode = 4003
	CloseSlowConsumer    ws.StatusCode = 4008
	CloseRateLimited     ws.StatusCode = 4029
)

// CloseCode returns the close code for ending a session because of err. It is the one
// table from a domain error's kind to a close code; kinds not listed close with
// CloseInternalError.
func CloseCode(err error) ws.StatusCode {
	switch chat.ErrorKind(err) {
	case chat.Unauthorized:
		return CloseUnauthorized
	case chat.Forbidden:
		return CloseForbidden
	case chat.RateLimited:
		return CloseRateLimited
	case chat.Invalid:
		return ClosePolicyViolation
	case chat.TooLarge:
		return CloseTooBig
	default:
		return CloseInternalError
	}
}

// closeCodes lists every code the server sends, with the short text that goes with it
// for people reading traces.
func closeCodes() map[ws.StatusCode]string {
	return map[ws.StatusCode]string{
		CloseNormal:          "bye",
		CloseGoingAway:       "server shutting down",
		CloseProtocolError:   "protocol error",
		CloseUnsupportedData: "binary frames are not supported",
		CloseInvalidPayload:  "text frame is not UTF-8",
		ClosePolicyViolation: "policy violation",
		CloseTooBig:          "frame too big",
		CloseInternalError:   "internal error",
		CloseUnauthorized:    "unauthorized",
		CloseForbidden:       "forbidden",
		CloseSlowConsumer:    "slow consumer",
		CloseRateLimited:     "rate limited",
	}
}

// staticFrames are the server's fixed frames, compiled once per server: close frames per
// code, the ping, and HEART_BEAT_ACK.
type staticFrames struct {
	close        map[ws.StatusCode][]byte
	ping         []byte
	heartBeatAck []byte
}

func newStaticFrames() *staticFrames {
	reasons := closeCodes()
	f := &staticFrames{
		close:        make(map[ws.StatusCode][]byte, len(reasons)),
		ping:         ws.MustCompileFrame(ws.NewPingFrame(nil)),
		heartBeatAck: eventFrame(chat.EventHeartBeatAck, []byte("{}")),
	}
	for code, reason := range reasons {
		f.close[code] = ws.MustCompileFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(code, reason)))
	}
	return f
}

// closeFrame returns the compiled close frame for code.
func (f *staticFrames) closeFrame(code ws.StatusCode) []byte {
	if b, ok := f.close[code]; ok {
		return b
	}
	return ws.MustCompileFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(code, "")))
}
