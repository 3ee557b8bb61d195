package firmware

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"

	"swarmbox/cloud/headend/headendtest"
	"swarmbox/firmware/boxbus"
	"swarmbox/internal/testenv"
	"swarmbox/storage"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
	"swarmbox/sync/transfer"
)

// boxWithTitle makes a registered box whose catalog replica lists the head-end's title and
// whose disk holds its container, complete.
func boxWithTitle(t *testing.T, h *headendtest.Headend) *API {
	t.Helper()
	ctx := context.Background()
	st := registeredStore(t, h, nil)
	it := h.Items[0]
	b, _ := os.ReadFile(h.Repo.Path(it.ID))
	os.WriteFile(st.ContainerPath(it.ID), b, 0o600)
	m, err := transfer.ParseMeta(it.Torrent)
	if err != nil {
		t.Fatal(err)
	}
	st.AddItem(ctx, it.ID, it.InfoHash, it.Torrent, it.Pieces, m.Length, time.Now())
	st.UpdateItem(ctx, it.ID, it.Pieces, true, 0, int64(len(b)), time.Now())
	return NewAPI(st, Options{})
}

// registeredStore opens a box's store in a test folder with the given quotas, registers the box
// with h (an enrollment token) and saves h's catalog as its replica.
func registeredStore(t *testing.T, h *headendtest.Headend, quotas map[string]int64) *storage.Store {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.SetQuotas(quotas); err != nil {
		t.Fatal(err)
	}
	id, err := st.EnsureIdentity(ctx, h.URL, headendtest.Account)
	if err != nil {
		t.Fatal(err)
	}
	c := cloudclient.New(h.URL, id.SignKey)
	reg, err := c.Register(ctx, h.Enroll(t), id.KEMKey.PublicKey().Bytes())
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
	if _, err := st.SaveCatalog(ctx, cat.Version, raw); err != nil {
		t.Fatal(err)
	}
	return st
}

// serveOnBus serves api on a private bus daemon and returns a client of it.
func serveOnBus(t *testing.T, api *API) (*boxbus.Client, *dbus.Conn) {
	t.Helper()
	addr := testenv.DBusDaemon(t)
	srvConn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srvConn.Close() })
	svc, err := ServeDBus(srvConn, api, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return boxbus.NewClient(conn, ""), conn
}

func TestDBusAPI(t *testing.T) {
	plain := make([]byte, 200_000)
	rand.Read(plain)
	h := headendtest.New(t, headendtest.Title{Name: "Film", Category: "Films/Drama", Price: 300, Data: plain},
		headendtest.Title{Name: "Other", Category: "Films/Drama", Price: 100, Data: []byte("other")})
	api := boxWithTitle(t, h)
	box, conn := serveOnBus(t, api)
	ctx := context.Background()
	refused := func(err error, name boxbus.ErrorName) bool { return errors.Is(err, boxbus.Refusal(name)) }
	id, other := h.Items[0].ID.String(), h.Items[1].ID.String()

	t.Run("introspection has named arguments, signals and properties", func(t *testing.T) {
		var xml string
		if err := conn.Object(boxbus.Name, boxbus.Path).Call("org.freedesktop.DBus.Introspectable.Introspect", 0).Store(&xml); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{boxbus.Interface, `<method name="Items">`, `<arg name="item" type="s" direction="in">`, `<signal name="ItemChanged">`,
			`<arg name="bytes_from_peers" type="x">`, `<property name="NowPlaying" type="s" access="read">`, "org.freedesktop.DBus.Properties"} {
			if !strings.Contains(xml, want) {
				t.Errorf("introspection lacks %q", want)
			}
		}
	})
	t.Run("catalog, item and items", func(t *testing.T) {
		cat, err := box.Catalog(ctx)
		i := slices.IndexFunc(cat, func(c boxbus.Title) bool { return c.ID == id })
		if err != nil || len(cat) != 2 || i < 0 || cat[i].Title != "Film" || cat[i].Category != "films/drama" {
			t.Fatalf("catalog %+v, %v", cat, err)
		}
		it, err := box.Item(ctx, id)
		if err != nil || it.State != boxbus.ReadyToBuy || it.Category != "films/drama" || it.Pieces == 0 || it.Pieces != it.TotalPieces {
			t.Fatalf("item %+v, %v; want ready to buy, complete, in films/drama", it, err)
		}
		all, err := box.Items(ctx)
		if err != nil || len(all) != 2 || all[i].State != boxbus.ReadyToBuy || all[1-i].ID != other || all[1-i].State != boxbus.NotWished {
			t.Fatalf("items %+v, %v", all, err)
		}
		if _, err := box.Item(ctx, "nothex"); !refused(err, boxbus.ErrInvalidArgs) {
			t.Fatalf("bad id: %v", err)
		}
		if _, err := box.Item(ctx, strings.Repeat("0", 32)); !refused(err, boxbus.ErrUnknownItem) {
			t.Fatalf("unknown id: %v", err)
		}
	})
	t.Run("wrong argument types are refused, not converted", func(t *testing.T) {
		obj := conn.Object(boxbus.Name, boxbus.Path)
		for _, c := range []struct {
			method string
			args   []any
		}{
			{boxbus.MethodItem, []any{int32(5)}},
			{boxbus.MethodItem, []any{id, id}},
			{boxbus.MethodMoveWish, []any{id, int64(1)}},
			{boxbus.MethodMoveWish, []any{id, "1"}},
			{boxbus.MethodWishlist, []any{id}},
			{boxbus.MethodBuy, []any{id, int32(0)}},
		} {
			err := obj.Call(c.method, 0, c.args...).Err
			var de dbus.Error
			if !errors.As(err, &de) || de.Name != boxbus.DBusInvalidArgs {
				t.Errorf("%s%v: %v, want %s", c.method, c.args, err, boxbus.DBusInvalidArgs)
			}
		}
	})
	t.Run("categories", func(t *testing.T) {
		for _, c := range []struct {
			kind, want string
			refusal    boxbus.ErrorName
		}{
			{"", "[{films 2} {films/drama 2}]", ""},
			{"video", "[{films 2} {films/drama 2}]", ""},
			{"audio", "[]", ""},
			{"hologram", "", boxbus.ErrInvalidArgs},
		} {
			cats, err := box.Categories(ctx, c.kind)
			if c.refusal != "" {
				if !refused(err, c.refusal) {
					t.Errorf("Categories(%q): %v, want %s", c.kind, err, c.refusal)
				}
				continue
			}
			if err != nil || fmt.Sprint(cats) != c.want {
				t.Errorf("Categories(%q) = %v, %v; want %s", c.kind, cats, err, c.want)
			}
		}
	})
	t.Run("wishlist", func(t *testing.T) {
		if err := box.SetWishlist(ctx, []string{other, id}); err != nil {
			t.Fatal(err)
		}
		if err := box.MoveWish(ctx, id, 1); err != nil {
			t.Fatal(err)
		}
		if w, err := box.Wishlist(ctx); err != nil || !slices.Equal(w, []string{id, other}) {
			t.Fatalf("after move: %v, %v", w, err)
		}
		if err := box.RemoveWish(ctx, other); err != nil {
			t.Fatal(err)
		}
		if w, _ := box.Wishlist(ctx); !slices.Equal(w, []string{id}) {
			t.Fatalf("after remove: %v", w)
		}
		if err := box.MoveWish(ctx, id, 0); !refused(err, boxbus.ErrInvalidArgs) {
			t.Fatalf("position 0: %v", err)
		}
		if err := box.SetWishlist(ctx, []string{id, strings.Repeat("ab", 16)}); !refused(err, boxbus.ErrUnknownItem) {
			t.Fatalf("an id the catalog does not list: %v, want UnknownItem", err)
		}
		if err := box.MoveWish(ctx, strings.Repeat("ab", 16), 1); !refused(err, boxbus.ErrUnknownItem) {
			t.Fatalf("moving an id the catalog does not list: %v, want UnknownItem", err)
		}
		if w, _ := box.Wishlist(ctx); !slices.Equal(w, []string{id}) {
			t.Fatalf("after refusals: %v", w)
		}
	})
	t.Run("play refuses before buying", func(t *testing.T) {
		if _, err := box.Play(ctx, id); !refused(err, boxbus.ErrNotBought) {
			t.Fatalf("play unbought: %v", err)
		}
	})
	t.Run("buy, then play with seeking, then stop", func(t *testing.T) {
		p, err := box.Buy(ctx, id, false)
		if err != nil {
			t.Fatal(err)
		}
		if p.Licence == "" || p.ChargedCents != 300 || p.BalanceCents != headendtest.Credit-300 || p.Expires <= time.Now().Unix() {
			t.Fatalf("buy: %+v", p)
		}
		if it, _ := box.Item(ctx, id); it.State != boxbus.Bought || it.LicenceKind != "owned" || it.Expires != p.Expires {
			t.Fatalf("after buying: %+v", it)
		}
		url, err := box.Play(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(url, "http://127.0.0.1:") {
			t.Fatalf("play URL %q is not loopback", url)
		}
		if it, _ := box.Item(ctx, id); it.State != boxbus.Playing {
			t.Fatalf("while playing: %q", it.State)
		}
		if v, err := box.Property(ctx, boxbus.PropNowPlaying); err != nil || v.Value() != id {
			t.Fatalf("NowPlaying while playing: %v, %v", v, err)
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
		if err := box.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := http.Get(url); err == nil {
			t.Fatal("playback URL still served after Stop")
		}
		if api.NowPlaying() != "" {
			t.Fatalf("NowPlaying after Stop: %q", api.NowPlaying())
		}
	})
	t.Run("account", func(t *testing.T) {
		if _, _, err := box.Account(ctx); !refused(err, boxbus.ErrAccountUnknown) {
			t.Fatalf("Account before any sync: %v, want AccountUnknown", err)
		}
		api.setAccount(protocol.AccountInfo{Status: "active", BalanceCents: 1234, Currency: "EUR", RentalSeconds: 48 * 3600})
		if status, balance, err := box.Account(ctx); err != nil || status != "active" || balance != 1234 {
			t.Fatalf("Account = %q, %d, %v", status, balance, err)
		}
		// The head-end's terms reach the TV as properties, announced by the service's own
		// goroutine: wait for them (UI-2).
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			s, err := box.Status(ctx)
			if err == nil && s.Terms == (boxbus.Terms{Currency: "EUR", RentalSeconds: 48 * 3600}) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Status terms %+v, %v: want EUR and 48 h", s.Terms, err)
			}
		}
	})
	t.Run("status and holdings", func(t *testing.T) {
		s, err := box.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.Account != headendtest.Account || s.Headend != h.URL || len(s.Items) != 1 || !s.Items[0].Complete {
			t.Fatalf("status: %+v", s)
		}
		d, err := box.Holdings(ctx)
		if err != nil || len(d.Holdings) != 1 || d.Holdings[0].ID != id || d.Holdings[0].Area != "wishlist" || len(d.Areas) == 0 {
			t.Fatalf("holdings: %+v, %v", d, err)
		}
	})
	t.Run("changes are signalled", func(t *testing.T) {
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		events, err := box.Follow(fctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := box.SetWishlist(ctx, []string{other}); err != nil {
			t.Fatal(err)
		}
		var sawItem, sawWishlist bool
		for ev := range events {
			if ev.Item != nil && ev.Item.Item == other && ev.Item.State == boxbus.Wished {
				sawItem = true
			}
			if v, ok := ev.Properties[boxbus.PropWishlist]; ok && fmt.Sprint(v.Value()) == fmt.Sprint([]string{other}) {
				sawWishlist = true
			}
			if sawItem && sawWishlist {
				return
			}
		}
		t.Fatalf("after SetWishlist: ItemChanged seen %v, Wishlist PropertiesChanged seen %v", sawItem, sawWishlist)
	})
}

// TestDBusMethodsMatchTheContract: the exported object's methods are exactly boxbus.Methods,
// argument types and directions included (the names come from the contract).
func TestDBusMethodsMatchTheContract(t *testing.T) {
	got := introspect.Methods(&dbusObject{})
	key := func(ms []introspect.Method) []string {
		var out []string
		for _, m := range ms {
			sig := m.Name + "("
			for _, a := range m.Args {
				sig += a.Direction + " " + a.Type + ","
			}
			out = append(out, sig+")")
		}
		slices.Sort(out)
		return out
	}
	if g, w := key(got), key(boxbus.Methods); !slices.Equal(g, w) {
		t.Errorf("exported methods:\n%s\nthe contract:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
}

// TestSubscribeNeverBlocks: a subscriber that does not read is cut off (its channel closed)
// once its buffer is full; publishing goes on for the others.
func TestSubscribeNeverBlocks(t *testing.T) {
	var a API
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow, fast := a.Subscribe(ctx), a.Subscribe(ctx)
	got := 0
	for i := range subscriberBuffer + 10 {
		a.hub.publish(Change{Kind: CatalogChanged, CatalogVersion: int64(i)})
		if c, ok := <-fast; !ok || c.CatalogVersion != int64(i) {
			t.Fatalf("change %d: the reading subscriber got %+v, %v", i, c, ok)
		}
		got++
	}
	n := 0
	for range slow {
		n++
	}
	if n != subscriberBuffer {
		t.Errorf("the slow subscriber got %d changes before it was cut off, want %d", n, subscriberBuffer)
	}
	if got != subscriberBuffer+10 {
		t.Errorf("the reading subscriber got %d changes, want %d", got, subscriberBuffer+10)
	}
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
