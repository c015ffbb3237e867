package media

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// SigningKey derives the key that signs media URLs from the server's token secret, so
// that every node of a cluster signs alike with no setting of its own, and a leaked
// media URL key would say nothing about the token key.
func SigningKey(tokenSecret []byte) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, tokenSecret, nil, "chatchat media URL signing v1", 32)
	if err != nil {
		return nil, fmt.Errorf("media: derive signing key: %w", err)
	}
	return k, nil
}

// signedURL is a URL of this server's download endpoint that needs no token: it names
// one media item and variant and stops working at exp.
func (s *Service) signedURL(id, variant string, exp time.Time) string {
	q := url.Values{}
	q.Set("variant", variant)
	q.Set("exp", strconv.FormatInt(exp.Unix(), 10))
	q.Set("sig", s.signature(id, variant, exp.Unix()))
	return s.cfg.BaseURL + "/api/v1/media/" + url.PathEscape(id) + "?" + q.Encode()
}

func (s *Service) signature(id, variant string, exp int64) string {
	mac := hmac.New(sha256.New, s.cfg.SigningKey)
	// Newline-separated: ids and variants never hold a newline, so no two different
	// triples sign the same bytes.
	fmt.Fprintf(mac, "%s\n%s\n%d", id, variant, exp)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// verify checks a signed URL's parameters: 403 when the signature does not match or
// the URL has expired. Only the spelling this server writes is accepted: a "+" or a
// leading zero in exp, or other spare bits in the signature's last character, would
// otherwise make one signed URL many (each a cache key of its own).
func (s *Service) verify(id, variant, exp, sig string) error {
	bad := chat.Errorf(chat.Forbidden, "bad_signature", "the media URL's signature is not valid")
	if variant != Original && variant != Thumbnail {
		return bad
	}
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || strconv.FormatInt(e, 10) != exp {
		return bad
	}
	if !hmac.Equal([]byte(sig), []byte(s.signature(id, variant, e))) {
		return bad
	}
	if s.cfg.Now().Unix() >= e {
		return chat.Errorf(chat.Forbidden, "url_expired", "the media URL has expired; fetch the message again for a fresh one")
	}
	return nil
}
