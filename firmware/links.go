package firmware

import (
	"fmt"

	"swarmbox/cloud/scheduler"
)

// CheckLinkCaps refuses link caps (bytes per second, 0 = none) below the smallest rate the
// head-end's scheduler plans (scheduler.MinPlannedRate): such a box would never be planned a
// transfer and would silently never fetch or serve.
func CheckLinkCaps(uplink, downlink int64) error {
	for _, c := range []struct {
		flag string
		v    int64
	}{{"-uplink", uplink}, {"-downlink", downlink}} {
		switch {
		case c.v < 0:
			return fmt.Errorf("%s %d: a link cap is a rate in bytes per second, 0 for none", c.flag, c.v)
		case c.v > 0 && c.v < scheduler.MinPlannedRate:
			return fmt.Errorf("%s %d bytes/s is below the scheduler's minimum planned rate of %d bytes/s (%d kbit/s): the box would never be planned a transfer; give at least %d, or 0 for no cap",
				c.flag, c.v, scheduler.MinPlannedRate, scheduler.MinPlannedRate*8/1000, scheduler.MinPlannedRate)
		}
	}
	return nil
}
