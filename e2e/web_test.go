package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"swarmbox/internal/testenv"
)

// screens is where the browser test saves its screenshots (docs/screens in the repository).
var screens = filepath.Join("..", "docs", "screens")

// TestBrowserWishlistReachesBox: a customer signs in to the catalog in headless Chromium,
// searches, reorders their box's wishlist and adds a title; a real swarmboxd process adopts the
// new list on its next sync.
func TestBrowserWishlistReachesBox(t *testing.T) {
	chromium := testenv.RequireTool(t, "chromium")
	c := startCloud(t)
	var ids []string
	for _, title := range []string{"Night Train", "Sea Songs", "Night Owls"} {
		f := filepath.Join(t.TempDir(), strings.ReplaceAll(title, " ", "-"))
		if err := os.WriteFile(f, []byte(strings.Repeat(title+" ", 5000)), 0o600); err != nil {
			t.Fatal(err)
		}
		id, _ := c.ingest(t, f, title, "file")
		ids = append(ids, id)
	}
	b := startBox(t, c, 1)
	setPassword(t, c, "household-1", "correct horse battery")
	b.cmd(t, "wish", ids[0], ids[2]) // Night Train, then Night Owls — set on the TV
	boxWishlist := func() []string {
		var s struct {
			Wishlist []string `json:"wishlist"`
		}
		json.Unmarshal([]byte(b.cmd(t, "status", "-json")), &s)
		return s.Wishlist
	}

	ctx := chromiumContext(t, chromium, 1100, 800)
	shot := saveScreen
	var results, wishlist string
	err := chromedp.Run(ctx,
		chromedp.Navigate(c.url+"/signin"),
		chromedp.SendKeys("#account", "household-1", chromedp.ByQuery),
		chromedp.SendKeys("#password", "correct horse battery", chromedp.ByQuery),
		shot("web-signin.png"),
		chromedp.Click(`//main//button[@type="submit"]`),
		chromedp.WaitVisible(`//h1[contains(., "Account household-1")]`),
		shot("web-account.png"),
		chromedp.Navigate(c.url+"/"),
		chromedp.SendKeys("#q", "night", chromedp.ByQuery),
		chromedp.Click(`//form[@role="search"]//button`),
		chromedp.WaitVisible(`//p[contains(., "2 title(s)")]`),
		chromedp.Text("table tbody", &results, chromedp.ByQuery),
		shot("web-search.png"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(results, "Night Train") || !strings.Contains(results, "Night Owls") || strings.Contains(results, "Sea Songs") {
		t.Fatalf("search for night: %q", results)
	}
	// The box's own list reached the head-end: the box page shows it.
	err = chromedp.Run(ctx,
		chromedp.Navigate(c.url+"/account"),
		chromedp.Click(`//a[starts-with(., "Box ")]`),
		chromedp.WaitVisible(`//button[@aria-label="Move Night Owls up"]`),
		// Keyboard only: focus the button and press Enter.
		chromedp.Focus(`//button[@aria-label="Move Night Owls up"]`),
		chromedp.KeyEvent(kb.Enter),
		// Wait for the page the post returns, not the one still showing: only after the
		// move does Night Train (now second) have an up button. Waiting for text both
		// pages share let the next step grab a node of the old page as it went away.
		chromedp.WaitVisible(`//button[@aria-label="Move Night Train up"]`),
		chromedp.WaitVisible(`//p[@role="status"][contains(., "next sync")]`),
		chromedp.SetValue("#add-item", ids[1], chromedp.ByQuery),
		chromedp.Click(`//form[.//select[@id="add-item"]]//button`),
		chromedp.WaitVisible(`//ol[contains(., "Sea Songs")]`),
		chromedp.Text("ol.wishlist", &wishlist, chromedp.ByQuery),
		shot("web-wishlist.png"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if i, j, k := strings.Index(wishlist, "Night Owls"), strings.Index(wishlist, "Night Train"), strings.Index(wishlist, "Sea Songs"); !(i >= 0 && i < j && j < k) {
		t.Fatalf("wishlist on the page: %q", wishlist)
	}
	want := []string{ids[2], ids[0], ids[1]}
	waitFor(t, "the box to adopt the browser's wishlist", 30*time.Second, func() bool { return slices.Equal(boxWishlist(), want) })
	if !b.proc.logHas("wishlist changed in the browser adopted") {
		t.Error("the box did not log the adoption")
	}
}

// setPassword sets a customer's web password through the operator command (password on stdin).
func setPassword(t *testing.T, c *cloud, account, password string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "swarmbox-cloud"), "account", "password", "-state", c.state, account)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("account password: %v\n%s", err, out)
	}
}
