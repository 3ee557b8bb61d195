package firmware

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"swarmbox/cloud/headend/headendtest"
	"swarmbox/internal/testenv"
	"swarmbox/storage"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// boxWithTitle makes a registered box whose catalog replica lists the head-end's title and
// whose disk holds its container, complete.
func boxWithTitle(t *testing.T, h *headendtest.Headend) *API {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	id, err := st.EnsureIdentity(ctx, h.URL, headendtest.Account)
	if err != nil {
		t.Fatal(err)
	}
	c := cloudclient.New(h.URL, id.SignKey)
	reg, err := c.Register(ctx, id.Account, id.KEMKey.PublicKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetRegistered(ctx, reg.HeadendKey); err != nil {
		t.Fatal(err)
	}
	cat, raw, err := c.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.SaveCatalog(ctx, cat.Version, raw)
	it := h.Items[0]
	b, _ := os.ReadFile(h.Repo.Path(it.ID))
	os.WriteFile(st.ContainerPath(it.ID), b, 0o600)
	st.AddItem(ctx, it.ID, it.InfoHash, it.Torrent, it.Pieces, time.Now())
	st.UpdateItem(ctx, it.ID, it.Pieces, true, 0, int64(len(b)), time.Now())
	return &API{Store: st, Now: time.Now}
}

func TestDBusAPI(t *testing.T) {
	plain := make([]byte, 200_000)
	rand.Read(plain)
	h := headendtest.New(t, headendtest.Title{Name: "Film", Category: "Films/Drama", Price: 300, Data: plain})
	api := boxWithTitle(t, h)
	// The daemon sets Account from its syncs; here the test does, before the service starts.
	var acct atomic.Pointer[protocol.AccountInfo]
	api.Account = func() (protocol.AccountInfo, bool) {
		if a := acct.Load(); a != nil {
			return *a, true
		}
		return protocol.AccountInfo{}, false
	}
	addr := testenv.DBusDaemon(t)

	srvConn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer srvConn.Close()
	svc, err := ServeDBus(srvConn, api, "")
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()

	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	obj := conn.Object(DBusName, DBusPath)
	call := func(method string, out []any, args ...any) error {
		t.Helper()
		c := obj.Call(DBusInterface+"."+method, 0, args...)
		if c.Err != nil {
			return c.Err
		}
		return c.Store(out...)
	}
	errName := func(err error) string {
		if e, ok := err.(dbus.Error); ok {
			return e.Name
		}
		return fmt.Sprintf("%T %v", err, err)
	}
	id := h.Items[0].ID.String()

	t.Run("introspection lists methods and signals", func(t *testing.T) {
		var xml string
		if err := obj.Call("org.freedesktop.DBus.Introspectable.Introspect", 0).Store(&xml); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{DBusInterface, "Catalog", "Categories", "Item", "Wishlist", "SetWishlist", "MoveWish", "RemoveWish", "Buy", "Play", "Stop", "Status", "Account", `signal name="Progress"`, `signal name="ItemState"`} {
			if !strings.Contains(xml, want) {
				t.Errorf("introspection lacks %q", want)
			}
		}
	})
	t.Run("catalog and item", func(t *testing.T) {
		var cat []CatalogEntry
		if err := call("Catalog", []any{&cat}); err != nil || len(cat) != 1 || cat[0].ID != id || cat[0].Title != "Film" || cat[0].Category != "films/drama" {
			t.Fatalf("catalog %+v, %v", cat, err)
		}
		var it ItemEntry
		if err := call("Item", []any{&it}, id); err != nil || it.State != StateReadyToBuy || it.Category != "films/drama" {
			t.Fatalf("item %+v, %v; want ready to buy, in films/drama", it, err)
		}
		if err := call("Item", []any{&it}, "nothex"); errName(err) != "org.swarmbox.Error.InvalidArgs" {
			t.Fatalf("bad id: %v", err)
		}
		if err := call("Item", []any{&it}, strings.Repeat("0", 32)); errName(err) != "org.swarmbox.Error.UnknownItem" {
			t.Fatalf("unknown id: %v", err)
		}
	})
	t.Run("categories", func(t *testing.T) {
		for _, c := range []struct {
			kind, want, errName string
		}{
			{"", "[{films 1} {films/drama 1}]", ""},
			{"video", "[{films 1} {films/drama 1}]", ""},
			{"audio", "[]", ""},
			{"hologram", "", "org.swarmbox.Error.InvalidArgs"},
		} {
			var cats []CategoryEntry
			err := call("Categories", []any{&cats}, c.kind)
			if c.errName != "" {
				if errName(err) != c.errName {
					t.Errorf("Categories(%q): %v, want %s", c.kind, err, c.errName)
				}
				continue
			}
			if err != nil || fmt.Sprint(cats) != c.want {
				t.Errorf("Categories(%q) = %v, %v; want %s", c.kind, cats, err, c.want)
			}
		}
	})
	t.Run("wishlist", func(t *testing.T) {
		other := strings.Repeat("ab", 16)
		if err := call("SetWishlist", nil, []string{other, id}); err != nil {
			t.Fatal(err)
		}
		if err := call("MoveWish", nil, id, int32(1)); err != nil {
			t.Fatal(err)
		}
		var w []string
		if err := call("Wishlist", []any{&w}); err != nil || !slices.Equal(w, []string{id, other}) {
			t.Fatalf("after move: %v, %v", w, err)
		}
		if err := call("RemoveWish", nil, other); err != nil {
			t.Fatal(err)
		}
		call("Wishlist", []any{&w})
		if !slices.Equal(w, []string{id}) {
			t.Fatalf("after remove: %v", w)
		}
		if err := call("MoveWish", nil, id, int32(0)); errName(err) != "org.swarmbox.Error.InvalidArgs" {
			t.Fatalf("position 0: %v", err)
		}
	})
	t.Run("play refuses before buying", func(t *testing.T) {
		var url string
		if err := call("Play", []any{&url}, id); errName(err) != "org.swarmbox.Error.NotBought" {
			t.Fatalf("play unbought: %v", err)
		}
	})
	t.Run("buy, then play with seeking, then stop", func(t *testing.T) {
		var lic string
		var expires, charged, balance int64
		if err := call("Buy", []any{&lic, &expires, &charged, &balance}, id, false); err != nil {
			t.Fatal(err)
		}
		if lic == "" || charged != 300 || balance != headendtest.Credit-300 || expires <= time.Now().Unix() {
			t.Fatalf("buy: license %q expires %d charged %d balance %d", lic, expires, charged, balance)
		}
		var it ItemEntry
		call("Item", []any{&it}, id)
		if it.State != StateBought {
			t.Fatalf("state after buying: %q", it.State)
		}
		var url string
		if err := call("Play", []any{&url}, id); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(url, "http://127.0.0.1:") {
			t.Fatalf("play URL %q is not loopback", url)
		}
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Range", "bytes=100000-100099")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, plain[100000:100100]) {
			t.Fatalf("seek: status %d, %d bytes, equal %v", resp.StatusCode, len(got), bytes.Equal(got, plain[100000:100100]))
		}
		if err := call("Stop", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := http.Get(url); err == nil {
			t.Fatal("playback URL still served after Stop")
		}
	})
	t.Run("account", func(t *testing.T) {
		var status string
		var balance int64
		if err := call("Account", []any{&status, &balance}); errName(err) != "org.swarmbox.Error.AccountUnknown" {
			t.Fatalf("Account before any sync: %v, want AccountUnknown", err)
		}
		acct.Store(&protocol.AccountInfo{Status: "active", BalanceCents: 1234})
		if err := call("Account", []any{&status, &balance}); err != nil || status != "active" || balance != 1234 {
			t.Fatalf("Account = %q, %d, %v", status, balance, err)
		}
	})
	t.Run("status", func(t *testing.T) {
		var box, account, headendURL string
		var items []StatusEntry
		if err := call("Status", []any{&box, &account, &headendURL, &items}); err != nil {
			t.Fatal(err)
		}
		if account != headendtest.Account || headendURL != h.URL || len(items) != 1 || !items[0].Complete {
			t.Fatalf("status: %s %s %s %+v", box, account, headendURL, items)
		}
	})
	t.Run("progress signal", func(t *testing.T) {
		if err := conn.AddMatchSignal(dbus.WithMatchInterface(DBusInterface), dbus.WithMatchMember("Progress")); err != nil {
			t.Fatal(err)
		}
		ch := make(chan *dbus.Signal, 4)
		conn.Signal(ch)
		svc.Progress(h.Items[0].ID, 3, 7, 10, 20)
		select {
		case s := <-ch:
			if s.Name != DBusInterface+".Progress" || len(s.Body) != 5 || s.Body[0] != id || s.Body[1] != int32(3) || s.Body[4] != int64(20) {
				t.Fatalf("signal %s %v", s.Name, s.Body)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no Progress signal")
		}
	})
}

func TestDBusNameIsExclusive(t *testing.T) {
	addr := testenv.DBusDaemon(t)
	h := headendtest.New(t, headendtest.Title{Name: "Film", Data: []byte("x")})
	api := boxWithTitle(t, h)
	a, _ := dbus.Connect(addr)
	defer a.Close()
	b, _ := dbus.Connect(addr)
	defer b.Close()
	if _, err := ServeDBus(a, api, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := ServeDBus(b, api, ""); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Fatalf("second box on the same name: %v", err)
	}
}
