package e2e

import (
	"context"
	"path/filepath"
	"testing"

	"swarmbox/cloud/store"
)

func openCloudStore(t *testing.T, c *cloud) (*store.Store, error) {
	t.Helper()
	return store.Open(context.Background(), filepath.Join(c.state, "headend.db"))
}
