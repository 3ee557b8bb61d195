package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"swarmbox/firmware/boxbus"
)

// wait blocks until a title is on the disk, whole and verified: `swarmboxd wait ITEM`. It
// follows the daemon's ItemChanged signals.
func wait(ctx context.Context, args []string) error {
	fs := newFlags("wait")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	box, item, err := oneItem(ctx, fs, args)
	if err != nil {
		return err
	}
	defer box.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	// Follow first, so no change falls between the first look and the signals.
	events, followErr := box.Follow(ctx)
	for {
		it, err := box.Item(ctx, item)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if err == nil {
			if done, err := ready(ctx, box, it); done || err != nil {
				return err
			}
		}
		if followErr != nil {
			return fmt.Errorf("%s is not ready (%s): %w", item, it.State, followErr)
		}
		if err := nextChange(ctx, events, item); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s not ready after %s", item, *timeout)
			}
			return err
		}
	}
}

// ready says whether the item is complete (and prints so), or fails when it never will be.
func ready(ctx context.Context, box boxDoor, it boxbus.Item) (bool, error) {
	switch {
	case it.State.Complete():
		fmt.Printf("%s ready: %d bytes from server, %d from peers\n", it.ID, it.BytesFromServer, it.BytesFromPeers)
		return true, nil
	case it.State == boxbus.Kept:
		pieces := ""
		if disk, err := box.Holdings(ctx); err == nil {
			if i := slices.IndexFunc(disk.Holdings, func(h boxbus.Holding) bool { return h.ID == it.ID }); i >= 0 && disk.Holdings[i].RangeEnd > 0 {
				pieces = fmt.Sprintf(" (pieces %d-%d only)", disk.Holdings[i].RangeBegin, disk.Holdings[i].RangeEnd-1)
			}
		}
		return false, fmt.Errorf("%s is kept here for neighbours%s and never completes on its own: wish it (swarmboxd wish %s) to fetch the rest", it.ID, pieces, it.ID)
	}
	return false, nil
}

// nextChange waits for a change of item (or the daemon's coming or going, after which the
// item is looked at again).
func nextChange(ctx context.Context, events <-chan boxbus.Event, item string) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-events:
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return errors.New("the daemon stopped: start it again with 'swarmboxd run' and wait again")
			}
			if ev.Owner != nil || (ev.Item != nil && ev.Item.Item == item) {
				return nil
			}
		}
	}
}
