// Package web is the customers' catalog in the browser (requirement CAT-4): browse and search titles by
// kind, item pages, sign-in, the customer's boxes and their wishlists (add, remove, reorder; the
// box adopts the change on its next sync), purchase history and active rentals. Pages are
// server-rendered with html/template and work without JavaScript; every control has a label
// and is reachable by keyboard.
//
// Security: passwords are argon2id hashes; the session cookie is HttpOnly, SameSite=Lax and
// Secure when served over HTTPS, and only a hash of its token is stored; every form carries a
// CSRF token (the session's, or before sign-in a double-submit cookie's); failed sign-ins are
// limited per account and per client address; a customer sees and changes only the boxes of
// their own account.
package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/protocol"
	"swarmbox/vocab"
)

//go:embed templates
var files embed.FS

// Config wires the web catalog.
type Config struct {
	Store *store.Store
	// Secure marks cookies Secure (set it when the head-end is reached over HTTPS).
	Secure     bool
	SessionTTL time.Duration // how long a sign-in lasts; default 12 h
	// MaxFailures failed sign-ins to one account from one address, and 4× that from one address
	// or to one account, cost nothing within FailureWindow; after them each failure doubles the
	// wait before the next attempt, from 1 s up to FailureWindow, or up to AccountDelay for an
	// account's failures from every address together (limiter.go). Nobody is locked out.
	// Defaults 5, 15 min, 10 s.
	MaxFailures   int
	FailureWindow time.Duration
	AccountDelay  time.Duration
	// OnSignInFailure is called for every failed or refused sign-in (for metrics).
	OnSignInFailure func()
	Now             func() time.Time
	Log             *slog.Logger
	// Currency is every price's and balance's currency, ISO 4217 (default
	// vocab.DefaultCurrency): the head-end's, as the boxes show it.
	Currency string
	// RentalWindow is how long a rental plays, said on the item page (the head-end's; 0 says
	// nothing).
	RentalWindow time.Duration
	// Operators, Tokens and Fleet make the operator's page (operator.go): the staff who may
	// sign in, the key that signs their sessions, and the figures the page shows. Without all
	// three /operator says it is not set up.
	Operators *OperatorFile
	Tokens    Tokens
	Fleet     Figures
}

// Server serves the pages.
type Server struct {
	cfg    Config
	pages  map[string]*template.Template
	delays signInDelays
}

const (
	sessionCookie = "swarmbox_session"
	preCSRFCookie = "swarmbox_csrf"
)

// New parses the templates and makes a Server.
func New(cfg Config) (*Server, error) {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = 15 * time.Minute
	}
	if cfg.AccountDelay <= 0 {
		cfg.AccountDelay = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Currency == "" {
		cfg.Currency = vocab.DefaultCurrency
	}
	if cfg.OnSignInFailure == nil {
		cfg.OnSignInFailure = func() {}
	}
	funcs := template.FuncMap{
		// The words of package vocab, as on the TV: prices with the currency, "free" for none.
		"money":  func(c int64) string { return vocab.Amount(c, cfg.Currency) },
		"price":  func(c int64) string { return vocab.Price(c, cfg.Currency) },
		"rental": vocab.RentalPrice,
		"rentalLength": func() string {
			if cfg.RentalWindow <= 0 {
				return ""
			}
			return vocab.Span(cfg.RentalWindow)
		},
		"bytes": humanBytes,
		"short": func(id fmt.Stringer) string { return id.String()[:8] },
		"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"inc":   func(i int) int { return i + 1 },
		"shelf": func(c string) string {
			if c == "" {
				return protocol.Uncategorised
			}
			return c
		},
	}
	s := &Server{cfg: cfg, pages: map[string]*template.Template{},
		delays: newSignInDelays(cfg.Store, cfg.MaxFailures, cfg.FailureWindow, cfg.AccountDelay)}
	for _, p := range []string{"catalog", "item", "signin", "account", "box", "error"} {
		t, err := template.New(p).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", p, err)
		}
		s.pages[p] = t
	}
	if err := s.operatorPages(funcs); err != nil {
		return nil, err
	}
	return s, nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.catalog)
	mux.HandleFunc("GET /items/{id}", s.item)
	mux.HandleFunc("GET /signin", s.signinPage)
	mux.HandleFunc("POST /signin", s.signin)
	mux.HandleFunc("POST /signout", s.signout)
	mux.HandleFunc("GET /account", s.account)
	mux.HandleFunc("GET /boxes/{id}", s.box)
	mux.HandleFunc("POST /boxes/wishlist", s.wishlist)
	mux.HandleFunc("GET /pair", s.pairPage)
	mux.HandleFunc("POST /pair", s.pair)
	mux.HandleFunc("POST /boxes/unpair", s.unpair)
	s.operatorRoutes(mux)
	mux.HandleFunc("GET /static/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=3600")
		b, _ := files.ReadFile("templates/style.css")
		w.Write(b)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, http.StatusNotFound, "Page not found")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		mux.ServeHTTP(w, r)
	})
}

// view is what every page template gets.
type view struct {
	Title   string
	Account string // signed-in customer, "" if none
	CSRF    string
	Flash   string
	Error   string
	Data    any
}

func (s *Server) render(w http.ResponseWriter, status int, page string, v any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	var b strings.Builder
	if err := s.pages[page].ExecuteTemplate(&b, "layout", v); err != nil {
		s.cfg.Log.Error("render page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, sess *store.Session, status int, msg string) {
	v := view{Title: msg, Error: msg}
	if sess != nil {
		v.Account, v.CSRF = sess.Account, sess.CSRF
	}
	s.render(w, status, "error", v)
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, sess *store.Session, err error) {
	s.cfg.Log.Error("web request failed", "path", r.URL.Path, "err", err)
	s.fail(w, r, sess, http.StatusInternalServerError, "Something went wrong on our side; please try again later.")
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// session returns the signed-in customer's session, or nil.
func (s *Server) session(r *http.Request) *store.Session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil
	}
	sess, err := s.cfg.Store.Session(r.Context(), hashToken(c.Value), s.cfg.Now())
	if err != nil {
		return nil
	}
	return &sess
}

// requireSession answers with the sign-in page's address when nobody is signed in.
func (s *Server) requireSession(w http.ResponseWriter, r *http.Request) *store.Session {
	sess := s.session(r)
	if sess == nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
	}
	return sess
}

// checkCSRF compares the form's token with the expected one in constant time.
func checkCSRF(r *http.Request, want string) bool {
	got := r.PostFormValue("csrf")
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (s *Server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode}
}

// catalogData is the catalog page.
type catalogData struct {
	Query, Kind, Category string
	Categories            []string // to choose from: every category and parent, then uncategorised
	Items                 []protocol.CatalogItem
}

func (s *Server) catalog(w http.ResponseWriter, r *http.Request) {
	sess := s.session(r)
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	kind := r.URL.Query().Get("kind")
	if kind != "" && kind != protocol.KindVideo && kind != protocol.KindAudio && kind != protocol.KindFile {
		s.fail(w, r, sess, http.StatusBadRequest, "Unknown kind: choose video, audio or other files")
		return
	}
	category := r.URL.Query().Get("category")
	if category != protocol.Uncategorised {
		var err error
		if category, err = protocol.ParseCategory(category); err != nil {
			s.fail(w, r, sess, http.StatusBadRequest, "Unknown category: choose one from the list")
			return
		}
	}
	c, err := s.cfg.Store.Catalog(r.Context())
	if err != nil {
		s.internal(w, r, sess, err)
		return
	}
	d := catalogData{Query: q, Kind: kind, Category: category, Categories: categories(c.Items), Items: []protocol.CatalogItem{}}
	for _, it := range c.Items {
		if (kind == "" || it.Kind == kind) && protocol.InCategory(it.Category, category) &&
			(q == "" || strings.Contains(strings.ToLower(it.Title), strings.ToLower(q))) {
			d.Items = append(d.Items, it)
		}
	}
	s.render(w, http.StatusOK, "catalog", s.view(sess, "Catalog", d))
}

// categories lists the categories of items and their parents, sorted, then "uncategorised"
// when some item has none.
func categories(items []protocol.CatalogItem) []string {
	seen := map[string]bool{}
	none := false
	for _, it := range items {
		if it.Category == "" {
			none = true
		}
		for c := it.Category; c != ""; c = protocol.CategoryParent(c) {
			seen[c] = true
		}
	}
	out := slices.Sorted(maps.Keys(seen))
	if none {
		out = append(out, protocol.Uncategorised)
	}
	return out
}

func (s *Server) view(sess *store.Session, title string, data any) view {
	v := view{Title: title, Data: data}
	if sess != nil {
		v.Account, v.CSRF = sess.Account, sess.CSRF
	}
	return v
}

func (s *Server) item(w http.ResponseWriter, r *http.Request) {
	sess := s.session(r)
	id, err := media.ParseItemID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, sess, http.StatusBadRequest, "That is not an item id")
		return
	}
	it, err := s.cfg.Store.Item(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, sess, http.StatusNotFound, "No such title")
		return
	}
	if err != nil {
		s.internal(w, r, sess, err)
		return
	}
	regions, err := s.cfg.Store.ItemRegions(r.Context(), id)
	if err != nil {
		s.internal(w, r, sess, err)
		return
	}
	d := struct {
		Item    protocol.CatalogItem
		Regions []string
		Boxes   []store.BoxState
	}{Item: it.CatalogItem, Regions: regions}
	if sess != nil {
		if d.Boxes, err = s.cfg.Store.AccountBoxes(r.Context(), sess.Account); err != nil {
			s.internal(w, r, sess, err)
			return
		}
	}
	s.render(w, http.StatusOK, "item", s.view(sess, it.Title, d))
}

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	s.signinForm(w, r, http.StatusOK, "", "")
}

// signinForm shows the form with a fresh double-submit CSRF token.
func (s *Server) signinForm(w http.ResponseWriter, r *http.Request, status int, account, msg string) {
	tok := randomToken()
	http.SetCookie(w, s.cookie(preCSRFCookie, tok, 3600))
	v := view{Title: "Sign in", CSRF: tok, Error: msg, Data: struct{ Account string }{account}}
	s.render(w, status, "signin", v)
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, nil, http.StatusBadRequest, "The form could not be read")
		return
	}
	pre, err := r.Cookie(preCSRFCookie)
	if err != nil || !checkCSRF(r, pre.Value) {
		s.cfg.OnSignInFailure()
		s.signinForm(w, r, http.StatusForbidden, "", "The form expired or did not come from this site; please sign in again.")
		return
	}
	account, password := strings.TrimSpace(r.PostFormValue("account")), r.PostFormValue("password")
	now := s.cfg.Now()
	addr := clientAddr(r)
	if next := s.delays.next(r.Context(), account, addr, now); next.After(now) {
		wait := int(next.Sub(now).Seconds() + 0.999) // whole seconds, rounded up
		s.cfg.OnSignInFailure()
		w.Header().Set("Retry-After", fmt.Sprint(wait))
		s.signinForm(w, r, http.StatusTooManyRequests, account, fmt.Sprintf("Too many failed sign-ins; wait %d seconds and try again.", wait))
		return
	}
	hash, err := s.cfg.Store.PasswordHash(r.Context(), account)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internal(w, r, nil, err)
		return
	}
	known := err == nil
	if !known {
		hash = dummyHash
	}
	ok, err := CheckPassword(hash, password)
	if err != nil {
		s.internal(w, r, nil, err)
		return
	}
	if !ok || !known {
		s.delays.fail(r.Context(), account, addr, now)
		s.cfg.OnSignInFailure()
		s.cfg.Log.Info("sign-in failed", "account", account, "from", addr)
		s.signinForm(w, r, http.StatusUnauthorized, account, "Wrong account or password.")
		return
	}
	s.delays.succeed(r.Context(), account, addr)
	tok := randomToken()
	sess := store.Session{Account: account, CSRF: randomToken(), Expires: now.Add(s.cfg.SessionTTL)}
	if err := s.cfg.Store.CreateSession(r.Context(), hashToken(tok), sess); err != nil {
		s.internal(w, r, nil, err)
		return
	}
	http.SetCookie(w, s.cookie(sessionCookie, tok, int(s.cfg.SessionTTL.Seconds())))
	http.SetCookie(w, s.cookie(preCSRFCookie, "", -1))
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// postSession authenticates a form post: signed in, and the form's CSRF token matches.
func (s *Server) postSession(w http.ResponseWriter, r *http.Request) *store.Session {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, nil, http.StatusBadRequest, "The form could not be read")
		return nil
	}
	sess := s.session(r)
	if sess == nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return nil
	}
	if !checkCSRF(r, sess.CSRF) {
		s.fail(w, r, sess, http.StatusForbidden, "The form did not come from this site (CSRF token missing or wrong); reload the page and try again.")
		return nil
	}
	return sess
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	sess := s.postSession(w, r)
	if sess == nil {
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.cfg.Store.DeleteSession(r.Context(), hashToken(c.Value), s.cfg.Now()); err != nil {
			s.internal(w, r, sess, err)
			return
		}
	}
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	sess := s.requireSession(w, r)
	if sess == nil {
		return
	}
	s.accountPage(w, r, sess, http.StatusOK, "", "")
}

// accountPage renders the account page with a message: flash for what just worked, errMsg for
// what did not (answered with status).
func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, sess *store.Session, status int, flash, errMsg string) {
	ctx := r.Context()
	acct, err := s.cfg.Store.Account(ctx, sess.Account)
	if err != nil {
		s.internal(w, r, sess, err)
		return
	}
	d := struct {
		Acct     store.Account
		Boxes    []store.BoxState
		Licenses []store.LicenseRow
		Rentals  []store.LicenseRow
		Ledger   []store.LedgerEntry
		Pairings []store.AuditEntry
	}{Acct: acct}
	if d.Boxes, err = s.cfg.Store.AccountBoxes(ctx, sess.Account); err == nil {
		if d.Licenses, err = s.cfg.Store.Licenses(ctx, sess.Account); err == nil {
			if d.Ledger, err = s.cfg.Store.Ledger(ctx, sess.Account); err == nil {
				d.Pairings, err = s.cfg.Store.PairingLog(ctx, sess.Account, 20)
			}
		}
	}
	if err != nil {
		s.internal(w, r, sess, err)
		return
	}
	now := s.cfg.Now()
	for _, l := range d.Licenses {
		if l.Kind == media.Rental && l.Expires.After(now) {
			d.Rentals = append(d.Rentals, l)
		}
	}
	v := s.view(sess, "My account", d)
	v.Flash, v.Error = flash, errMsg
	s.render(w, status, "account", v)
}

// ownBox finds one of the customer's boxes, answering the request itself when it cannot; another
// account's box is "not found" like a box that does not exist, so nobody learns which boxes exist.
func (s *Server) ownBox(w http.ResponseWriter, r *http.Request, sess *store.Session, raw string) (store.BoxState, bool) {
	id, err := media.ParseBoxID(raw)
	if err == nil {
		boxes, err := s.cfg.Store.AccountBoxes(r.Context(), sess.Account)
		if err != nil {
			s.internal(w, r, sess, err)
			return store.BoxState{}, false
		}
		for _, b := range boxes {
			if b.ID == id {
				return b, true
			}
		}
	}
	s.fail(w, r, sess, http.StatusNotFound, "No such box on your account")
	return store.BoxState{}, false
}

// titled is a wishlist entry with its title.
type titled struct {
	ID    media.ItemID
	Title string
}

func (s *Server) box(w http.ResponseWriter, r *http.Request) {
	sess := s.requireSession(w, r)
	if sess == nil {
		return
	}
	b, ok := s.ownBox(w, r, sess, r.PathValue("id"))
	if !ok {
		return
	}
	c, err := s.cfg.Store.Catalog(r.Context())
	if err != nil {
		s.internal(w, r, sess, err)
		return
	}
	titles := map[media.ItemID]string{}
	for _, it := range c.Items {
		titles[it.ID] = it.Title
	}
	d := struct {
		Box      media.BoxID
		Wishlist []titled
		Others   []titled
	}{Box: b.ID}
	for _, id := range b.Wishlist {
		d.Wishlist = append(d.Wishlist, titled{id, titles[id]})
	}
	for _, it := range c.Items {
		if !slices.Contains(b.Wishlist, it.ID) {
			d.Others = append(d.Others, titled{it.ID, it.Title})
		}
	}
	v := s.view(sess, "Box "+b.ID.String()[:8], d)
	v.Flash = r.URL.Query().Get("saved")
	if v.Flash != "" {
		v.Flash = "Wishlist saved; the box picks it up on its next sync."
	}
	s.render(w, http.StatusOK, "box", v)
}

// editWishlist applies one browser action to a wishlist.
func editWishlist(list []media.ItemID, action string, item media.ItemID) ([]media.ItemID, error) {
	i := slices.Index(list, item)
	out := slices.Clone(list)
	switch action {
	case "add":
		if i < 0 {
			out = append(out, item)
		}
	case "remove":
		if i >= 0 {
			out = slices.Delete(out, i, i+1)
		}
	case "up":
		if i > 0 {
			out[i-1], out[i] = out[i], out[i-1]
		}
	case "down":
		if i >= 0 && i < len(out)-1 {
			out[i+1], out[i] = out[i], out[i+1]
		}
	default:
		return nil, fmt.Errorf("unknown action %q", action)
	}
	return out, nil
}

func (s *Server) wishlist(w http.ResponseWriter, r *http.Request) {
	sess := s.postSession(w, r)
	if sess == nil {
		return
	}
	b, ok := s.ownBox(w, r, sess, r.PostFormValue("box"))
	if !ok {
		return
	}
	item, err := media.ParseItemID(r.PostFormValue("item"))
	if err != nil {
		s.fail(w, r, sess, http.StatusBadRequest, "That is not an item id")
		return
	}
	if _, err := s.cfg.Store.Item(r.Context(), item); errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, sess, http.StatusNotFound, "No such title")
		return
	}
	action := r.PostFormValue("action")
	if _, err := editWishlist(nil, action, item); err != nil {
		s.fail(w, r, sess, http.StatusBadRequest, "Unknown wishlist action")
		return
	}
	// The list is read and written in one transaction: an edit made at the same time in another
	// browser is kept, not overwritten with the list this page showed.
	if _, err := s.cfg.Store.EditWishlist(r.Context(), sess.Account, b.ID, func(list []media.ItemID) ([]media.ItemID, error) {
		return editWishlist(list, action, item)
	}); errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, sess, http.StatusNotFound, "No such box on your account")
		return
	} else if err != nil {
		s.internal(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/boxes/"+b.ID.String()+"?saved=1", http.StatusSeeOther)
}
