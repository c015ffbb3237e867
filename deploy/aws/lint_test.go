package aws_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCfnLint runs cfn-lint on every template. A machine without cfn-lint fails this test
// rather than skipping it: templates that were never linted must not pass as checked.
func TestCfnLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatalf("cfn-lint is not on PATH (%v): install it (pipx install cfn-lint, or pip install cfn-lint) - the CloudFormation templates must lint clean", err)
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
