package storage

import (
	"bytes"

	"github.com/anacrolix/torrent/metainfo"
)

// torrentLength is the bytes of the torrent's files, for rows recorded without a size: those of
// a database from before sizes were kept (fillSizes) and AddItem's. Reserve and ReserveRange
// take their figures from the caller (transfer.ParseMeta).
func torrentLength(torrent []byte) (int64, error) {
	mi, err := metainfo.Load(bytes.NewReader(torrent))
	if err != nil {
		return 0, err
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return 0, err
	}
	return info.TotalLength(), nil
}
