package interop_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// Types of TestSIOStructBinary: []byte in struct fields at several depths.
type (
	sbPart struct {
		Seq  int    `json:"seq"`
		Data []byte `json:"data"`
	}
	sbDoc struct {
		Title  string            `json:"title"`
		Cover  []byte            `json:"cover"`
		Parts  []sbPart          `json:"parts"`
		ByName map[string]sbPart `json:"byName"`
		Thumb  *[]byte           `json:"thumb"`
		Empty  []byte            `json:"empty,omitempty"`
		Nil    []byte            `json:"nil"`
		Raw    json.RawMessage   `json:"raw"`
		Meta   struct {
			Inner struct {
				Deep []byte `json:"deep"`
			} `json:"inner"`
		} `json:"meta"`
	}
	sbUpload struct {
		Name string `json:"name"`
		Blob []byte `json:"blob"`
		Meta struct {
			Parts []sbPart `json:"parts"`
			Cover []byte   `json:"cover"`
		} `json:"meta"`
	}
)

func sbNewDoc(title string) sbDoc {
	thumb := []byte{0x70}
	d := sbDoc{
		Title:  title,
		Cover:  []byte{0xc0, 0x0e},
		Parts:  []sbPart{{Seq: 1, Data: []byte{1}}, {Seq: 2, Data: []byte{2, 2}}},
		ByName: map[string]sbPart{"b": {Seq: 4, Data: []byte{0xbb}}, "a": {Seq: 3, Data: []byte{0xaa}}},
		Thumb:  &thumb,
		Empty:  []byte{},
		Raw:    json.RawMessage(`{"kept":"AQI="}`),
	}
	d.Meta.Inner.Deep = []byte{0xde, 0xe9}
	return d
}

// sbWantDoc is what the client reports for sbNewDoc(title): every []byte a
// Buffer, the empty omitempty field absent, the nil one null, the raw JSON
// unchanged.
func sbWantDoc(title string) string {
	return `{"title":"` + title + `","cover":{"$buffer":"c00e"},` +
		`"parts":[{"seq":1,"data":{"$buffer":"01"}},{"seq":2,"data":{"$buffer":"0202"}}],` +
		`"byName":{"a":{"seq":3,"data":{"$buffer":"aa"}},"b":{"seq":4,"data":{"$buffer":"bb"}}},` +
		`"thumb":{"$buffer":"70"},"nil":null,"raw":{"kept":"AQI="},"meta":{"inner":{"deep":{"$buffer":"dee9"}}}}`
}

// TestSIOStructBinary: Go structs with []byte fields reach the real
// socket.io-client as Buffer objects at those places, by ack, emit and
// broadcast; nested Buffer, typed array and ArrayBuffer values sent by the
// client decode into []byte struct fields.
func TestSIOStructBinary(t *testing.T) {
	t.Parallel()
	requireNode(t)
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			rec := newRecord()
			_, url := startSIO(t, onLoops, sio.Config{}, func(srv *sio.Server) {
				srv.OnConnection(func(s *sio.Socket) {
					s.On("send-docs", func(ev *sio.Event) {
						if err := s.Emit("doc", sbNewDoc("emit")); err != nil {
							rec.add("send-docs", "emit: %v", err)
						}
						d := sbNewDoc("bcast")
						if err := srv.Emit("doc-bcast", &d); err != nil {
							rec.add("send-docs", "broadcast: %v", err)
						}
						if err := ev.Ack(sbNewDoc("ack")); err != nil {
							rec.add("send-docs", "ack: %v", err)
						}
					})
					s.On("upload", func(ev *sio.Event) {
						var up sbUpload
						if err := ev.Decode(&up); err != nil {
							rec.add("upload", "decode: %v", err)
							return
						}
						var parts string
						for _, p := range up.Meta.Parts {
							parts += fmt.Sprintf(" %d=%x", p.Seq, p.Data)
						}
						rec.add("upload", "name=%s blob=%x cover=%x parts:%s", up.Name, up.Blob, up.Meta.Cover, parts)
						if err := ev.Ack(up); err != nil {
							rec.add("upload", "ack: %v", err)
						}
					})
				})
			})
			var got struct {
				Ack, Doc, Bcast, Upload json.RawMessage
			}
			runNode(t, 20*time.Second, &got, "sio.mjs", "structBinary", url, jsonArg(t, map[string]any{"transports": []string{tr}}))

			if e := rec.get("send-docs"); len(e) != 0 {
				t.Errorf("server: %q", e)
			}
			for _, c := range []struct {
				what string
				got  json.RawMessage
				want string
			}{
				{"ack", got.Ack, sbWantDoc("ack")},
				{"emit", got.Doc, sbWantDoc("emit")},
				{"broadcast", got.Bcast, sbWantDoc("bcast")},
				{"upload ack", got.Upload, `{"name":"f.bin","blob":{"$buffer":"cafe"},` +
					`"meta":{"parts":[{"seq":1,"data":{"$buffer":"01"}},{"seq":2,"data":{"$buffer":"0202"}}],"cover":{"$buffer":"03"}}}`},
			} {
				if !jsonEqual(c.got, c.want) {
					t.Errorf("client got %s\n%s\nwant\n%s", c.what, c.got, c.want)
				}
			}
			if want := []string{"name=f.bin blob=cafe cover=03 parts: 1=01 2=0202"}; !equalStrings(rec.get("upload"), want) {
				t.Errorf("server decoded upload %q, want %q", rec.get("upload"), want)
			}
		})
	}
}
