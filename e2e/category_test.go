package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOperatorCategoryCommands: a title is shelved at ingest and moved later through
// swarmbox-cloud; a bad category is refused with a message and a non-zero exit, and changes
// nothing (a refused ingest leaves no title and no container).
func TestOperatorCategoryCommands(t *testing.T) {
	c := &cloud{state: t.TempDir()}
	src := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(src, []byte("operator notes"), 0o600); err != nil {
		t.Fatal(err)
	}
	id, _ := c.ingest(t, src, "Notes", "file", "-category", " Documentary ")
	plain, _ := c.ingest(t, src, "Plain", "file")
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"category", id}, "documentary"},
		{[]string{"category", plain}, "uncategorised"},
		{[]string{"category", plain, "Music/Jazz"}, "music/jazz"},
		{[]string{"category", id, "uncategorised"}, "uncategorised"},
	} {
		if out := strings.TrimSpace(c.cmd(t, step.args...)); out != step.want {
			t.Fatalf("%v: %q, want %q", step.args, out, step.want)
		}
	}
	if out := c.cmd(t, "catalog"); !strings.Contains(out, "music/jazz") || !strings.Contains(out, "CATEGORY") {
		t.Fatalf("catalog without the categories:\n%s", out)
	}
	for _, bad := range []struct {
		args []string
		msg  string
	}{
		{[]string{"ingest", "-title", "T", "-kind", "file", "-category", "films//drama", src}, "empty name"},
		{[]string{"ingest", "-title", "T", "-kind", "file", "-category", "a/b/c", src}, "at most 2 levels"},
		{[]string{"ingest", "-title", "T", "-kind", "file", "-category", "drama!", src}, "not allowed"},
		{[]string{"category", plain, "jazz?"}, "not allowed"},
		{[]string{"category", strings.Repeat("0", 32), "kids"}, "not found"},
		{[]string{"category", "nothex", "kids"}, "item"},
	} {
		out, errs, code := run(t, "swarmbox-cloud", append(bad.args, "-state", c.state)...)
		if code == 0 || !strings.Contains(errs, bad.msg) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want an error saying %q", bad.args, code, out, errs, bad.msg)
		}
	}
	if out := strings.TrimSpace(c.cmd(t, "category", plain)); out != "music/jazz" {
		t.Fatalf("after refused commands: %q", out)
	}
	if out := c.cmd(t, "catalog"); strings.Count(out, "\n") != 3 {
		t.Fatalf("refused ingests added titles:\n%s", out)
	}
	if left, _ := filepath.Glob(filepath.Join(c.state, "repository", "*")); len(left) != 2 {
		t.Fatalf("repository holds %d files, want the 2 ingested containers", len(left))
	}
}
