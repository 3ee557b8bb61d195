package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
)

// torrentLength is the bytes of a torrent's files (info.length, or the sum of info.files[].length),
// for fillSizes alone: the one-time upgrade of a database from before sizes were kept runs inside
// Open, before any caller could lend a parser, so storage keeps this small reader of the two
// fields rather than the torrent library. Everything else takes its figures from the caller
// (transfer.ParseMeta).
func torrentLength(torrent []byte) (int64, error) {
	v, rest, err := bdecode(torrent, 0)
	if err != nil {
		return 0, err
	}
	if len(rest) != 0 {
		return 0, errors.New("bencode: trailing bytes")
	}
	top, _ := v.(map[string]any)
	info, ok := top["info"].(map[string]any)
	if !ok {
		return 0, errors.New("bencode: no info dictionary")
	}
	if n, ok := info["length"].(int64); ok {
		return n, nil
	}
	// Neither: an empty single file, whose zero length bencode encoders leave out.
	files, _ := info["files"].([]any)
	var total int64
	for _, f := range files {
		fd, _ := f.(map[string]any)
		n, ok := fd["length"].(int64)
		if !ok || n < 0 || total+n < total {
			return 0, errors.New("bencode: a file without a valid length")
		}
		total += n
	}
	return total, nil
}

// bdecode reads one bencoded value off b: int64, string, []any or map[string]any.
func bdecode(b []byte, depth int) (v any, rest []byte, err error) {
	if depth > 64 {
		return nil, nil, errors.New("bencode: nested too deep")
	}
	if len(b) == 0 {
		return nil, nil, errors.New("bencode: truncated")
	}
	switch c := b[0]; {
	case c == 'i':
		end := bytes.IndexByte(b, 'e')
		if end < 0 {
			return nil, nil, errors.New("bencode: truncated integer")
		}
		n, err := strconv.ParseInt(string(b[1:end]), 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("bencode: %w", err)
		}
		return n, b[end+1:], nil
	case c == 'l' || c == 'd':
		var list []any
		dict := map[string]any{}
		b = b[1:]
		for len(b) > 0 && b[0] != 'e' {
			var k any
			if c == 'd' {
				if k, b, err = bdecode(b, depth+1); err != nil {
					return nil, nil, err
				}
				if _, ok := k.(string); !ok {
					return nil, nil, errors.New("bencode: a dictionary key that is not a string")
				}
			}
			if v, b, err = bdecode(b, depth+1); err != nil {
				return nil, nil, err
			}
			if c == 'd' {
				dict[k.(string)] = v
			} else {
				list = append(list, v)
			}
		}
		if len(b) == 0 {
			return nil, nil, errors.New("bencode: truncated list or dictionary")
		}
		if c == 'd' {
			return dict, b[1:], nil
		}
		return list, b[1:], nil
	case c >= '0' && c <= '9':
		colon := bytes.IndexByte(b, ':')
		if colon < 0 {
			return nil, nil, errors.New("bencode: truncated string")
		}
		n, err := strconv.Atoi(string(b[:colon]))
		if err != nil || n < 0 || n > len(b)-colon-1 {
			return nil, nil, errors.New("bencode: a string longer than its input")
		}
		return string(b[colon+1 : colon+1+n]), b[colon+1+n:], nil
	default:
		return nil, nil, fmt.Errorf("bencode: unexpected byte %q", c)
	}
}

// fillSizes sets the size of rows written before sizes were kept (schema version 2).
func (s *Store) fillSizes(ctx context.Context) error {
	items, err := s.Items(ctx)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.Size != 0 {
			continue
		}
		if n, err := torrentLength(it.Torrent); err == nil && n > 0 {
			if _, err := s.db.ExecContext(ctx, `UPDATE items SET size = ? WHERE id = ?`, n, it.ID.String()); err != nil {
				return err
			}
		}
	}
	return nil
}
