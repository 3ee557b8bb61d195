package headend

import (
	"net/http"
	"strconv"

	"swarmbox/cloud/forecast"
	"swarmbox/media"
)

// PathForecast is the region's demand forecast: GET ?region=R&limit=N (1–1000, default 20).
const PathForecast = "/v1/forecast"

// forecast answers with the titles the region is expected to want most, named from the catalog.
func (s *Server) forecast(w http.ResponseWriter, r *http.Request) {
	region := r.URL.Query().Get("region")
	if region == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "give the region: "+PathForecast+"?region=R")
		return
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit must be a number from 1 to 1000")
			return
		}
		limit = n
	}
	signals, err := s.cfg.Store.DemandSignals(r.Context(), region)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	now := s.cfg.Now()
	ranked, err := forecast.Rank(signals, now, forecast.Params{})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	cat, err := s.cfg.Store.Catalog(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	titles := map[media.ItemID]string{}
	for _, it := range cat.Items {
		titles[it.ID] = it.Title
	}
	out := forecast.Forecast{Region: region, At: now.UTC(), Items: []forecast.Score{}}
	for _, sc := range ranked {
		if t, ok := titles[sc.Item]; ok && len(out.Items) < limit {
			sc.Title = t
			out.Items = append(out.Items, sc)
		}
	}
	writeJSON(w, out)
}
