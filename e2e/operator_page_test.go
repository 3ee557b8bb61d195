package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"swarmbox/internal/testenv"
)

// chromiumContext starts headless Chromium with a profile of its own (so a context is one
// browser's cookies) and a window of width × height, and returns its context; it ends with the
// test.
func chromiumContext(t *testing.T, chromium string, width, height int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(width, height))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// addOperator names an operator of the head-end (password on stdin).
func addOperator(t *testing.T, c *cloud, name, password string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "swarmbox-cloud"), "operator", "password", "-state", c.state, name)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("operator password: %v\n%s", err, out)
	}
}

// TestOperatorPage: a head-end with two real boxes in eu-west; one fetched a title from the
// server, the other from it. An operator signs in in headless Chromium and sees the region's
// figures as the boxes reported them: both boxes online, the server's share and the bound
// worked out here from `swarmbox-cloud transfers`, the server's bytes, the plan's age, the title
// wished by both with both holding it; the page reloads itself. A household's session is
// refused with a page that says so (403), and a browser signed in as nobody is sent to the
// operator's sign-in.
func TestOperatorPage(t *testing.T) {
	chromium := testenv.RequireTool(t, "chromium")
	c := startCloud(t)
	f := filepath.Join(t.TempDir(), "film")
	if err := os.WriteFile(f, []byte(strings.Repeat("operator's live view ", 40000)), 0o600); err != nil {
		t.Fatal(err)
	}
	film, sealed := c.ingest(t, f, "Evening Film", "file")
	b1 := startBox(t, c, 1)
	b1.cmd(t, "wish", film)
	b1.waitComplete(t, film)
	b2 := startBox(t, c, 2)
	b2.cmd(t, "wish", film)
	b2.waitComplete(t, film)
	addOperator(t, c, "ops", "night shift password")
	setPassword(t, c, "household-1", "correct horse battery")

	// What the page must show, from the boxes' reports once both have reported completion.
	var server, delivered, most int64
	waitFor(t, "both boxes to report the film", 30*time.Second, func() bool {
		var r transfersJSON
		if err := json.Unmarshal([]byte(c.cmd(t, "transfers", "-json")), &r); err != nil {
			t.Fatal(err)
		}
		server, delivered, most = 0, 0, 0
		for _, tr := range r.Transfers {
			server += tr.BytesFromServer
			delivered += tr.BytesFromServer + tr.BytesFromPeers
			most = max(most, tr.BytesFromServer+tr.BytesFromPeers)
		}
		return len(r.Transfers) == 2 && delivered >= 2*sealed
	})
	if server >= delivered {
		t.Fatalf("the second box fetched from the server too (%d of %d bytes): no peer bytes to show", server, delivered)
	}
	wantShare := fmt.Sprintf("%.1f %%", 100*float64(server)/float64(delivered))
	wantBound := fmt.Sprintf("%.1f %%", 100*float64(min(most, sealed))/float64(delivered))

	// Nobody signed in: sent to the operator's sign-in.
	ctx := chromiumContext(t, chromium, 1280, 900)
	var where string
	if err := chromedp.Run(ctx, chromedp.Navigate(c.url+"/operator"), chromedp.WaitVisible(`#name`, chromedp.ByQuery), chromedp.Location(&where)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(where, "/operator/signin") {
		t.Fatalf("anonymous browser at %s, want the operator's sign-in", where)
	}
	cell := func(region, class string, out *string) chromedp.Action {
		return chromedp.Text(fmt.Sprintf(`tr[data-region=%q] td.%s`, region, class), out, chromedp.ByQuery)
	}
	var online, offline, share, bound, planAge, deadlines, serverBytes, title, wishes, holders, asOf string
	err := chromedp.Run(ctx,
		chromedp.SendKeys("#name", "ops", chromedp.ByQuery),
		chromedp.SendKeys("#password", "night shift password", chromedp.ByQuery),
		chromedp.Click(`//main//button[@type="submit"]`),
		chromedp.WaitVisible(`//h1[contains(., "Live view")]`),
		chromedp.Navigate(c.url+"/operator?region=eu-west&refresh=2"),
		chromedp.WaitVisible(`//h1[contains(., "Live view: eu-west")]`),
		cell("eu-west", "online", &online), cell("eu-west", "offline", &offline),
		cell("eu-west", "share", &share), cell("eu-west", "bound", &bound),
		cell("eu-west", "plan-age", &planAge), cell("eu-west", "deadlines", &deadlines),
		chromedp.AttributeValue(`tr[data-region="eu-west"] td.server`, "title", &serverBytes, nil, chromedp.ByQuery),
		chromedp.Text(`table.titles[data-region="eu-west"] tbody th`, &title, chromedp.ByQuery),
		chromedp.Text(`table.titles[data-region="eu-west"] tbody td.wishes`, &wishes, chromedp.ByQuery),
		chromedp.Text(`table.titles[data-region="eu-west"] tbody td.holders`, &holders, chromedp.ByQuery),
		chromedp.Text(`#as-of`, &asOf, chromedp.ByQuery),
		saveScreen("web-operator.png"),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, got, want string }{
		{"boxes online", online, "2"}, {"boxes offline", offline, "0"},
		{"server share", share, wantShare}, {"bound", bound, wantBound},
		{"server bytes", serverBytes, fmt.Sprintf("%d bytes", server)},
		{"deadlines met", deadlines, "—"},
		{"top title", title, "Evening Film"}, {"wishes", wishes, "2"}, {"holders", holders, "2"},
	} {
		if strings.TrimSpace(c.got) != c.want {
			t.Errorf("%s: the page shows %q, want %q", c.what, c.got, c.want)
		}
	}
	if !regexp.MustCompile(`^\d+ (s|min)$`).MatchString(planAge) {
		t.Errorf("plan age %q: want the age of the plan the head-end published", planAge)
	}
	// Live: the page reloads itself and shows figures of a later moment.
	waitFor(t, "the page to reload itself with later figures", 20*time.Second, func() bool {
		var now string
		err := chromedp.Run(ctx, chromedp.Text(`#as-of`, &now, chromedp.ByQuery)) // fails while the page reloads: try again
		return err == nil && strings.HasPrefix(now, "Figures at ") && now != asOf
	})

	// A household's session: refused with a page that says why.
	hctx := chromiumContext(t, chromium, 1280, 900)
	var refusal string
	err = chromedp.Run(hctx,
		chromedp.Navigate(c.url+"/signin"),
		chromedp.SendKeys("#account", "household-1", chromedp.ByQuery),
		chromedp.SendKeys("#password", "correct horse battery", chromedp.ByQuery),
		chromedp.Click(`//main//button[@type="submit"]`),
		chromedp.WaitVisible(`//h1[contains(., "Account household-1")]`),
		chromedp.Navigate(c.url+"/operator"),
		chromedp.WaitVisible(`p.error`, chromedp.ByQuery),
		chromedp.Text(`p.error`, &refusal, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(refusal, "You are signed in as household household-1") {
		t.Fatalf("household at /operator: %q", refusal)
	}
	// The same refusal's status, and a malformed parameter's, as a plain HTTP client sees them.
	hb := signIn(t, c.url, "household-1", "correct horse battery")
	if code, body := hb.get("/operator"); code != http.StatusForbidden || !strings.Contains(body, "This page is for the operator") {
		t.Fatalf("household at /operator: status %d", code)
	}
	jar, _ := cookiejar.New(nil)
	ob := &browser{t: t, base: c.url, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	_, page := ob.get("/operator/signin")
	if code, page := ob.post("/operator/signin", page, url.Values{"name": {"ops"}, "password": {"night shift password"}}); code != 200 || !strings.Contains(page, "Live view") {
		t.Fatalf("operator sign-in over HTTP: %d", code)
	}
	for _, bad := range []struct {
		query string
		code  int
		says  string
	}{
		{"?refresh=0", 400, "refresh &#34;0&#34;: give whole seconds from 2 to 3600"},
		{"?region=atlantis", 404, "No region &#34;atlantis&#34; has boxes; the regions are: eu-west."},
		{"?top=x", 400, "top &#34;x&#34;: give a number of titles from 1 to 20"},
	} {
		if code, body := ob.get("/operator" + bad.query); code != bad.code || !strings.Contains(body, bad.says) {
			t.Errorf("%s: status %d, want %d saying %q", bad.query, code, bad.code, bad.says)
		}
	}
}

// saveScreen saves the page as docs/screens/NAME.
func saveScreen(name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var png []byte
		if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
			return err
		}
		if err := os.MkdirAll(screens, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(screens, name), png, 0o644)
	})
}

// TestGrafanaDashboard: docs/grafana/swarmbox.json is a dashboard Grafana can import (its
// panels laid out, each with a Prometheus query), and every metric its queries name is one a
// live head-end with a synced box exports on /metrics.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "grafana", "swarmbox.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	exprs := checkDashboard(t, d)
	c := startCloud(t)
	startBox(t, c, 1)
	var exported map[string]bool
	waitFor(t, "the region's figures and plan on /metrics", 30*time.Second, func() bool {
		_, body := (&browser{t: t, base: c.url, c: http.DefaultClient}).get("/metrics")
		exported = sampleNames(body)
		return exported["swarmbox_region_plan_age_seconds"] && exported["swarmbox_region_boxes"]
	})
	for _, e := range exprs {
		names := exprMetrics(e)
		if len(names) == 0 {
			t.Errorf("query %q names no metric", e)
		}
		for _, n := range names {
			if !exported[n] {
				t.Errorf("query %q names %s, which the head-end does not export", e, n)
			}
		}
	}
}

// dashboard is the part of Grafana's dashboard JSON model the check reads.
type dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Panels        []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
		GridPos struct{ H, W, X, Y int } `json:"gridPos"`
		Targets []struct {
			Expr  string `json:"expr"`
			RefID string `json:"refId"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// checkDashboard checks the dashboard's shape and returns every query it runs.
func checkDashboard(t *testing.T, d dashboard) []string {
	t.Helper()
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 30 || len(d.Panels) == 0 {
		t.Fatalf("uid %q, title %q, schemaVersion %d, %d panels: not an importable dashboard", d.UID, d.Title, d.SchemaVersion, len(d.Panels))
	}
	var exprs []string
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if p.ID <= 0 || ids[p.ID] || p.Title == "" || !slices.Contains([]string{"timeseries", "stat", "gauge", "table", "bargauge"}, p.Type) {
			t.Errorf("panel %d %q: want a unique id, a title and a known type (got %q)", p.ID, p.Title, p.Type)
		}
		ids[p.ID] = true
		if p.Datasource.Type != "prometheus" || p.Datasource.UID == "" {
			t.Errorf("panel %q: datasource %+v, want a Prometheus one", p.Title, p.Datasource)
		}
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 || g.Y < 0 {
			t.Errorf("panel %q: grid position %+v outside Grafana's 24 columns", p.Title, g)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			if strings.TrimSpace(q.Expr) == "" || q.RefID == "" {
				t.Errorf("panel %q: a target without expr or refId", p.Title)
			}
			exprs = append(exprs, q.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			if s, ok := q["query"].(string); ok {
				exprs = append(exprs, s)
			}
		} else if s, ok := v.Query.(string); ok && v.Type == "query" {
			exprs = append(exprs, s)
		}
	}
	return exprs
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers  = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promNumbers   = regexp.MustCompile(`\b[0-9][0-9.]*(?:[eE][+-]?[0-9]+)?(?:ms|[smhdwy])*\b`)
	promIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	promOperators = []string{"and", "or", "unless", "bool", "offset", "inf", "nan"}
)

// exprMetrics names the metrics a PromQL query (or Grafana's label_values(METRIC, LABEL))
// reads: the identifiers that are not functions, label matchers, grouping labels, keywords or
// numbers.
func exprMetrics(expr string) []string {
	s := promStrings.ReplaceAllString(expr, " ")
	s = promMatchers.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	s = promNumbers.ReplaceAllString(s, " ")
	if m := regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`).FindStringSubmatch(s); m != nil {
		return []string{m[1]}
	}
	var out []string
	for _, m := range promIdent.FindAllStringSubmatch(s, -1) {
		if m[1] != "" || slices.Contains(promOperators, strings.ToLower(m[0])) {
			continue
		}
		out = append(out, m[0])
	}
	return out
}

func TestExprMetrics(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{`swarmbox_region_server_share{region=~"$region"}`, "swarmbox_region_server_share"},
		{`sum by (source) (swarmbox_region_received_bytes{region=~"$region"})`, "swarmbox_region_received_bytes"},
		{`histogram_quantile(0.95, sum by (le) (rate(swarmbox_plan_round_seconds_bucket[5m])))`, "swarmbox_plan_round_seconds_bucket"},
		{`a / on (region) b > bool 0.5`, "a b"},
		{`label_values(swarmbox_region_boxes, region)`, "swarmbox_region_boxes"},
		{`rate(x[1m]) offset 5m`, "x"},
		{`y > 1e3 * 2.5`, "y"},
	} {
		if got := strings.Join(exprMetrics(c.expr), " "); got != c.want {
			t.Errorf("%s: %q, want %q", c.expr, got, c.want)
		}
	}
}

// sampleNames are the names of the samples in a Prometheus text exposition.
func sampleNames(exposition string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(exposition, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			out[line[:i]] = true
		}
	}
	return out
}

// TestOperatorStaffCommands: swarmbox-cloud operator adds, changes and removes staff in
// STATE/operators; each bad input is refused with a message and a non-zero exit, changing
// nothing.
func TestOperatorStaffCommands(t *testing.T) {
	c := &cloud{state: t.TempDir()}
	file := filepath.Join(c.state, "operators")
	addOperator(t, c, "ann", "first password")
	addOperator(t, c, "bob", "second password")
	before, err := os.ReadFile(file)
	if err != nil || len(strings.Split(strings.TrimSpace(string(before)), "\n")) != 2 {
		t.Fatalf("operators file after two: %q %v", before, err)
	}
	runIn := func(stdin string, args ...string) (string, int) {
		cmd := exec.Command(filepath.Join(binDir, "swarmbox-cloud"), append([]string{"operator"}, append(args, "-state", c.state)...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	for _, bad := range []struct {
		stdin string
		args  []string
		says  string
	}{
		{"", nil, "operator needs a subcommand"},
		{"", []string{"promote", "ann"}, "operator needs a subcommand"},
		{"long enough pw\n", []string{"password"}, "give one operator name"},
		{"long enough pw\n", []string{"password", "Ann Smith"}, "operator name \"Ann Smith\""},
		{"short\n", []string{"password", "carl"}, "at least 8 characters"},
		{"", []string{"remove", "carl"}, "no operator \"carl\""},
	} {
		if out, code := runIn(bad.stdin, bad.args...); code == 0 || !strings.Contains(out, bad.says) {
			t.Errorf("operator %v: exit %d, %q; want an error saying %q", bad.args, code, out, bad.says)
		}
	}
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Fatalf("refused commands changed the file:\n%s\nwas\n%s", after, before)
	}
	if out, code := runIn("", "remove", "ann"); code != 0 || !strings.Contains(out, "operator ann removed") {
		t.Fatalf("remove: %d %q", code, out)
	}
	if after, _ := os.ReadFile(file); strings.Contains(string(after), "ann ") || !strings.Contains(string(after), "bob ") {
		t.Fatalf("after removing ann: %q", after)
	}
}
