package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"swarmbox/firmware"
	"swarmbox/firmware/boxbus"
	"swarmbox/media"
)

// status prints the box, its wishlist, its titles and its storage areas: `swarmboxd status`.
func status(ctx context.Context, args []string) error {
	fs := newFlags("status")
	jsonOut := fs.Bool("json", false, "print JSON")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	box, err := openBox(ctx, *fs.dir)
	if err != nil {
		return err
	}
	defer box.Close()
	st, err := box.Status(ctx)
	if err != nil {
		return err
	}
	wishes, err := box.Wishlist(ctx)
	if err != nil {
		return err
	}
	disk, err := box.Holdings(ctx)
	if err != nil {
		return err
	}
	catalog, err := box.Catalog(ctx)
	if err != nil {
		return err
	}
	pairing, err := box.Pairing(ctx)
	if err != nil {
		return err
	}
	type itemJSON struct {
		Item            string `json:"item"`
		Pieces          int32  `json:"pieces"`
		Complete        bool   `json:"complete"`
		BytesFromServer int64  `json:"bytes_from_server"`
		BytesFromPeers  int64  `json:"bytes_from_peers"`
		Area            string `json:"area"`
		Size            int64  `json:"size"`
		// Range is a range placement's pieces (a flash crowd's title placed piece range by
		// piece range into idle boxes' cache); absent for a whole item.
		Range *media.PieceRange `json:"range,omitempty"`
	}
	type areaJSON struct {
		Area  string `json:"area"`
		Quota int64  `json:"quota"`
		Used  int64  `json:"used"`
		Free  int64  `json:"free"`
		Full  bool   `json:"full"`
	}
	type noteJSON struct {
		Item   string `json:"item"`
		Area   string `json:"area"`
		Reason string `json:"reason"`
	}
	type statusJSON struct {
		Box       string      `json:"box"`
		Account   string      `json:"account"`
		Headend   string      `json:"headend"`
		Via       string      `json:"via"` // the running daemon, or in process
		Wishlist  []string    `json:"wishlist"`
		Items     []itemJSON  `json:"items"`
		Areas     []areaJSON  `json:"areas"`
		Evictions []noteJSON  `json:"evictions"`
		Refused   []noteJSON  `json:"refused"`             // items not taken in for lack of space, and why
		DiskFull  string      `json:"disk_full,omitempty"` // what a full disk holds up (Status.Disk)
		Pairing   pairingJSON `json:"pairing"`
		// The link to the head-end: the box works offline from its local catalog replica.
		Online        bool  `json:"online"`
		OfflineSince  int64 `json:"offline_since"` // Unix seconds; 0 while online
		Registered    bool  `json:"registered"`
		CatalogTitles int   `json:"catalog_titles"` // titles in the local catalog replica
	}
	out := statusJSON{Box: st.Box, Account: st.Account, Headend: st.Headend, Via: box.Via(), Wishlist: wishes, Items: []itemJSON{}, Evictions: []noteJSON{}, Refused: []noteJSON{},
		DiskFull: st.Disk, Pairing: pairingOf(pairing), Online: st.Online, OfflineSince: st.OfflineSince, Registered: st.Registered, CatalogTitles: len(catalog)}
	for _, it := range disk.Holdings {
		j := itemJSON{it.ID, it.Pieces, it.Complete, it.BytesFromServer, it.BytesFromPeers, it.Area, it.Size, nil}
		if it.RangeEnd > it.RangeBegin {
			j.Range = &media.PieceRange{Begin: int(it.RangeBegin), End: int(it.RangeEnd)}
		}
		out.Items = append(out.Items, j)
	}
	for _, sp := range disk.Areas {
		out.Areas = append(out.Areas, areaJSON{sp.Area, sp.Quota, sp.Used, sp.Free, sp.Full})
	}
	for _, e := range disk.Evictions {
		out.Evictions = append(out.Evictions, noteJSON(e))
	}
	for _, r := range disk.Refused {
		out.Refused = append(out.Refused, noteJSON(r))
	}
	dv, err := diskOf(ctx, box)
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(os.Stdout).Encode(struct {
			statusJSON
			Disk diskView `json:"disk"`
		}{out, dv})
	}
	fmt.Printf("box %s (account %s, head-end %s)\n", out.Box, out.Account, out.Headend)
	fmt.Printf("via %s\n", out.Via)
	if _, inProcess := box.(localDoor); inProcess {
		fmt.Printf("no daemon runs, so nothing follows the head-end; catalog replica of %d titles\n", len(catalog))
	} else {
		fmt.Println(linkLine(st.Link, len(catalog)))
	}
	if !pairing.Paired {
		fmt.Println(firmware.PairingHint(pairing))
	}
	fmt.Printf("disk %s: %d bytes, %d free (%s of %s free)\n", dv.State, dv.Bytes, dv.FreeBytes, gib(dv.FreeBytes), gib(dv.Bytes))
	if dv.Reason != "" {
		fmt.Printf("disk %s\n", dv.Reason)
	}
	for i, w := range wishes {
		fmt.Printf("wish #%d %s\n", i+1, w)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ITEM\tAREA\tPIECES\tREADY\tFROM SERVER\tFROM PEERS")
	for _, it := range out.Items {
		area := it.Area
		if it.Range != nil {
			area += fmt.Sprintf(" (pieces %d-%d only)", it.Range.Begin, it.Range.End-1)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%v\t%d\t%d\n", it.Item, area, it.Pieces, it.Complete, it.BytesFromServer, it.BytesFromPeers)
	}
	fmt.Fprintln(tw, "\nAREA\tQUOTA\tUSED\tFREE\t")
	for _, a := range out.Areas {
		full := ""
		if a.Full {
			full = "FULL"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", a.Area, a.Quota, a.Used, a.Free, full)
	}
	for _, r := range out.Refused {
		fmt.Fprintf(tw, "\nNOT FETCHED %s: %s\n", r.Item, r.Reason)
	}
	if out.DiskFull != "" {
		fmt.Fprintf(tw, "\nDISK FULL: %s\n", out.DiskFull)
	}
	return tw.Flush()
}

// linkLine says how the box stands with its head-end and what works meanwhile.
func linkLine(l boxbus.Link, titles int) string {
	switch {
	case l.Online:
		return fmt.Sprintf("online; catalog replica of %d titles", titles)
	case !l.Registered:
		return fmt.Sprintf("waiting for the head-end (not registered yet); catalog replica of %d titles", titles)
	default:
		return fmt.Sprintf("offline since %s; catalog replica of %d titles; bought titles play, wishes are kept and sent when the head-end is back, buying needs the connection",
			time.Unix(l.OfflineSince, 0).Format("15:04"), titles)
	}
}
