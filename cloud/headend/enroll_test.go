package headend

import (
	"context"
	"testing"
	"time"

	"swarmbox/cloud/store"
)

// enrollToken makes a one-box enrollment token for account, as 'swarmbox-cloud account enroll'
// does: how tests register a box that is paired from the start.
func enrollToken(t testing.TB, st *store.Store, account string) string {
	t.Helper()
	tok, err := st.CreateEnrollment(context.Background(), account, 1, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
