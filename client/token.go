package client

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// maxRenewMargin is how long before its expiry an access token is renewed at most: a
// token's last quarter when it lives shorter, as the web client does.
const maxRenewMargin = 30 * time.Second

// renewAt returns when an access token is due for renewal, read from its claims (iat and
// exp). The client does not verify the token, the server does; it only reads when it
// ends. ok is false for a token that is not a JWT with an expiry.
func renewAt(token string) (at time.Time, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp int64 `json:"exp"`
		Iat int64 `json:"iat"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == 0 {
		return time.Time{}, false
	}
	exp := time.Unix(claims.Exp, 0)
	margin := maxRenewMargin
	if claims.Iat > 0 && claims.Iat < claims.Exp {
		margin = min(margin, exp.Sub(time.Unix(claims.Iat, 0))/4)
	}
	return exp.Add(-margin), true
}
