package e2e

import (
	"strings"
	"testing"
)

// TestOperatorAccountCommands: the account lifecycle through swarmbox-cloud, and each bad input
// refused with a message and a non-zero exit, changing nothing.
func TestOperatorAccountCommands(t *testing.T) {
	c := &cloud{state: t.TempDir()}
	c.cmd(t, "account", "create", "-region", "eu", "-credit", "500", "alice")
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"topup", "-amount", "250"}, "active\tregion=eu\tbalance=750 cents"},
		{[]string{"suspend"}, "suspended"},
		{[]string{"resume"}, "active"},
		{[]string{"close"}, "closed\tregion=eu\tbalance=0 cents"},
	} {
		if out := c.cmd(t, append(append([]string{"account"}, step.args...), "alice")...); !strings.Contains(out, step.want) {
			t.Fatalf("account %v: %q, want %q", step.args, out, step.want)
		}
	}
	show := c.cmd(t, "account", "show", "alice")
	for _, want := range []string{"topup\t500", "topup\t250", "payout\t-750"} {
		if !strings.Contains(strings.Join(strings.Fields(show), "\t"), want) {
			t.Errorf("ledger lacks %q:\n%s", want, show)
		}
	}
	c.cmd(t, "account", "create", "-region", "eu", "bob")
	for _, bad := range []struct {
		args []string
		msg  string
	}{
		{[]string{"account", "resume", "alice"}, "closed is final"},
		{[]string{"account", "topup", "-amount", "-5", "bob"}, "positive"},
		{[]string{"account", "topup", "-amount", "5", "nobody"}, "not found"},
		{[]string{"account", "create", "-region", "eu", "bob"}, "exist"},
		{[]string{"account", "frobnicate", "bob"}, "unknown account subcommand"},
		{[]string{"regions", "nothex"}, "item"},
		{[]string{"keys", "spin"}, "rotate"},
	} {
		out, errs, code := run(t, "swarmbox-cloud", append(bad.args, "-state", c.state)...)
		if code == 0 || !strings.Contains(errs, bad.msg) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want an error saying %q", bad.args, code, out, errs, bad.msg)
		}
	}
	if out := c.cmd(t, "account", "show", "bob"); !strings.Contains(out, "active\tregion=eu\tbalance=0 cents") {
		t.Fatalf("bob after refused commands: %q", out)
	}
}
