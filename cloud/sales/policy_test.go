package sales

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestPolicyRefusals(t *testing.T) {
	regionMap, err := ParseRegionMap(strings.NewReader("# operator networks\n198.18.0.0/16 eu\n198.18.7.0/24 uk\n\n198.19.0.0/16 us\n"))
	if err != nil {
		t.Fatal(err)
	}
	eu, uk, other := netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("198.18.7.9"), netip.MustParseAddr("10.1.1.1")
	for _, c := range []struct {
		name   string
		policy Policy
		req    Request
		reason string // "" = issued
	}{
		{"active, anywhere", Policy{}, Request{AccountStatus: "active", BoxRegion: "eu", Source: other}, ""},
		{"suspended (LIC-1)", Policy{}, Request{AccountStatus: "suspended", BoxRegion: "eu"}, ReasonAccountInactive},
		{"closed (LIC-1)", Policy{}, Request{AccountStatus: "closed", BoxRegion: "eu"}, ReasonAccountInactive},
		{"item allowed in the region", Policy{}, Request{AccountStatus: "active", BoxRegion: "eu", ItemRegions: []string{"us", "eu"}}, ""},
		{"item not in the region (LIC-2)", Policy{}, Request{AccountStatus: "active", BoxRegion: "eu", ItemRegions: []string{"us"}}, ReasonItemRegion},
		{"network in the box's region", Policy{regionMap}, Request{AccountStatus: "active", BoxRegion: "eu", Source: eu}, ""},
		{"longest prefix wins", Policy{regionMap}, Request{AccountStatus: "active", BoxRegion: "uk", Source: uk}, ""},
		{"network of another region (LIC-2)", Policy{regionMap}, Request{AccountStatus: "active", BoxRegion: "eu", Source: uk}, ReasonNetworkRegion},
		{"network on no line of the map (LIC-2)", Policy{regionMap}, Request{AccountStatus: "active", BoxRegion: "eu", Source: other}, ReasonUnknownNetwork},
		{"IPv4-mapped IPv6 source", Policy{regionMap}, Request{AccountStatus: "active", BoxRegion: "eu", Source: netip.MustParseAddr("::ffff:198.18.1.1")}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantRefusal(t, c.policy.Check(c.req), c.reason)
		})
	}
}

func TestParseRegionMapErrors(t *testing.T) {
	for _, bad := range []string{"198.18.0.0/16", "198.18.0.0/16 eu extra", "not-a-cidr eu", "198.18.0.0/33 eu"} {
		if _, err := ParseRegionMap(strings.NewReader(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseRegionMap(f *testing.F) {
	f.Add("198.18.0.0/16 eu\n# c\n::/0 any\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseRegionMap(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, n := range m {
			if !n.Prefix.IsValid() || n.Region == "" {
				t.Fatalf("bad entry %+v", n)
			}
		}
	})
}

// wantRefusal checks err is nil when reason is "", else a *Refusal for reason.
func wantRefusal(t *testing.T, err error, reason string) {
	t.Helper()
	var ref *Refusal
	switch {
	case reason == "" && err != nil:
		t.Fatalf("refused: %v", err)
	case reason != "" && (!errors.As(err, &ref) || ref.Reason != reason):
		t.Fatalf("err %v, want refusal %s", err, reason)
	}
}
