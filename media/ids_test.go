package media

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
)

func TestParseItemID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"lowercase", "00112233445566778899aabbccddeeff", true},
		{"uppercase", "00112233445566778899AABBCCDDEEFF", true},
		{"empty", "", false},
		{"short", "00112233445566778899aabbccddeef", false},
		{"long", "00112233445566778899aabbccddeeff0", false},
		{"not hex", "00112233445566778899aabbccddeefg", false},
		{"huge", strings.Repeat("0", 1<<20), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ParseItemID(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseItemID(%.40q) error = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil {
				if !id.IsZero() {
					t.Errorf("id = %s on error, want zero", id)
				}
				if len(err.Error()) > 200 {
					t.Errorf("error message is %d bytes long", len(err.Error()))
				}
				return
			}
			if got := id.String(); got != strings.ToLower(tt.in) {
				t.Errorf("String() = %s, want %s", got, strings.ToLower(tt.in))
			}
			b, err := ParseBoxID(tt.in)
			if err != nil || b.String() != id.String() {
				t.Errorf("ParseBoxID = %s, %v", b, err)
			}
		})
	}
}

func TestIDsText(t *testing.T) {
	item, err := NewItemID()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewItemID()
	if item.IsZero() || item == other {
		t.Fatalf("NewItemID gave %s and %s", item, other)
	}
	box := BoxIDFromKey(make(ed25519.PublicKey, ed25519.PublicKeySize))

	// As struct fields and as map keys, ids are hex strings.
	type doc struct {
		Box   BoxID          `json:"box"`
		Items map[ItemID]int `json:"items"`
	}
	in := doc{Box: box, Items: map[ItemID]int{item: 1, other: 2}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"box":"`+box.String()+`"`) || !strings.Contains(string(b), `"`+item.String()+`":1`) {
		t.Fatalf("JSON = %s", b)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Box != box || len(out.Items) != 2 || out.Items[item] != 1 || out.Items[other] != 2 {
		t.Fatalf("round trip = %+v, want %+v", out, in)
	}

	// A bad id is an error, and leaves the old value alone.
	if err := json.Unmarshal([]byte(`{"box":"nope"}`), &out); err == nil || out.Box != box {
		t.Fatalf("bad box id: err %v, box %s", err, out.Box)
	}
	if err := out.Box.UnmarshalText([]byte("zz")); err == nil || out.Box != box {
		t.Fatalf("UnmarshalText(zz): err %v, box %s", err, out.Box)
	}
}

func TestBoxIDFromKey(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pub)
	id := BoxIDFromKey(pub)
	if string(id[:]) != string(sum[:16]) {
		t.Fatalf("BoxIDFromKey = %s, want first half of SHA-256 %x", id, sum[:16])
	}
	if id.IsZero() || (BoxID{}).String() != strings.Repeat("0", 32) {
		t.Fatal("IsZero or String of the zero id is wrong")
	}
	if BoxIDFromKey(nil).IsZero() { // no panic, and not the zero id
		t.Fatal("BoxIDFromKey(nil) is zero")
	}
}

func TestNewContentKey(t *testing.T) {
	a, err := NewContentKey()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewContentKey()
	if a == b || a == (ContentKey{}) {
		t.Fatal("content keys are not random")
	}
}
