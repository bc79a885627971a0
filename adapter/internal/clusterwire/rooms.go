package clusterwire

import "encoding/json"

// Rooms decodes a JSON array of room names. JavaScript users may pass
// numbers (io.to(123)), which name the room "123", so an array that is not
// all strings is read element by element. null decodes to nil.
type Rooms []string

func (rs *Rooms) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*rs = nil
		return nil
	}
	var names []string
	if json.Unmarshal(b, &names) == nil {
		*rs = names // all strings: the usual case
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		if len(r) > 0 && r[0] == '"' {
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return err
			}
			out = append(out, s)
			continue
		}
		var n json.Number
		if err := json.Unmarshal(r, &n); err != nil {
			return err
		}
		// The JSON text of a number is how JavaScript prints it: JSON.stringify
		// and internal/msgpack both write Number.prototype.toString's form.
		out = append(out, n.String())
	}
	*rs = out
	return nil
}
