package headend

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"swarmbox/sync/protocol"
)

// FuzzBuyRequest sends arbitrary signed buy bodies from a registered box: every answer is a
// license or a JSON 4xx (never a 500), and whatever was sold, the account's balance never goes
// below zero and its ledger reconciles.
func FuzzBuyRequest(f *testing.F) {
	fx := newFixture(f)
	item := fx.item.ID.String()
	for _, body := range []string{
		`{"item":"` + item + `","kind":"rental","request_id":"r1"}`,
		`{"item":"` + item + `","kind":"owned","request_id":"r1"}`,  // the same id for another kind: 409
		`{"item":"` + item + `","kind":"rental","request_id":"r2"}`, // still valid: returned
		`{"item":"` + item + `","kind":"lease","request_id":"x"}`,
		`{"item":"` + item + `","kind":"owned","request_id":""}`,
		`{"item":"00000000000000000000000000000000","kind":"owned","request_id":"u"}`,
		`{"item":"nothex","kind":"owned"}`,
		`{"item":1}`, `[]`, `{}{}`, ``, `{"extra":true}`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, _ := http.NewRequest("POST", fx.srv.URL+protocol.PathBuy, bytes.NewReader(body))
		protocol.Sign(req, body, fx.client.Box, fx.client.Key, time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			var b protocol.BuyResponse
			if err := json.Unmarshal(answer, &b); err != nil || len(b.License) == 0 {
				t.Fatalf("200 without a license: %s", answer)
			}
		case http.StatusBadRequest, http.StatusPaymentRequired, http.StatusForbidden, http.StatusNotFound, http.StatusConflict:
			var e protocol.Error
			if err := json.Unmarshal(answer, &e); err != nil || e.Code == "" || e.Error == "" {
				t.Fatalf("%d without a JSON error: %s", resp.StatusCode, answer)
			}
		default:
			t.Fatalf("body %q: %d %s", body, resp.StatusCode, answer)
		}
		ctx := context.Background()
		if acct, err := fx.st.Account(ctx, "acct"); err != nil || acct.BalanceCents < 0 {
			t.Fatalf("balance %d (%v)", acct.BalanceCents, err)
		}
		if bad, err := fx.st.Reconcile(ctx); err != nil || len(bad) > 0 {
			t.Fatalf("ledger does not reconcile: %v %v", bad, err)
		}
	})
}
