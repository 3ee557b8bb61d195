package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"swarmbox/cloud/fleet"
)

// The operator's page (OPS-1, OPS-2): the fleet's live figures, for the operator's staff only.
// Staff are named in an OperatorFile, apart from the households: a household's session never
// opens the page (403), and nobody signed in is sent to the operator's sign-in. An operator's
// session is a cookie of its own, on /operator only, signed with the head-end's token key
// (Tokens): it names the operator, its expiry and a fingerprint of the operator's password
// hash, so it holds across head-end instances and restarts, and ends when it expires, when the
// name leaves the file or when the password changes.

// Tokens makes and checks MACs over strings (the key vault's Token and CheckToken).
type Tokens interface {
	Token(parts ...string) string
	CheckToken(token string, parts ...string) bool
}

// Figures gives the fleet's figures (a fleet.Source).
type Figures interface {
	Figures(ctx context.Context) (fleet.Figures, error)
}

const operatorCookie = "swarmbox_operator"

// opView is what every operator template gets.
type opView struct {
	Title    string
	Operator string // signed-in operator, "" if none
	CSRF     string
	Error    string
	Refresh  int // seconds between reloads; 0: none
	Data     any
}

// operatorPages parses the operator's templates, which have a layout of their own.
func (s *Server) operatorPages(funcs template.FuncMap) error {
	funcs["percent"], funcs["times"] = percent, times
	for _, p := range []string{"operator", "operator_signin", "operator_error"} {
		t, err := template.New(p).Funcs(funcs).ParseFS(files, "templates/operator_layout.html", "templates/"+p+".html")
		if err != nil {
			return fmt.Errorf("template %s: %w", p, err)
		}
		s.pages[p] = t
	}
	return nil
}

// operatorRoutes adds the operator's routes to mux.
func (s *Server) operatorRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /operator", s.operatorPage)
	mux.HandleFunc("GET /operator/signin", func(w http.ResponseWriter, r *http.Request) {
		s.operatorSigninForm(w, http.StatusOK, "", "")
	})
	mux.HandleFunc("POST /operator/signin", s.operatorSignin)
	mux.HandleFunc("POST /operator/signout", s.operatorSignout)
	mux.HandleFunc("GET /static/operator.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=3600")
		b, _ := files.ReadFile("templates/operator.css")
		w.Write(b)
	})
}

func (s *Server) renderOp(w http.ResponseWriter, status int, page string, v opView) {
	s.render(w, status, page, v)
}

func (s *Server) operatorFail(w http.ResponseWriter, status int, operator, csrf, msg string) {
	s.renderOp(w, status, "operator_error", opView{Title: msg, Operator: operator, CSRF: csrf, Error: msg})
}

func (s *Server) operatorsReady(w http.ResponseWriter) bool {
	if s.cfg.Operators == nil || s.cfg.Tokens == nil || s.cfg.Fleet == nil {
		s.operatorFail(w, http.StatusNotFound, "", "",
			"The operator's page is not set up on this head-end: start it with swarmbox-cloud serve, which reads STATE/operators (add staff with swarmbox-cloud operator password NAME).")
		return false
	}
	return true
}

// fingerprint ties a session to the password hash it was opened with.
func fingerprint(hash string) string {
	h := sha256.Sum256([]byte("swarmbox operator session " + hash))
	return hex.EncodeToString(h[:8])
}

// operatorCookieValue is NAME.EXPIRES.MAC.
func (s *Server) operatorCookieValue(name, hash string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return name + "." + exp + "." + s.cfg.Tokens.Token("operator-session", name, exp, fingerprint(hash))
}

// operator returns the signed-in operator's name and the CSRF token of their forms, or "".
func (s *Server) operator(r *http.Request) (name, csrf string) {
	c, err := r.Cookie(operatorCookie)
	if err != nil || len(c.Value) > 200 {
		return "", ""
	}
	f := strings.Split(c.Value, ".")
	if len(f) != 3 {
		return "", ""
	}
	exp, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || !time.Unix(exp, 0).After(s.cfg.Now()) || CheckOperatorName(f[0]) != nil {
		return "", ""
	}
	hash, ok := s.cfg.Operators.Hash(f[0])
	if !ok || !s.cfg.Tokens.CheckToken(f[2], "operator-session", f[0], f[1], fingerprint(hash)) {
		return "", ""
	}
	return f[0], s.cfg.Tokens.Token("operator-csrf", c.Value)
}

// requireOperator answers the request itself unless an operator is signed in: a household's
// session gets 403 with a page that says whose session it is and where operators sign in;
// nobody signed in is sent to that sign-in.
func (s *Server) requireOperator(w http.ResponseWriter, r *http.Request) (name, csrf string) {
	if !s.operatorsReady(w) {
		return "", ""
	}
	if name, csrf = s.operator(r); name != "" {
		return name, csrf
	}
	if sess := s.session(r); sess != nil {
		s.operatorFail(w, http.StatusForbidden, "", "",
			fmt.Sprintf("This page is for the operator's staff. You are signed in as household %s, which cannot see it; sign in as an operator at /operator/signin.", sess.Account))
		return "", ""
	}
	http.Redirect(w, r, "/operator/signin", http.StatusSeeOther)
	return "", ""
}

// operatorForm reads a posted operator form, answering the request itself when it cannot.
func (s *Server) operatorForm(w http.ResponseWriter, r *http.Request) bool {
	if !s.operatorsReady(w) {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.operatorFail(w, http.StatusBadRequest, "", "", "The form could not be read")
		return false
	}
	return true
}

func (s *Server) operatorSigninForm(w http.ResponseWriter, status int, name, msg string) {
	tok := randomToken()
	http.SetCookie(w, s.cookie(preCSRFCookie, tok, 3600))
	s.renderOp(w, status, "operator_signin", opView{Title: "Operator sign-in", CSRF: tok, Error: msg, Data: struct{ Name string }{name}})
}

func (s *Server) operatorSignin(w http.ResponseWriter, r *http.Request) {
	if !s.operatorForm(w, r) {
		return
	}
	pre, err := r.Cookie(preCSRFCookie)
	if err != nil || !checkCSRF(r, pre.Value) {
		s.cfg.OnSignInFailure()
		s.operatorSigninForm(w, http.StatusForbidden, "", "The form expired or did not come from this site; please sign in again.")
		return
	}
	name, password := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password")
	now, addr := s.cfg.Now(), clientAddr(r)
	key := "operator:" + name // apart from households' names, which may be the same
	if next := s.delays.next(r.Context(), key, addr, now); next.After(now) {
		wait := int(next.Sub(now).Seconds() + 0.999)
		s.cfg.OnSignInFailure()
		w.Header().Set("Retry-After", fmt.Sprint(wait))
		s.operatorSigninForm(w, http.StatusTooManyRequests, name, fmt.Sprintf("Too many failed sign-ins; wait %d seconds and try again.", wait))
		return
	}
	hash, known := s.cfg.Operators.Hash(name)
	check := hash
	if !known {
		check = dummyHash
	}
	ok, err := CheckPassword(check, password)
	if err != nil {
		s.internal(w, r, nil, err)
		return
	}
	if !ok || !known {
		s.delays.fail(r.Context(), key, addr, now)
		s.cfg.OnSignInFailure()
		s.cfg.Log.Info("operator sign-in failed", "operator", name, "from", addr)
		s.operatorSigninForm(w, http.StatusUnauthorized, name, "Wrong operator name or password.")
		return
	}
	s.delays.succeed(r.Context(), key, addr)
	s.cfg.Log.Info("operator signed in", "operator", name, "from", addr)
	c := s.cookie(operatorCookie, s.operatorCookieValue(name, hash, now.Add(s.cfg.SessionTTL)), int(s.cfg.SessionTTL.Seconds()))
	c.Path = "/operator"
	http.SetCookie(w, c)
	http.SetCookie(w, s.cookie(preCSRFCookie, "", -1))
	http.Redirect(w, r, "/operator", http.StatusSeeOther)
}

func (s *Server) operatorSignout(w http.ResponseWriter, r *http.Request) {
	if !s.operatorForm(w, r) {
		return
	}
	name, csrf := s.operator(r)
	if name == "" {
		http.Redirect(w, r, "/operator/signin", http.StatusSeeOther)
		return
	}
	if !checkCSRF(r, csrf) {
		s.operatorFail(w, http.StatusForbidden, name, csrf, "The form did not come from this site (CSRF token missing or wrong); reload the page and try again.")
		return
	}
	c := s.cookie(operatorCookie, "", -1)
	c.Path = "/operator"
	http.SetCookie(w, c)
	http.Redirect(w, r, "/operator/signin", http.StatusSeeOther)
}
