package s3_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/s3"
)

// fakeS3 starts an in-process S3 server with one bucket and returns its URL. It speaks
// the protocol but checks no signature: presigned URLs are checked by their parameters.
func fakeS3(tb testing.TB, bucket string) string {
	tb.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		tb.Fatalf("create bucket: %v", err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	tb.Cleanup(srv.Close)
	return srv.URL
}

// awsEnv gives the standard credential chain static keys, so that it never looks for an
// instance role over the network.
func awsEnv(tb testing.TB) {
	tb.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PROFILE": "", "AWS_REGION": "",
	} {
		tb.Setenv(k, v)
	}
}

func newStore(tb testing.TB, prefix string) (*s3.Store, string) {
	tb.Helper()
	endpoint := fakeS3(tb, "chat-media")
	st, err := s3.New(tb.Context(), s3.Config{
		Bucket: "chat-media", Prefix: prefix, Region: "eu-west-1", Endpoint: endpoint, PathStyle: true,
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return st, endpoint
}

func TestBlobStore(t *testing.T) {
	awsEnv(t)
	chattest.TestBlobStore(t, func(t *testing.T) chat.BlobStore {
		st, _ := newStore(t, "media/")
		return st
	})
}

func TestPing(t *testing.T) {
	awsEnv(t)
	st, endpoint := newStore(t, "")
	if err := st.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	missing, err := s3.New(t.Context(), s3.Config{Bucket: "no-such-bucket", Endpoint: endpoint, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := missing.Ping(t.Context()); err == nil {
		t.Error("Ping of a missing bucket succeeded")
	}
}

// TestPutStream checks that a body that cannot seek (a network stream) is stored too.
func TestPutStream(t *testing.T) {
	awsEnv(t)
	st, _ := newStore(t, "p/")
	data := strings.Repeat("stream ", 1000)
	if err := st.Put(t.Context(), "s/orig", io.MultiReader(strings.NewReader(data)), int64(len(data)), "text/plain"); err != nil {
		t.Fatalf("Put of a stream: %v", err)
	}
	rc, info, err := st.Open(t.Context(), "s/orig")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	if string(b) != data || info.ContentType != "text/plain" {
		t.Errorf("read back %d bytes of type %q", len(b), info.ContentType)
	}
}

// TestPresignPut checks what the signature covers: the object key under the prefix,
// the lifetime, the content type and the length; and that the URL works for a PUT.
func TestPresignPut(t *testing.T) {
	awsEnv(t)
	st, endpoint := newStore(t, "media/")
	u, headers, err := st.PresignPut(t.Context(), "01m/orig", 15*time.Minute, "image/png", 5)
	if err != nil {
		t.Fatalf("PresignPut: %v", err)
	}
	pu := parse(t, u)
	if !strings.HasPrefix(u, endpoint+"/") || pu.Path != "/chat-media/media/01m/orig" {
		t.Errorf("URL %s: want the object media/01m/orig in bucket chat-media at %s", u, endpoint)
	}
	q := pu.Query()
	if q.Get("X-Amz-Expires") != "900" {
		t.Errorf("X-Amz-Expires = %q, want 900", q.Get("X-Amz-Expires"))
	}
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || q.Get("X-Amz-Signature") == "" {
		t.Errorf("not a SigV4 presigned URL: %s", u)
	}
	if c := q.Get("X-Amz-Credential"); !strings.HasPrefix(c, "test-key/") || !strings.Contains(c, "/eu-west-1/s3/aws4_request") {
		t.Errorf("X-Amz-Credential = %q, want test-key's, for eu-west-1 s3", c)
	}
	signed := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	for _, h := range []string{"content-type", "content-length", "host"} {
		if !contains(signed, h) {
			t.Errorf("X-Amz-SignedHeaders = %v, want %s signed", signed, h)
		}
	}
	for k := range q {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum") || strings.HasPrefix(strings.ToLower(k), "x-amz-sdk-checksum") {
			t.Errorf("presigned PUT carries %s: a browser cannot send a matching checksum", k)
		}
	}
	if headers["Content-Type"] != "image/png" || len(headers) != 1 {
		t.Errorf("upload headers = %v, want exactly Content-Type: image/png", headers)
	}

	req, _ := http.NewRequest(http.MethodPut, u, bytes.NewReader([]byte("hello")))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT to the presigned URL: %s", resp.Status)
	}
	info, err := st.Stat(t.Context(), "01m/orig")
	if err != nil || info.Size != 5 || info.ContentType != "image/png" {
		t.Errorf("after the presigned PUT: %+v %v", info, err)
	}
}

// TestPresignGet checks the key scope, lifetime and signed response headers of a
// presigned GET, and that the URL fetches the bytes.
func TestPresignGet(t *testing.T) {
	awsEnv(t)
	st, _ := newStore(t, "media/")
	if err := st.Put(t.Context(), "01g/orig", strings.NewReader("%PDF-1.4 x"), 10, "application/pdf"); err != nil {
		t.Fatal(err)
	}
	u, err := st.PresignGet(t.Context(), "01g/orig", 5*time.Minute, chat.GetOptions{
		ContentType: "application/pdf", ContentDisposition: `attachment; filename="a.pdf"`,
	})
	if err != nil {
		t.Fatalf("PresignGet: %v", err)
	}
	pu := parse(t, u)
	q := pu.Query()
	if pu.Path != "/chat-media/media/01g/orig" {
		t.Errorf("path %q, want /chat-media/media/01g/orig", pu.Path)
	}
	if q.Get("X-Amz-Expires") != "300" {
		t.Errorf("X-Amz-Expires = %q, want 300", q.Get("X-Amz-Expires"))
	}
	if q.Get("response-content-disposition") != `attachment; filename="a.pdf"` || q.Get("response-content-type") != "application/pdf" {
		t.Errorf("response overrides = %q, %q", q.Get("response-content-disposition"), q.Get("response-content-type"))
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != "%PDF-1.4 x" {
		t.Errorf("GET presigned: %s %q", resp.Status, b)
	}
	if _, err := st.PresignGet(t.Context(), "../other/orig", time.Minute, chat.GetOptions{}); chat.ErrorKind(err) != chat.Invalid {
		t.Errorf("presigning a key outside the namespace: %v", err)
	}
}

func parse(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatalf("parse %q: %v", s, err)
	}
	return u
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
