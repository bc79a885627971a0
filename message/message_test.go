package message

import (
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	for _, data := range []string{`{}`, `[1,`, `"x"`} {
		if _, err := Parse([]byte(data), nil); err == nil {
			t.Errorf("Parse(%s): no error", data)
		}
	}
	m, err := Parse(nil, nil)
	if err != nil || m.Len() != 0 || m.Arg(0) != nil {
		t.Fatalf("Parse(nil) = %d args, %v", m.Len(), err)
	}
}

func TestDecodeMissingArgument(t *testing.T) {
	m, err := ParseEvent([]byte(`["ev",1]`), nil)
	if err != nil {
		t.Fatal(err)
	}
	var a, b int
	err = m.Decode(&a, &b)
	if err == nil || !strings.Contains(err.Error(), "argument 1 missing") || a != 1 {
		t.Fatalf("Decode = %v (a=%d), want argument 1 missing", err, a)
	}
	if err := m.Decode(nil); err != nil {
		t.Fatalf("Decode(nil): %v", err)
	}
}
