package web

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"swarmbox/cloud/fleet"
)

// opQuery is what the operator's page was asked for.
type opQuery struct {
	Region  string // "" = every region
	Refresh int    // seconds between reloads
	Top     int    // titles listed per region
}

// The page's parameters' bounds and defaults.
const (
	defaultRefresh = 10
	minRefresh     = 2
	maxRefresh     = 3600
	defaultTop     = 5
	maxTop         = 20
)

// parseOperatorQuery reads the page's parameters: region (a region's name), refresh (whole
// seconds from 2 to 3600) and top (1 to 20). Anything else, twice given or malformed, is an
// error that says what the page takes.
func parseOperatorQuery(raw string) (opQuery, error) {
	out := opQuery{Refresh: defaultRefresh, Top: defaultTop}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return out, fmt.Errorf("the query %q is not well-formed (%w); the page takes region, refresh and top", trim(raw), err)
	}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		v := q[k]
		if len(v) != 1 {
			return out, fmt.Errorf("give %q once, not %d times", k, len(v))
		}
		switch k {
		case "region":
			if v[0] == "" || len(v[0]) > 64 || strings.ContainsAny(v[0], ", \t\r\n") {
				return out, fmt.Errorf("region %q: give a region's name as the table lists it", trim(v[0]))
			}
			out.Region = v[0]
		case "refresh":
			n, err := strconv.Atoi(v[0])
			if err != nil || n < minRefresh || n > maxRefresh {
				return out, fmt.Errorf("refresh %q: give whole seconds from %d to %d", trim(v[0]), minRefresh, maxRefresh)
			}
			out.Refresh = n
		case "top":
			n, err := strconv.Atoi(v[0])
			if err != nil || n < 1 || n > maxTop {
				return out, fmt.Errorf("top %q: give a number of titles from 1 to %d", trim(v[0]), maxTop)
			}
			out.Top = n
		default:
			return out, fmt.Errorf("unknown parameter %q: the page takes region, refresh and top", trim(k))
		}
	}
	return out, nil
}

// trim shortens what is quoted back to the operator.
func trim(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// opRow is one line of the page's tables: a region, or every region together.
type opRow struct {
	fleet.Region
	Total   bool
	PlanAge string
}

// opPage is the operator's page.
type opPage struct {
	At           time.Time
	OnlineWithin string
	Query        opQuery
	Regions      []string // every region, for the links
	Rows         []opRow
	Origins      []fleet.Origin
}

func (s *Server) operatorPage(w http.ResponseWriter, r *http.Request) {
	name, csrf := s.requireOperator(w, r)
	if name == "" {
		return
	}
	q, err := parseOperatorQuery(r.URL.RawQuery)
	if err != nil {
		s.operatorFail(w, http.StatusBadRequest, name, csrf, "Bad address: "+err.Error()+".")
		return
	}
	f, err := s.cfg.Fleet.Figures(r.Context())
	if err != nil {
		s.cfg.Log.Error("operator page", "err", err)
		s.operatorFail(w, http.StatusInternalServerError, name, csrf, "The figures could not be read from the store; the head-end's log says why. Try again in a moment.")
		return
	}
	d := opPage{At: f.At, OnlineWithin: age(f.OnlineWithin), Query: q, Origins: fleet.Origins}
	row := func(reg fleet.Region, total bool) opRow {
		reg.Top = reg.Top[:min(len(reg.Top), q.Top)]
		a := "—"
		if d, ok := reg.PlanAge(f.At); ok {
			a = age(d)
		}
		return opRow{Region: reg, Total: total, PlanAge: a}
	}
	for _, reg := range f.Regions {
		d.Regions = append(d.Regions, reg.Name)
		if q.Region == "" || q.Region == reg.Name {
			d.Rows = append(d.Rows, row(reg, false))
		}
	}
	if q.Region != "" && len(d.Rows) == 0 {
		s.operatorFail(w, http.StatusNotFound, name, csrf, fmt.Sprintf("No region %q has boxes; the regions are: %s.", q.Region, strings.Join(d.Regions, ", ")))
		return
	}
	if q.Region == "" {
		d.Rows = append(d.Rows, row(f.Total, true))
	}
	s.renderOp(w, http.StatusOK, "operator", opView{Title: "Operator: live view", Operator: name, CSRF: csrf, Refresh: q.Refresh, Data: d})
}

// age says a duration as the page shows ages: "42 s", "7 min", "3 h 5 min".
func age(d time.Duration) string {
	switch d = d.Round(time.Second); {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	default:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
}

// percent says a share as the page shows it.
func percent(x float64) string { return fmt.Sprintf("%.1f %%", 100*x) }

// times says a ratio as the page shows it; "—" when there is none.
func times(x float64) string {
	if x <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f ×", x)
}
