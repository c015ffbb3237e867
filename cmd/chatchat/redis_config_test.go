package main

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/chatchat/chatchat/internal/testenv"
)

// TestConfigRedisURL: the URL ElastiCache needs (rediss:// for in-transit encryption) with
// the AUTH token inside it or beside it (CHATCHAT_REDIS_PASSWORD, as the AWS template
// injects it from Secrets Manager, so that it is in no URL and no task definition).
func TestConfigRedisURL(t *testing.T) {
	tests := []struct {
		name, url, password string
		wantErr             bool
	}{
		{name: "token in the URL", url: "rediss://:tok3n@cache.example:6379/0"},
		{name: "token beside it", url: "rediss://cache.example:6379/0", password: "tok3n"},
		{name: "both", url: "rediss://:other@cache.example:6379/0", password: "tok3n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseServe(nil, map[string]string{"CHATCHAT_REDIS_URL": tc.url, "CHATCHAT_REDIS_PASSWORD": tc.password}, nil)
			if err != nil {
				t.Fatal(err)
			}
			opts, err := redisOptions(s)
			if tc.wantErr {
				if err == nil {
					t.Fatal("a password in the URL and beside it was accepted")
				}
				return
			}
			if err != nil {
				t.Fatalf("redisOptions: %v", err)
			}
			if opts.TLSConfig == nil || opts.TLSConfig.ServerName != "cache.example" || opts.TLSConfig.InsecureSkipVerify {
				t.Errorf("TLS %+v, want verified TLS to cache.example", opts.TLSConfig)
			}
			if opts.Password != "tok3n" || opts.Addr != "cache.example:6379" || opts.DB != 0 {
				t.Errorf("options: password %q, addr %s, db %d", opts.Password, opts.Addr, opts.DB)
			}
		})
	}
}

// TestConfigRedisPassword runs the wiring against a Redis that requires AUTH: with
// CHATCHAT_REDIS_PASSWORD the bus subscribes and pings, without it the start fails.
func TestConfigRedisPassword(t *testing.T) {
	srv := testenv.StartRedis(t) // private: it gets a password
	if err := srv.Client(t).ConfigSet(t.Context(), "requirepass", "tok3n").Err(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	open := func(password string) error {
		s, err := parseServe(nil, map[string]string{
			"CHATCHAT_REDIS_URL": srv.URL(), "CHATCHAT_REDIS_PASSWORD": password, "CHATCHAT_DATA_DIR": t.TempDir(),
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := openBackends(t.Context(), s, log, nil)
		if err != nil {
			return err
		}
		defer b.close(log)
		return b.checks["redis"].Ping(t.Context())
	}
	if err := open("tok3n"); err != nil {
		t.Fatalf("with the password: %v", err)
	}
	if err := open(""); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("without the password: %v, want NOAUTH", err)
	}
}
