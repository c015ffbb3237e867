package aws_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// cfnLintHint says how to get the linter; scripts/test.sh prints the same.
const cfnLintHint = "pipx install cfn-lint, or pip install cfn-lint"

// TestCfnLint runs cfn-lint on every template. cfn-lint comes from PyPI, which not every
// machine can reach, so without it the test is skipped, saying so, rather than failing the
// whole suite; the template invariants (template_test.go) run either way, and
// scripts/test.sh repeats the skip in its summary, where `go test` without -v would hide it.
func TestCfnLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skipf("SKIPPED: CloudFormation template lint: cfn-lint is not installed (%s); the template invariants tests run without it", cfnLintHint)
	}
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates found (%v)", err)
	}
	// One run for all files (cfn-lint takes seconds to start); its findings name the file.
	out, err := exec.CommandContext(t.Context(), bin, append([]string{"--"}, files...)...).CombinedOutput()
	if err != nil {
		t.Errorf("cfn-lint %v: %v\n%s", files, err, out)
	}
}
