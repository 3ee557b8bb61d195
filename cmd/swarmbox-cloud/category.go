package main

import (
	"context"
	"errors"
	"fmt"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// setCategory shows or sets the category of one title.
func setCategory(ctx context.Context, args []string) error {
	st, pos, err := storeCommand(ctx, "category", args, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if len(pos) < 1 || len(pos) > 2 {
		return errors.New("category takes ITEM and optionally CATEGORY")
	}
	item, err := media.ParseItemID(pos[0])
	if err != nil {
		return err
	}
	if len(pos) == 2 {
		if err := st.SetItemCategory(ctx, item, pos[1]); err != nil {
			return err
		}
	}
	it, err := st.Item(ctx, item)
	if err != nil {
		return err
	}
	fmt.Println(categoryName(it.Category))
	return nil
}

func categoryName(c string) string {
	if c == "" {
		return protocol.Uncategorised
	}
	return c
}
