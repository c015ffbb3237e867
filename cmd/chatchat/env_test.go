package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// settingNames returns the environment variable of every setting of `chatchat serve`.
func settingNames() map[string]bool {
	var s settings
	names := map[string]bool{}
	for _, n := range s.envNames() {
		names[n] = true
	}
	return names
}

// templateVariables returns the CHATCHAT_* variables that the AWS templates give the
// containers (Environment and Secrets entries, plain or under a condition), by template.
func templateVariables(tb testing.TB) map[string][]string {
	tb.Helper()
	files, err := filepath.Glob("../../deploy/aws/*.yaml")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no templates in deploy/aws (%v)", err)
	}
	out := map[string][]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var root yaml.Node
		if err := yaml.Unmarshal(raw, &root); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					k, v := n.Content[i], n.Content[i+1]
					if k.Value == "Name" && v.Kind == yaml.ScalarNode && strings.HasPrefix(v.Value, "CHATCHAT_") {
						out[filepath.Base(f)] = append(out[filepath.Base(f)], v.Value)
					}
				}
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(&root)
	}
	return out
}

// TestEnvOfTemplatesIsRead holds the AWS templates to the binary: every CHATCHAT_* variable
// a task definition sets is a setting the binary reads. (CHATCHAT_FCM_CREDENTIALS_JSON and
// CHATCHAT_MONGO_SECRET_ARN were set and read by nothing.)
func TestEnvOfTemplatesIsRead(t *testing.T) {
	known := settingNames()
	vars := templateVariables(t)
	total := 0
	for file, names := range vars {
		for _, n := range names {
			total++
			if !known[n] {
				t.Errorf("%s sets %s, which chatchat serve does not read", file, n)
			}
		}
	}
	// The walk must find the task definitions' variables, or this test checks nothing.
	if total < 20 || len(vars["ecs.yaml"]) == 0 {
		t.Fatalf("found only %d CHATCHAT_ variables (%v): the template walk is broken", total, vars)
	}
}

// TestEnvUnknownIsWarned: a CHATCHAT_ variable that no setting reads (a typo, a setting
// renamed, a template ahead of the binary) is named in a warning at start-up, without its
// value, and does not stop the server.
func TestEnvUnknownIsWarned(t *testing.T) {
	env := map[string]string{
		"CHATCHAT_DATA_DIR":          t.TempDir(),
		"CHATCHAT_LOG_FORMAT":        "text",
		"CHATCHAT_FCM_CREDENTIAL":    `{"private_key":"sekrit"}`,
		"CHATCHAT_REDIS_PASSWROD":    "sekrit",
		"CHATCHAT_ARGON2_MEMORY":     "1024",
		"HOME":                       "/root",
		"CHATCHATTER_NOT_OURS":       "x",
		"CHATCHAT_ARGON2_ITERATIONS": "1",
	}
	s, err := parseServe(nil, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"CHATCHAT_FCM_CREDENTIAL", "CHATCHAT_REDIS_PASSWROD"}; !slices.Equal(s.unknownEnv, want) {
		t.Errorf("unknown variables %v, want %v", s.unknownEnv, want)
	}
	var logs bytes.Buffer
	a, err := newApp(t.Context(), s, &logs)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	a.close()
	log := logs.String()
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "CHATCHAT_FCM_CREDENTIAL") || !strings.Contains(log, "CHATCHAT_REDIS_PASSWROD") {
		t.Errorf("no warning naming the unknown variables:\n%s", log)
	}
	if strings.Contains(log, "sekrit") {
		t.Errorf("the warning carries a value:\n%s", log)
	}
}

// TestEnvFCMCredentialsJSONIsRead: the key the AWS template injects into the notification
// tasks reaches FCM (a key of the wrong kind is refused at start rather than ignored).
func TestEnvFCMCredentialsJSONIsRead(t *testing.T) {
	s, err := parseServe(nil, map[string]string{
		"CHATCHAT_DATA_DIR":             t.TempDir(),
		"CHATCHAT_ROLES":                "notify",
		"CHATCHAT_FCM_CREDENTIALS_JSON": `{"type":"external_account","audience":"x","token_url":"http://127.0.0.1:1/"}`,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(t.Context(), s, io.Discard)
	if err == nil {
		a.close()
		t.Fatal("newApp succeeded: CHATCHAT_FCM_CREDENTIALS_JSON was not read")
	}
	if !strings.Contains(err.Error(), "not a service-account key") {
		t.Errorf("newApp: %v, want the key refused", err)
	}
}
