package ui

import (
	"strings"
	"testing"
	"time"

	"swarmbox/firmware/boxbus"
)

// TestOwnedTitleNeverOfferedAgain: an owned title whose licence lapsed, or whose renewal the
// operator refused, is never offered for sale again: its page says why in a sentence; Home
// lists it as a licence to renew, not as an ended rental. An ended rental is still offered.
func TestOwnedTitleNeverOfferedAgain(t *testing.T) {
	refused := "account_inactive: the account is suspended: licenses and renewals need an active account"
	end := time.Now().Add(20 * 24 * time.Hour).Unix()
	for _, c := range []struct {
		name        string
		state       boxbus.State
		kind        string
		refusal     string
		want, avoid []string
	}{
		{"owned, renewing", boxbus.Bought, "owned", "", []string{"the box renews its licence by", "Play"}, []string{"Buy for", "Rent for"}},
		{"owned, renewal refused", boxbus.Bought, "owned", refused, []string{"the operator refused to renew it (the account is suspended", "Play"}, []string{"Buy for", "account_inactive"}},
		{"owned, lapsed offline", boxbus.Expired, "owned", "", []string{"lapsed while the box could not reach the operator", "Licence to renew"}, []string{"Buy for", "Rent for", "Rental ended"}},
		{"owned, lapsed after a refusal", boxbus.Expired, "owned", refused, []string{"the operator refused to renew its licence (the account is suspended", "call the operator"}, []string{"Buy for", "Rent for"}},
		{"rental ended", boxbus.Expired, "rental", "", []string{"Buy for", "Rent for", "Rental ended"}, []string{"Licence to renew"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			box := downloadingBox()
			box.set(1, c.state, 40, 40, 0, 9<<20)
			it := &box.items[1]
			it.LicenceKind, it.RenewalRefused, it.Expires = c.kind, c.refusal, end
			a := loaded(t, box)
			sim := console(a, 160, 50)
			home := strings.Join(onScreen(a, sim), "\n")
			a.push(newItem(a, it.ID))
			page := strings.Join(onScreen(a, sim), "\n")
			both := home + "\n" + page
			for _, w := range c.want {
				if !strings.Contains(both, w) {
					t.Errorf("neither Home nor the title's page says %q:\n%s", w, both)
				}
			}
			for _, w := range c.avoid {
				if strings.Contains(page, w) || (w == "Rental ended" && strings.Contains(home, w)) {
					t.Errorf("the screens say %q:\n%s", w, both)
				}
			}
		})
	}
}
