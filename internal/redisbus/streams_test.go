package redisbus

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/sioloop/sioloop/internal/redistest"
)

func TestStreamsCommands(t *testing.T) {
	srv := redistest.Start(t)
	b := newBus(t, []string{srv.Addr()}, nil, nil)
	const stream = "socket.io"

	t.Run("xadd maxlen", func(t *testing.T) {
		var first, last string
		for i := 0; i < 250; i++ {
			id, err := b.XAdd(ctxT(t), stream, 10, "uid", "u1", "nsp", "/", "type", "3", "data", `{"n":`+strconv.Itoa(i)+`}`)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = id
			}
			last = id
		}
		// MAXLEN ~ trims whole macro nodes (100 entries each by default):
		// shorter than 250, and at least 10.
		n, err := srv.Do("XLEN", stream)
		if err != nil {
			t.Fatal(err)
		}
		if l, _ := strconv.Atoi(n); l < 10 || l >= 250 {
			t.Fatalf("XLEN = %s after 250 XADDs with MAXLEN ~ 10", n)
		}
		if got, err := b.XRange(ctxT(t), stream, first, first, 0); err != nil || len(got) != 0 {
			t.Fatalf("the first entry survived the trim: %+v, %v", got, err)
		}
		got, err := b.XRange(ctxT(t), stream, last, last, 0)
		if err != nil || len(got) != 1 {
			t.Fatalf("XRange(last): %+v, %v", got, err)
		}
		want := Entry{ID: last, Fields: []string{"uid", "u1", "nsp", "/", "type", "3", "data", `{"n":249}`}}
		if got[0].ID != want.ID || len(got[0].Fields) != len(want.Fields) {
			t.Fatalf("XRange: %+v, want %+v", got[0], want)
		}
		for i := range want.Fields {
			if got[0].Fields[i] != want.Fields[i] {
				t.Fatalf("XRange: %+v, want %+v", got[0], want)
			}
		}
		if v, ok := got[0].Get("type"); !ok || v != "3" {
			t.Fatalf("Get(type) = %q, %v", v, ok)
		}
		all, err := b.XRange(ctxT(t), stream, "-", "+", 5)
		if err != nil || len(all) != 5 {
			t.Fatalf("XRange COUNT 5: %d entries, %v", len(all), err)
		}
	})

	t.Run("xread", func(t *testing.T) {
		last, err := b.XAdd(ctxT(t), stream, 1000, "nsp", "/", "data", "before")
		if err != nil {
			t.Fatal(err)
		}
		// A blocking read from the last ID returns the next entry, whether
		// it was added before or after the read started.
		type result struct {
			entries []Entry
			err     error
		}
		read := make(chan result, 1)
		go func() {
			e, err := b.XRead(ctxT(t), stream, last, 100, 30*time.Second)
			read <- result{e, err}
		}()
		next, err := b.XAdd(ctxT(t), stream, 1000, "nsp", "/", "data", "after")
		if err != nil {
			t.Fatal(err)
		}
		r := <-read
		if r.err != nil || len(r.entries) != 1 || r.entries[0].ID != next {
			t.Fatalf("XRead: %+v, %v; want the entry %s", r.entries, r.err, next)
		}
		// A block that times out returns nothing.
		if e, err := b.XRead(ctxT(t), stream, next, 100, 50*time.Millisecond); err != nil || e != nil {
			t.Fatalf("XRead timeout: %+v, %v", e, err)
		}
		// A context that ends first ends a read blocked forever.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := b.XRead(ctx, stream, "$", 100, 0); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("XRead with an ended context: %v", err)
		}
		// The Bus still reads afterwards.
		if e, err := b.XRange(ctxT(t), stream, next, next, 0); err != nil || len(e) != 1 {
			t.Fatalf("XRange after a cancelled XRead: %+v, %v", e, err)
		}
	})

	t.Run("session", func(t *testing.T) {
		const key = "sio:session:pid1"
		value := []byte{0x84, 0xa3, 's', 'i', 'd', 0}
		if err := b.SetPX(ctxT(t), key, value, 2*time.Minute); err != nil {
			t.Fatal(err)
		}
		value[0] = 0 // SetPX copied it
		pttl, err := srv.Do("PTTL", key)
		if err != nil {
			t.Fatal(err)
		}
		if ms, _ := strconv.Atoi(pttl); ms <= 0 || ms > 120000 {
			t.Fatalf("PTTL = %s, want (0, 120000]", pttl)
		}
		got, ok, err := b.GetDel(ctxT(t), key)
		if err != nil || !ok || string(got) != "\x84\xa3sid\x00" {
			t.Fatalf("GetDel = %q, %v, %v", got, ok, err)
		}
		if got, ok, err := b.GetDel(ctxT(t), key); err != nil || ok || got != nil {
			t.Fatalf("second GetDel = %q, %v, %v; want nothing", got, ok, err)
		}
	})
}
