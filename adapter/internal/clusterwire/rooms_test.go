package clusterwire

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestRoomsUnmarshal(t *testing.T) {
	for _, tc := range []struct {
		name, in         string
		want             []string
		wantNil, wantErr bool // decodes to nil (null); is refused
	}{
		{name: "strings", in: `["a","b"]`, want: []string{"a", "b"}},
		{name: "numbers as JavaScript prints them", in: `[123,"x",2.5]`, want: []string{"123", "x", "2.5"}},
		{name: "escaped string among numbers", in: `[1,"\u00e9"]`, want: []string{"1", "é"}},
		{name: "empty is not nil", in: `[]`, want: []string{}},
		{name: "null is nil", in: `null`, wantNil: true},
		{name: "object", in: `{}`, wantErr: true},
		{name: "boolean element", in: `[true]`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got Rooms
			err := json.Unmarshal([]byte(tc.in), &got)
			switch {
			case tc.wantErr:
				if err == nil {
					t.Fatalf("got %q, want an error", got)
				}
			case err != nil:
				t.Fatal(err)
			case tc.wantNil:
				if got != nil {
					t.Fatalf("got %#v, want nil", got)
				}
			case got == nil || !slices.Equal(got, tc.want):
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}
