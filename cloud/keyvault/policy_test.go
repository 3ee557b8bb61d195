package keyvault

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"swarmbox/media"
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
		{"suspended (c49)", Policy{}, Request{AccountStatus: "suspended", BoxRegion: "eu"}, ReasonAccountInactive},
		{"closed (c49)", Policy{}, Request{AccountStatus: "closed", BoxRegion: "eu"}, ReasonAccountInactive},
		{"item allowed in the region", Policy{}, Request{AccountStatus: "active", BoxRegion: "eu", ItemRegions: []string{"us", "eu"}}, ""},
		{"item not in the region (c50)", Policy{}, Request{AccountStatus: "active", BoxRegion: "eu", ItemRegions: []string{"us"}}, ReasonItemRegion},
		{"network in the box's region", Policy{regionMap}, Request{AccountStatus: "active", BoxRegion: "eu", Source: eu}, ""},
		{"longest prefix wins", Policy{regionMap}, Request{AccountStatus: "active", BoxRegion: "uk", Source: uk}, ""},
		{"network of another region (c50)", Policy{regionMap}, Request{AccountStatus: "active", BoxRegion: "eu", Source: uk}, ReasonNetworkRegion},
		{"network on no line of the map (c50)", Policy{regionMap}, Request{AccountStatus: "active", BoxRegion: "eu", Source: other}, ReasonUnknownNetwork},
		{"IPv4-mapped IPv6 source", Policy{regionMap}, Request{AccountStatus: "active", BoxRegion: "eu", Source: netip.MustParseAddr("::ffff:198.18.1.1")}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.policy.Check(c.req)
			var ref *Refusal
			switch {
			case c.reason == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.reason != "" && (!errors.As(err, &ref) || ref.Reason != c.reason):
				t.Fatalf("err %v, want refusal %s", err, c.reason)
			}
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

// memKeys is a KeyStore in memory for the rotation test.
type memKeys struct {
	m    map[media.ItemID][]byte
	fail bool
}

func (k *memKeys) WrappedKeys(context.Context) (map[media.ItemID][]byte, error) {
	out := map[media.ItemID][]byte{}
	for id, w := range k.m {
		out[id] = w
	}
	return out, nil
}

func (k *memKeys) RewrapKeys(_ context.Context, _, n map[media.ItemID][]byte) error {
	if k.fail {
		return errors.New("database went away")
	}
	k.m = n
	return nil
}

func TestRotateRewrapsEveryKey(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvMasterKey, "")
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys := &memKeys{m: map[media.ItemID][]byte{}}
	plain := map[media.ItemID]media.ContentKey{}
	for i := range 3 {
		id := media.ItemID{byte(i + 1)}
		k, _ := media.NewContentKey()
		plain[id], keys.m[id] = k, v.Wrap(id, k)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "master.key"))
	old, _ := keys.WrappedKeys(context.Background())

	keys.fail = true
	if _, err := v.Rotate(context.Background(), dir, keys); err == nil {
		t.Fatal("rotation succeeded although the store failed")
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "master.key")); string(after) != string(before) {
		t.Fatal("a failed rotation changed the master key")
	}
	keys.fail = false
	n, err := v.Rotate(context.Background(), dir, keys)
	if err != nil || n != 3 {
		t.Fatalf("rotate: %d %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "master.key.next")); !os.IsNotExist(err) {
		t.Fatal("master.key.next left behind")
	}
	reopened, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for id, w := range keys.m {
		if got, err := reopened.Unwrap(id, w); err != nil || got != plain[id] {
			t.Fatalf("item %s after rotation: %v", id, err)
		}
		if _, err := reopened.Unwrap(id, old[id]); !errors.Is(err, ErrUnwrap) {
			t.Fatal("the old master key still opens a key")
		}
	}
	// A head-end that was running during the rotation picks up the new key file by itself.
	if got, err := v.Unwrap(media.ItemID{1}, keys.m[media.ItemID{1}]); err != nil || got != plain[media.ItemID{1}] {
		t.Fatalf("running vault after rotation: %v", err)
	}
}

func TestRotateInterruptedKeepsKeysReadable(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvMasterKey, "")
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := media.ItemID{1}
	k, _ := media.NewContentKey()
	// A crash after the store was re-wrapped but before master.key.next was renamed.
	next := make([]byte, 32)
	next[0] = 7
	if err := writeSecret(filepath.Join(dir, "master.key.next"), next); err != nil {
		t.Fatal(err)
	}
	nv, _ := New(next, v.signing)
	reopened, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := reopened.Unwrap(id, nv.Wrap(id, k)); err != nil || got != k {
		t.Fatalf("key wrapped under the interrupted rotation's key: %v", err)
	}
	if got, err := reopened.Unwrap(id, v.Wrap(id, k)); err != nil || got != k {
		t.Fatalf("key wrapped under the old key: %v", err)
	}
}

func TestRotateRefusesEnvironmentKey(t *testing.T) {
	t.Setenv(EnvMasterKey, strings.Repeat("ab", 32))
	v, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Rotate(context.Background(), t.TempDir(), &memKeys{}); err == nil {
		t.Fatal("rotated a key that lives in the environment")
	}
}
