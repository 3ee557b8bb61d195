package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"swarmbox/firmware"
	"swarmbox/firmware/boxbus"
	"swarmbox/internal/outfile"
	"swarmbox/media"
	"swarmbox/player"
)

// boxDoor is the box's API as the subcommands use it: the running daemon's, over D-Bus on its
// socket, or the state folder's, in process, when no daemon runs.
type boxDoor interface {
	Catalog(ctx context.Context) ([]boxbus.Title, error)
	Item(ctx context.Context, id string) (boxbus.Item, error)
	Wishlist(ctx context.Context) ([]string, error)
	SetWishlist(ctx context.Context, ids []string) error
	Buy(ctx context.Context, id string, rent bool) (boxbus.Purchase, error)
	Status(ctx context.Context) (boxbus.Status, error)
	Holdings(ctx context.Context) (boxbus.Disk, error)
	Pairing(ctx context.Context) (boxbus.Pairing, error)
	// Follow delivers the daemon's signals; without a daemon nothing changes, and it fails.
	Follow(ctx context.Context) (<-chan boxbus.Event, error)
	// Watch writes a bought title's plaintext to w.
	Watch(ctx context.Context, id string, w io.Writer) error
	// Serve opens a bought title for playback, as the TV does: it returns the box's loopback
	// URL (Range requests, so a player seeks), a channel that yields why the box ended the
	// playback on its own, and stop, which ends it and releases the title's play lease.
	Serve(ctx context.Context, id string) (url string, ended <-chan error, stop func(context.Context) error, err error)
	// Via says which door this is, for status.
	Via() string
	Close() error
}

// openBox opens the daemon's API socket in dir, or the API in process when no daemon answers
// there (no socket, or one a dead daemon left).
func openBox(ctx context.Context, dir string) (boxDoor, error) {
	path := firmware.SocketPath(dir)
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := boxbus.DialSocket(dctx, path)
	if err == nil {
		if c.Running(dctx) {
			return daemonDoor{c, path}, nil
		}
		c.Close()
		return nil, fmt.Errorf("the daemon on %s does not answer: restart it", path)
	}
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ECONNREFUSED) {
		return nil, err
	}
	api, err := firmware.OpenAPI(ctx, dir)
	if err != nil {
		return nil, err
	}
	return localDoor{api}, nil
}

// daemonDoor is the running daemon's API.
type daemonDoor struct {
	*boxbus.Client
	path string
}

func (d daemonDoor) Via() string { return "the running daemon (" + d.path + ")" }

// Serve has the daemon serve the title and follows its NowPlaying property: another title
// played (from the TV, say), a Stop from elsewhere, or the daemon going away ends this playback.
func (d daemonDoor) Serve(ctx context.Context, id string) (string, <-chan error, func(context.Context) error, error) {
	fctx, unfollow := context.WithCancel(ctx)
	events, err := d.Follow(fctx) // first, so no change falls between Play and following
	if err != nil {
		unfollow()
		return "", nil, nil, err
	}
	url, err := d.Play(ctx, id)
	if err != nil {
		unfollow()
		return "", nil, nil, err
	}
	ended := make(chan error, 1)
	go func() {
		for ev := range events {
			if ev.Owner != nil {
				ended <- errors.New("the daemon stopped, and the playback with it: start it again with 'swarmboxd run' and play again")
				return
			}
			if _, ok := ev.Properties[boxbus.PropNowPlaying]; !ok {
				continue
			}
			// The property itself, not the signal's value: a change from before Play may still
			// be on its way.
			v, err := d.Property(fctx, boxbus.PropNowPlaying)
			if err != nil {
				continue // the connection's end closes events
			}
			if now, _ := v.Value().(string); now != id {
				what := "stopped"
				if now != "" {
					what = "now plays " + now
				}
				ended <- fmt.Errorf("the box %s instead of %s: the TV or another 'swarmboxd play' took over", what, id)
				return
			}
		}
		if fctx.Err() == nil {
			ended <- errors.New("the daemon stopped, and the playback with it: start it again with 'swarmboxd run' and play again")
		}
	}()
	stop := func(ctx context.Context) error {
		unfollow()
		return d.stopIfPlaying(ctx, id)
	}
	return url, ended, stop, nil
}

// stopIfPlaying stops the daemon's playback if it is still id's, so a title the TV has started
// since is left playing.
func (d daemonDoor) stopIfPlaying(ctx context.Context, id string) error {
	v, err := d.Property(ctx, boxbus.PropNowPlaying)
	if err != nil {
		return err
	}
	if now, _ := v.Value().(string); now != id {
		return nil
	}
	return d.Stop(ctx)
}

// Watch has the daemon serve the title and reads it whole.
func (d daemonDoor) Watch(ctx context.Context, id string, w io.Writer) error {
	url, err := d.Play(ctx, id)
	if err != nil {
		return err
	}
	defer d.stopIfPlaying(context.WithoutCancel(ctx), id)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: the box's player answered %s", id, resp.Status)
	}
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("%s: the stream stopped after %d bytes (%w): the container may be damaged, see the daemon's log", id, n, err)
	}
	return nil
}

// localDoor is the API in process, when no daemon runs.
type localDoor struct{ api *firmware.API }

func (l localDoor) Via() string { return "in process (no daemon runs)" }

func (l localDoor) Close() error { return l.api.Close() }

func parseIDs(ss ...string) ([]media.ItemID, error) {
	var out []media.ItemID
	for _, s := range ss {
		id, err := media.ParseItemID(s)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

func (l localDoor) Catalog(ctx context.Context) ([]boxbus.Title, error) { return l.api.Catalog(ctx) }

func (l localDoor) Item(ctx context.Context, id string) (boxbus.Item, error) {
	ids, err := parseIDs(id)
	if err != nil {
		return boxbus.Item{}, err
	}
	return l.api.Item(ctx, ids[0])
}

func (l localDoor) Wishlist(ctx context.Context) ([]string, error) {
	w, err := l.api.Wishlist(ctx)
	out := []string{}
	for _, id := range w {
		out = append(out, id.String())
	}
	return out, err
}

func (l localDoor) SetWishlist(ctx context.Context, ss []string) error {
	ids, err := parseIDs(ss...)
	if err != nil {
		return err
	}
	return l.api.SetWishlist(ctx, ids)
}

func (l localDoor) Buy(ctx context.Context, id string, rent bool) (boxbus.Purchase, error) {
	ids, err := parseIDs(id)
	if err != nil {
		return boxbus.Purchase{}, err
	}
	return l.api.Buy(ctx, ids[0], rent)
}

func (l localDoor) Status(ctx context.Context) (boxbus.Status, error) { return l.api.Status(ctx) }

func (l localDoor) Holdings(ctx context.Context) (boxbus.Disk, error) { return l.api.Holdings(ctx) }

func (l localDoor) Follow(context.Context) (<-chan boxbus.Event, error) {
	return nil, errors.New("no daemon runs, so nothing downloads: start the box with 'swarmboxd run'")
}

// Watch decrypts the title in process, holding it against eviction meanwhile.
func (l localDoor) Watch(ctx context.Context, id string, w io.Writer) error {
	ids, err := parseIDs(id)
	if err != nil {
		return err
	}
	t, err := l.api.Open(ctx, ids[0])
	if err != nil {
		return noDaemonHint(err)
	}
	defer t.Close()
	release, err := l.api.Hold(ctx, ids[0])
	if err != nil {
		return err
	}
	defer release()
	return player.Copy(ctx, w, t)
}

// Serve serves the title in process, through the API's Play as the daemon does, until stop.
func (l localDoor) Serve(ctx context.Context, id string) (string, <-chan error, func(context.Context) error, error) {
	ids, err := parseIDs(id)
	if err != nil {
		return "", nil, nil, err
	}
	url, err := l.api.Play(ctx, ids[0])
	if err != nil {
		return "", nil, nil, noDaemonHint(err)
	}
	return url, nil, l.api.Stop, nil
}

// noDaemonHint adds to a refusal for a title not yet downloaded that, without a daemon,
// nothing more arrives: with one, a title still downloading plays as it arrives.
func noDaemonHint(err error) error {
	if errors.Is(err, player.ErrNotDownloaded) {
		return fmt.Errorf("%w; no daemon runs, so no more of it arrives: start the box with 'swarmboxd run' and play it again (it plays while it downloads)", err)
	}
	return err
}

// oneItem parses a command that takes one ITEM, opens the box and resolves the item.
func oneItem(ctx context.Context, fs *flagSet, args []string) (boxDoor, string, error) {
	names, err := fs.parse(args)
	if err != nil {
		return nil, "", err
	}
	return openItem(ctx, fs, names)
}

// openItem opens the box and resolves the one ITEM of a command's operands.
func openItem(ctx context.Context, fs *flagSet, names []string) (boxDoor, string, error) {
	if len(names) != 1 {
		return nil, "", fmt.Errorf("%s takes one ITEM", fs.Name())
	}
	box, err := openBox(ctx, *fs.dir)
	if err != nil {
		return nil, "", err
	}
	items, err := resolve(ctx, box, names)
	if err != nil {
		box.Close()
		return nil, "", err
	}
	return box, items[0], nil
}

// resolve finds items by id, unique id prefix, or title in the box's catalog replica.
func resolve(ctx context.Context, box boxDoor, names []string) ([]string, error) {
	cat, err := box.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if id, err := media.ParseItemID(n); err == nil {
			out = append(out, id.String())
			continue
		}
		var hits []string
		for _, it := range cat {
			if strings.HasPrefix(it.ID, strings.ToLower(n)) || strings.EqualFold(it.Title, n) {
				hits = append(hits, it.ID)
			}
		}
		switch len(hits) {
		case 1:
			out = append(out, hits[0])
		case 0:
			return nil, fmt.Errorf("%q is not in the box's catalog (it has %d titles; is the box synced?)", n, len(cat))
		default:
			return nil, fmt.Errorf("%q matches %d titles: give more of the id", n, len(hits))
		}
	}
	return out, nil
}

// writeOut writes what fill writes to path ("-" for standard output); a regular file only
// appears when fill succeeded, so a refused playback leaves nothing behind, and a device or FIFO
// is written into, never replaced (outfile.Write).
func writeOut(path string, fill func(io.Writer) error) error {
	if path == "-" {
		return fill(os.Stdout)
	}
	return outfile.Write(path, fill)
}
