package boxbus

import (
	"errors"
	"fmt"
	"testing"

	"github.com/godbus/dbus/v5"
)

func TestParseState(t *testing.T) {
	for _, s := range States {
		got, err := ParseState(string(s))
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "Bought", "ready", "expired"} {
		if _, err := ParseState(bad); err == nil {
			t.Errorf("ParseState(%q) accepted", bad)
		}
	}
}

func TestFromCall(t *testing.T) {
	tests := []struct {
		err        error
		name       ErrorName
		unanswered bool
	}{
		{NewDBusError(ErrNotBought, "buy it first"), ErrNotBought, false},
		{*dbus.NewError(DBusInvalidArgs, []any{"wrong type"}), DBusInvalidArgs, false},
		{*dbus.NewError(DBusServiceAbsent, []any{"no owner"}), "", true},
		{*dbus.NewError(DBusNoReply, nil), "", true},
		{fmt.Errorf("connection closed"), "", true},
	}
	for _, tt := range tests {
		var err error = tt.err
		if de, ok := err.(*dbus.Error); ok {
			err = *de
		}
		got := fromCall("Item", err)
		if tt.unanswered {
			if !errors.Is(got, ErrUnanswered) {
				t.Errorf("%v: got %v, want ErrUnanswered", tt.err, got)
			}
			continue
		}
		if !errors.Is(got, Refusal(tt.name)) {
			t.Errorf("%v: got %#v, want name %s", tt.err, got, tt.name)
		}
		if errors.Is(got, Refusal(ErrFailed)) {
			t.Errorf("%v matches an unrelated name", tt.err)
		}
	}
}

func TestDecodeSignal(t *testing.T) {
	sig := &dbus.Signal{Path: Path, Name: Interface + "." + SignalItemChanged, Body: []any{"abc", "downloading", int32(3), int32(10), int64(1), int64(2)}}
	ev, ok := decodeSignal(sig, Name)
	if !ok || ev.Item == nil || ev.Item.State != Downloading || ev.Item.Pieces != 3 || ev.Item.Total != 10 || ev.Item.BytesFromPeers != 2 {
		t.Fatalf("ItemChanged decoded as %+v, %v", ev.Item, ok)
	}
	// A signal of the wrong shape (pieces as int64) is dropped, not half-read.
	sig.Body[2] = int64(3)
	if _, ok := decodeSignal(sig, Name); ok {
		t.Error("ItemChanged with a wrong body type was accepted")
	}
	owner := &dbus.Signal{Name: "org.freedesktop.DBus.NameOwnerChanged", Body: []any{Name, ":1.4", ""}}
	if ev, ok := decodeSignal(owner, Name); !ok || ev.Owner == nil || *ev.Owner != "" {
		t.Errorf("NameOwnerChanged decoded as %+v, %v", ev, ok)
	}
	if _, ok := decodeSignal(owner, "org.other.Box"); ok {
		t.Error("another name's NameOwnerChanged was delivered")
	}
	props := &dbus.Signal{Path: Path, Name: "org.freedesktop.DBus.Properties.PropertiesChanged",
		Body: []any{Interface, map[string]dbus.Variant{PropNowPlaying: dbus.MakeVariant("abc")}, []string{}}}
	if ev, ok := decodeSignal(props, Name); !ok || ev.Properties[PropNowPlaying].Value() != "abc" {
		t.Errorf("PropertiesChanged decoded as %+v, %v", ev, ok)
	}
}

func TestStateComplete(t *testing.T) {
	complete := map[State]bool{ReadyToBuy: true, Bought: true, Playing: true, Expired: true}
	for _, s := range States {
		if got := s.Complete(); got != complete[s] {
			t.Errorf("%q.Complete() = %v", s, got)
		}
	}
}
