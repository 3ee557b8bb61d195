package remote

import (
	"slices"
	"strings"
	"testing"
)

func FuzzParseEvents(f *testing.F) {
	f.Add(mustHex(f, recordedOK64), true)
	f.Add(mustHex(f, recordedUp32), false)
	f.Add([]byte{1, 2, 3}, true)
	f.Fuzz(func(t *testing.T, b []byte, wide bool) {
		ws := 4
		if wide {
			ws = 8
		}
		evs, err := ParseEvents(b, ws)
		if err != nil {
			return
		}
		if len(evs)*EventSize(ws) != len(b) {
			t.Fatalf("%d events from %d bytes", len(evs), len(b))
		}
		var re []byte
		for _, ev := range evs {
			re = Encode(re, ev, ws)
		}
		again, err := ParseEvents(re, ws)
		if err != nil || len(again) != len(evs) {
			t.Fatalf("re-encoded stream: %v", err)
		}
		for i := range evs {
			if again[i].Type != evs[i].Type || again[i].Code != evs[i].Code || again[i].Value != evs[i].Value {
				t.Fatalf("event %d changed on re-encoding", i)
			}
		}
	})
}

func FuzzParseKeymap(f *testing.F) {
	f.Add(DefaultKeymapText)
	f.Add("KEY_UP up\nKEY_UP down")
	f.Add("0x160 ok # c")
	f.Fuzz(func(t *testing.T, text string) {
		km, err := ParseKeymap(strings.NewReader(text))
		if err != nil {
			return
		}
		for code, b := range km {
			if !slices.Contains(Buttons(), b) {
				t.Fatalf("code %d maps to unknown button %q", code, b)
			}
		}
	})
}
