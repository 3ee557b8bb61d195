package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"swarmbox/media"
)

// regions shows or sets where a title may be licensed.
func regions(ctx context.Context, args []string) error {
	st, pos, err := storeCommand(ctx, "regions", args, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if len(pos) < 1 || len(pos) > 2 {
		return errors.New("regions takes ITEM and optionally REGION,REGION,…")
	}
	item, err := media.ParseItemID(pos[0])
	if err != nil {
		return err
	}
	if len(pos) == 2 {
		var rs []string
		for _, r := range strings.Split(pos[1], ",") {
			if r = strings.TrimSpace(r); r != "" {
				rs = append(rs, r)
			}
		}
		if err := st.SetItemRegions(ctx, item, rs); err != nil {
			return err
		}
	}
	rs, err := st.ItemRegions(ctx, item)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		fmt.Println("everywhere")
		return nil
	}
	fmt.Println(strings.Join(rs, ","))
	return nil
}
