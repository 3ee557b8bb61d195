package factory

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/headend/headendtest"
	"swarmbox/cloud/store"
	"swarmbox/internal/testenv"
	"swarmbox/media"
	"swarmbox/storage"
	"swarmbox/sync/protocol"
)

// newHeadend starts a head-end with four titles; households of the region wish for D most.
func newHeadend(t *testing.T) *headendtest.Headend {
	t.Helper()
	var titles []headendtest.Title
	for _, n := range []string{"A", "B", "C", "D"} {
		titles = append(titles, headendtest.Title{Name: n, Price: 100, Data: bytes.Repeat([]byte(n), 300_000)})
	}
	h := headendtest.New(t, titles...)
	pub, _, _ := ed25519.GenerateKey(nil)
	id := media.BoxIDFromKey(pub)
	ctx := context.Background()
	if _, err := h.Store.RegisterBox(ctx, store.Box{ID: id, Account: headendtest.Account, SignKey: pub, KEMKey: make([]byte, 32), Registered: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.SaveSync(ctx, id, "", protocol.SyncRequest{Wishlist: []media.ItemID{h.Items[3].ID, h.Items[0].ID, h.Items[2].ID}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	return h
}

func order(t *testing.T, h *headendtest.Headend, dir string, titles ...string) Order {
	return Order{BoxDir: dir, Headend: h.URL, Enroll: h.Enroll(t), Account: headendtest.Account, Titles: titles, Extra: 1, Repository: filepath.Dir(h.Repo.Path(h.Items[0].ID))}
}

// TestPreload: the chosen title and the forecast's best other title are copied into the preload
// area, recorded complete with every piece verified, reachable through the media folder, and the
// box is registered with the head-end's key pinned.
func TestPreload(t *testing.T) {
	h := newHeadend(t)
	dir := t.TempDir()
	var progress bytes.Buffer
	o := order(t, h, dir, "A")
	o.Progress = &progress
	res, err := Preload(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	a, d := h.Items[0], h.Items[3]
	if len(res.Items) != 2 || res.Items[0].ID != a.ID || res.Items[1].ID != d.ID {
		t.Fatalf("preloaded %+v, want A (chosen) then D (forecast)", res.Items)
	}
	if !strings.Contains(progress.String(), "[1/2] A") || !strings.Contains(progress.String(), "[2/2] D") {
		t.Errorf("progress:\n%s", progress.String())
	}
	ctx := context.Background()
	st, err := storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id, err := st.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !id.Registered || !id.HeadendKey.Equal(h.Vault.PublicKey()) || id.Account != headendtest.Account || id.Box != res.Box {
		t.Fatalf("identity %+v: want registered with the head-end's key pinned", id)
	}
	if _, err := h.Store.Box(ctx, id.Box); err != nil {
		t.Fatalf("the head-end does not know the box: %v", err)
	}
	for _, want := range []store.Item{a, d} {
		it, err := st.GetItem(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !it.Complete || it.Pieces != want.Pieces || it.Total != want.Pieces {
			t.Errorf("item %s: complete %v pieces %d/%d, want all %d", want.Title, it.Complete, it.Pieces, it.Total, want.Pieces)
		}
		got, err := os.ReadFile(st.ContainerPath(want.ID))
		if err != nil {
			t.Fatal(err)
		}
		orig, _ := os.ReadFile(h.Repo.Path(want.ID))
		if !bytes.Equal(got, orig) {
			t.Errorf("item %s: the container through the media folder differs from the repository's", want.Title)
		}
		if p := st.ContainerPath(want.ID); filepath.Dir(p) != st.PreloadDir() {
			t.Errorf("the box finds %s at %s, not in its preload area", want.Title, p)
		}
		for i := 0; i < want.Pieces; i++ {
			if known, done, err := st.PieceDone(ctx, want.InfoHash, i); err != nil || !known || !done {
				t.Fatalf("item %s piece %d not recorded complete: known %v done %v, %v", want.Title, i, known, done, err)
			}
		}
	}
	if _, raw, _ := st.Catalog(ctx); !bytes.Contains(raw, []byte(`"title":"D"`)) {
		t.Errorf("the box's catalog replica was not saved")
	}
}

// TestPreloadRefusals: an unknown title, a set that does not fit and a damaged repository copy
// are refused with a clear error, and the first two write nothing into the preload area.
func TestPreloadRefusals(t *testing.T) {
	h := newHeadend(t)
	cases := []struct {
		name  string
		edit  func(*Order)
		isErr error
		msg   string
		empty bool
	}{
		{"unknown title", func(o *Order) { o.Titles = []string{"A", "No Such Film"} }, ErrUnknownTitle, "No Such Film", true},
		{"full", func(o *Order) { o.Capacity = 500_000 }, ErrFull, "choose fewer titles", true},
		{"negative extra", func(o *Order) { o.Extra = -1 }, nil, "negative", true},
		{"no enrollment token", func(o *Order) { o.Enroll = "" }, nil, "enrollment token", true},
		{"made-up token", func(o *Order) { o.Enroll = "made-up" }, nil, "unknown, used up or expired", true},
		{"token of another household", func(o *Order) { o.Account = "nobody" }, nil, "not the order's", true},
		{"damaged container", func(o *Order) {
			p := h.Repo.Path(h.Items[1].ID)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			os.WriteFile(p, b, 0o600)
			o.Titles = []string{"B"}
		}, nil, "damaged", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			o := order(t, h, dir, "A")
			c.edit(&o)
			_, err := Preload(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), c.msg) || (c.isErr != nil && !errors.Is(err, c.isErr)) {
				t.Fatalf("error %v, want one saying %q", err, c.msg)
			}
			if files, _ := filepath.Glob(filepath.Join(dir, PreloadDir, "*")); c.empty && len(files) > 0 {
				t.Errorf("the preload area was written to: %v", files)
			}
			if files, _ := filepath.Glob(filepath.Join(dir, PreloadDir, "*.part")); len(files) > 0 {
				t.Errorf("a partial container was left behind: %v", files)
			}
			if st, err := storage.Open(context.Background(), dir); err == nil {
				defer st.Close()
				if items, err := st.Items(context.Background()); err != nil || slices.ContainsFunc(items, func(it storage.Item) bool { return it.ID == h.Items[1].ID }) {
					t.Errorf("the refused title B was recorded: %+v %v", items, err)
				}
			}
		})
	}
}

// TestPreloadImage writes the partitions of a GPT disk image without mounting anything; the
// preload partition's file system then holds the containers.
func TestPreloadImage(t *testing.T) {
	sfdisk := testenv.RequireTool(t, "sfdisk")
	testenv.RequireTool(t, "mke2fs")
	debugfs := testenv.RequireTool(t, "debugfs")
	h := newHeadend(t)
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 40<<20); err != nil {
		t.Fatal(err)
	}
	layout := "label: gpt\nstart=2048, size=8192, name=root\nsize=16384, name=preload\nsize=8192, name=media\nsize=8192, name=state\n"
	cmd := exec.Command(sfdisk, "-q", "--no-reread", "--no-tell-kernel", img)
	cmd.Stdin = strings.NewReader(layout)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v %s", err, out)
	}
	f, _ := os.Open(img)
	parts, err := ReadGPT(f)
	f.Close()
	if err != nil || len(parts) != 4 || parts[1].Name != "preload" || parts[1].Start != 10240*512 || parts[1].Size != 8<<20 {
		t.Fatalf("ReadGPT: %+v %v", parts, err)
	}
	res, err := PreloadImage(context.Background(), img, order(t, h, "", "A", "B"), false)
	if err != nil {
		t.Fatal(err)
	}
	// Again on the same image: it holds a box now, refused unless forced, and left as it was.
	before, _ := os.ReadFile(img)
	if _, err := PreloadImage(context.Background(), img, order(t, h, "", "C"), false); !errors.Is(err, ErrProvisioned) || !strings.Contains(err.Error(), "-force") {
		t.Fatalf("second preload: %v, want ErrProvisioned naming -force", err)
	}
	if after, _ := os.ReadFile(img); !bytes.Equal(before, after) {
		t.Fatal("a refused preload changed the image")
	}
	if _, err := PreloadImage(context.Background(), img, order(t, h, "", "A", "B"), true); err != nil {
		t.Fatalf("forced preload: %v", err)
	}
	fs := filepath.Join(t.TempDir(), "preload.ext4")
	src, _ := os.ReadFile(img)
	os.WriteFile(fs, src[parts[1].Start:parts[1].Start+parts[1].Size], 0o600)
	out, err := exec.Command(debugfs, "-R", "ls -l /", fs).CombinedOutput()
	if err != nil {
		t.Fatalf("debugfs: %v %s", err, out)
	}
	for _, it := range res.Items {
		if !strings.Contains(string(out), it.ID.String()+".sbx") {
			t.Errorf("the preload partition lacks %s:\n%s", it.Title, out)
		}
	}
}

// TestPreloadImageFull: titles that do not fit the image's preload partition are refused and
// the image is left as it was.
func TestPreloadImageFull(t *testing.T) {
	sfdisk := testenv.RequireTool(t, "sfdisk")
	h := newHeadend(t)
	img := filepath.Join(t.TempDir(), "disk.img")
	os.WriteFile(img, nil, 0o600)
	os.Truncate(img, 8<<20)
	cmd := exec.Command(sfdisk, "-q", "--no-reread", "--no-tell-kernel", img)
	cmd.Stdin = strings.NewReader("label: gpt\nstart=2048, size=2048, name=preload\nsize=2048, name=media\nsize=4096, name=state\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v %s", err, out)
	}
	before, _ := os.ReadFile(img)
	_, err := PreloadImage(context.Background(), img, order(t, h, "", "A", "B"), false)
	if !errors.Is(err, ErrFull) {
		t.Fatalf("error %v, want ErrFull", err)
	}
	if after, _ := os.ReadFile(img); !bytes.Equal(before, after) {
		t.Fatal("a refused preload changed the image")
	}
	if _, err := PreloadImage(context.Background(), filepath.Join(t.TempDir(), "none.img"), order(t, h, "", "A"), false); err == nil {
		t.Fatal("a missing image was accepted")
	}
}

func FuzzReadGPT(f *testing.F) {
	hdr := make([]byte, 2048)
	copy(hdr[512:], "EFI PART")
	f.Add(hdr)
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parts, err := ReadGPT(bytes.NewReader(b))
		for _, p := range parts {
			if err == nil && (p.Size <= 0 || p.Start < 0) {
				t.Fatalf("partition %+v", p)
			}
		}
	})
}

// BenchmarkPreload measures the factory's throughput on one 32 MiB title into a box state folder
// (identity, registration, catalog, forecast, the copy with every piece checked against the
// torrent, fsync, the record of every piece) against the baseline of copying the same sealed
// container with fsync ("copy"), in the same run: the ratio of their MB/s is the cost of
// everything the factory does beyond moving the bytes.
func BenchmarkPreload(b *testing.B) {
	data := make([]byte, 32<<20)
	for i := range data {
		data[i] = byte(i * 7 / 5) // sealed anyway: the plaintext's pattern does not matter
	}
	h := headendtest.New(b, headendtest.Title{Name: "Big", Kind: protocol.KindFile, Price: 100, Data: data})
	it := h.Items[0]
	src := h.Repo.Path(it.ID)
	fi, err := os.Stat(src)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(fi.Size())
		for b.Loop() {
			dst := filepath.Join(b.TempDir(), "copy.sbx")
			in, err := os.Open(src)
			if err != nil {
				b.Fatal(err)
			}
			out, err := os.Create(dst)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(out, in); err != nil {
				b.Fatal(err)
			}
			if err := out.Sync(); err != nil {
				b.Fatal(err)
			}
			in.Close()
			out.Close()
		}
	})
	b.Run("preload", func(b *testing.B) {
		b.SetBytes(fi.Size())
		for b.Loop() {
			o := Order{BoxDir: b.TempDir(), Headend: h.URL, Account: headendtest.Account, Titles: []string{"Big"}, Repository: filepath.Dir(src)}
			if _, err := Preload(context.Background(), o); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestFactoryPairsPreloadedBox: the factory registers the box with the order's enrollment
// token, so the box leaves paired to the ordering household (on the head-end and in the box's
// own store) and can buy from its first boot; the token is used up, so a second box cannot
// join the household with it.
func TestFactoryPairsPreloadedBox(t *testing.T) {
	h := newHeadend(t)
	ctx := context.Background()
	o := order(t, h, t.TempDir(), "A")
	res, err := Preload(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Store.Box(ctx, res.Box)
	if err != nil || b.Account != headendtest.Account || b.Paired.IsZero() || res.Account != headendtest.Account {
		t.Fatalf("head-end's box %+v (%v), result %+v: want paired to %s", b, err, res, headendtest.Account)
	}
	st, err := storage.Open(ctx, o.BoxDir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.Pairing(ctx)
	st.Close()
	if err != nil || !p.Paired || p.Account != headendtest.Account {
		t.Fatalf("box's own pairing %+v (%v), want paired to %s", p, err, headendtest.Account)
	}
	again := o
	again.BoxDir = t.TempDir()
	if _, err := Preload(ctx, again); err == nil || !strings.Contains(err.Error(), "used up") {
		t.Fatalf("a second box with the same one-box token: %v, want refused", err)
	}
}
