package wsframe

import (
	"compress/flate"
	"encoding/binary"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// The permessage-deflate extension (RFC 7692).
//
// The server side always answers with server_no_context_takeover: every
// compressed message it sends stands alone, so one compressed encoding of
// a broadcast can be written to every connection that negotiated the
// extension, and no compressor is kept per connection (compressors are
// pooled). What the client sends is inflated as the client offered: with
// client_no_context_takeover each message alone, without it against the
// previous 32 KiB of the connection's decompressed input (Inflater).

// DeflateOffer is the outcome of a permessage-deflate negotiation: what
// the server agreed to in its 101 response.
type DeflateOffer struct {
	// ClientNoContextTakeover: the client resets its compressor for every
	// message, so each message is inflated alone.
	ClientNoContextTakeover bool
	// HuffmanOnly: the client limited the server window to fewer than 15
	// bits (server_max_window_bits). compress/flate cannot shrink its
	// window, so messages are then compressed with Huffman coding alone,
	// which uses no back-references and so fits any window.
	HuffmanOnly bool
	// Response is the Sec-WebSocket-Extensions header line to add to the
	// 101 response, "Sec-WebSocket-Extensions: permessage-deflate; ...".
	Response string
}

// NegotiateDeflate reads a Sec-WebSocket-Extensions request value (joined
// with ", " when repeated) and accepts the first acceptable
// permessage-deflate offer in it, as RFC 7692 §5 and §7 say: an offer with
// an unknown, repeated or invalid parameter is declined, and so is nothing
// else. ok is false when no offer is acceptable; the 101 then names no
// extension and frames with RSV bits stay errors.
func NegotiateDeflate(extensions string) (d DeflateOffer, ok bool) {
	if !strings.Contains(extensions, wsflate.ExtensionName) {
		return DeflateOffer{}, false // the common case, without parsing
	}
	opts, valid := httphead.ParseOptions([]byte(extensions), nil)
	if !valid {
		return DeflateOffer{}, false
	}
	for _, opt := range opts {
		if string(opt.Name) != wsflate.ExtensionName {
			continue
		}
		if !uniqueParams(opt) {
			continue
		}
		var p wsflate.Parameters
		if p.Parse(opt) != nil {
			continue
		}
		var b strings.Builder
		b.WriteString("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover")
		if p.ClientNoContextTakeover {
			b.WriteString("; client_no_context_takeover")
		}
		if bits := p.ServerMaxWindowBits; bits.Defined() {
			// The offer limits our window: the response must carry the
			// parameter with the same or a smaller value (§7.1.2.1).
			b.WriteString("; server_max_window_bits=")
			b.WriteString(strconv.Itoa(int(bits)))
			d.HuffmanOnly = bits < 15
		}
		// client_max_window_bits, offered or not, is not echoed: the client
		// may then use any window up to 15 bits (§7.1.2.2), which the
		// inflater takes.
		d.ClientNoContextTakeover = p.ClientNoContextTakeover
		d.Response = b.String()
		return d, true
	}
	return DeflateOffer{}, false
}

// uniqueParams reports whether no parameter of opt is named twice.
// (wsflate.Parameters.Parse lets a repeated valueless
// client_max_window_bits through; RFC 7692 §7 declines any repetition.)
func uniqueParams(opt httphead.Option) bool {
	var seen []string
	ok := true
	opt.Parameters.ForEach(func(k, _ []byte) bool {
		for _, s := range seen {
			if s == string(k) {
				ok = false
				return false
			}
		}
		seen = append(seen, string(k))
		return true
	})
	return ok
}

// deflateTail is the end of a sync flush, which a sender removes from
// every compressed message (RFC 7692 §7.2.1) and the receiver appends
// again (§7.2.2).
var deflateTail = [4]byte{0x00, 0x00, 0xff, 0xff}

// inflateTail is deflateTail followed by an empty final stored block, so
// that flate's reader ends at the message's end with io.EOF instead of
// waiting for a block that never comes.
var inflateTail = [9]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// windowSize is the largest LZ77 window (15 bits), the history a message
// may refer to when the client keeps its context.
const windowSize = 1 << 15

// A compressor is a flate writer that appends to a byte slice.
type compressor struct {
	fw  *flate.Writer
	out []byte
}

func (c *compressor) Write(p []byte) (int, error) {
	c.out = append(c.out, p...)
	return len(p), nil
}

// compressors pools flate writers by level (index level+2, HuffmanOnly
// being -2): a writer holds several hundred KiB of window and tables and
// is never kept by a connection, only borrowed for one message.
var compressors [flate.BestCompression + 3]sync.Pool

// validLevel maps 0, and anything that compress/flate refuses, to
// flate.BestSpeed: on JSON-like text compress/flate takes about 20 times
// as long at its default level 6 as at level 1, for a third fewer bytes
// (BenchmarkDeflate), unlike zlib, whose level 6 the ws npm package uses.
func validLevel(level int) int {
	if level == flate.NoCompression || level < flate.HuffmanOnly || level > flate.BestCompression {
		return flate.BestSpeed
	}
	return level
}

// AppendDeflatedFrame appends one final unmasked frame with opcode op (text
// or binary) whose payload is p compressed at the given compress/flate
// level, RSV1 set and the trailing 00 00 ff ff removed (RFC 7692 §7.2.1).
// The compression context is not kept (server_no_context_takeover). Level
// 0 (or a level compress/flate does not know) means flate.BestSpeed. Safe for concurrent use; compressors
// are pooled, so it does not allocate once dst is large enough.
func AppendDeflatedFrame(dst []byte, op ws.OpCode, p []byte, level int) []byte {
	level = validLevel(level)
	pool := &compressors[level+2]
	c, _ := pool.Get().(*compressor)
	if c == nil {
		c = new(compressor)
		fw, err := flate.NewWriter(c, level)
		if err != nil {
			panic("wsframe: flate level: " + err.Error()) // validLevel ruled it out
		}
		c.fw = fw
	} else {
		c.fw.Reset(c)
	}
	start := len(dst)
	c.out = append(dst, make([]byte, MaxHeaderSize)...)
	// Writes into c.out cannot fail.
	_, _ = c.fw.Write(p)
	_ = c.fw.Flush()
	out := c.out
	c.out = nil
	pool.Put(c)
	n := len(out) - start - MaxHeaderSize
	if n >= len(deflateTail) && [4]byte(out[len(out)-4:]) == deflateTail {
		out = out[:len(out)-4]
		n -= 4
	}
	end := start + MaxHeaderSize
	h := PutHeader(out, end, op, n)
	out[h] |= rsv1Bit
	if h != start {
		m := copy(out[start:], out[h:])
		out = out[:start+m]
	}
	return out
}

// rsv1Bit marks a compressed message (RFC 7692 §6).
const rsv1Bit = 0x40

// inflater is a pooled flate reader with the source it reads: a message
// followed by inflateTail. The source is a ByteReader, so flate reads it
// without a bufio.Reader of its own.
type inflater struct {
	fr   io.ReadCloser
	p    []byte
	tail int
}

func (f *inflater) ReadByte() (byte, error) {
	if len(f.p) > 0 {
		b := f.p[0]
		f.p = f.p[1:]
		return b, nil
	}
	if f.tail < len(inflateTail) {
		b := inflateTail[f.tail]
		f.tail++
		return b, nil
	}
	return 0, io.EOF
}

func (f *inflater) Read(b []byte) (int, error) {
	if len(f.p) > 0 {
		n := copy(b, f.p)
		f.p = f.p[n:]
		return n, nil
	}
	if f.tail < len(inflateTail) {
		n := copy(b, inflateTail[f.tail:])
		f.tail += n
		return n, nil
	}
	return 0, io.EOF
}

var inflaters sync.Pool

// Inflater decompresses the messages a client sent compressed on one
// connection. The zero value inflates with context takeover: each message
// may refer to the last 32 KiB of the messages before it, which the
// Inflater keeps (a 32 KiB buffer, allocated by the first compressed
// message). With NoContext (client_no_context_takeover negotiated) it
// keeps nothing. The flate readers themselves (about 43 KiB each) are
// pooled and held only during Inflate. Not safe for concurrent use.
type Inflater struct {
	// NoContext: every message was compressed alone.
	NoContext bool
	window    []byte
}

// Inflate's errors: ErrInflate for compressed data that does not inflate
// (close 1007, as the ws npm package answers), ErrInflateTooBig for a
// message that inflates past the limit (close 1009). ErrInflatedUTF8 is
// for the caller to report an inflated text message that is not UTF-8
// (close 1007), the check Decoder leaves to it.
var (
	ErrInflatedUTF8  = errInvalidUTF8
	ErrInflate       = &CloseError{Code: ws.StatusInvalidFramePayloadData, Reason: "invalid compressed data"}
	ErrInflateTooBig = &CloseError{Code: ws.StatusMessageTooBig, Reason: "Max payload size exceeded"}
)

// Inflate appends the decompression of p, one message payload without its
// 00 00 ff ff tail, to dst. It stops, with ErrInflateTooBig, as soon as
// the message inflates past limit bytes (limit <= 0 means
// DefaultMaxMessageSize), so a small frame that would expand enormously
// costs no more than limit+1 bytes of dst. Malformed data gives
// ErrInflate. After an error the Inflater's context is undefined: the
// connection must close.
func (z *Inflater) Inflate(dst, p []byte, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxMessageSize
	}
	f, _ := inflaters.Get().(*inflater)
	if f == nil {
		f = new(inflater)
	}
	f.p, f.tail = p, 0
	var dict []byte
	if !z.NoContext {
		dict = z.window
	}
	if f.fr == nil {
		f.fr = flate.NewReaderDict(f, dict)
	} else if err := f.fr.(flate.Resetter).Reset(f, dict); err != nil {
		panic("wsframe: flate reset: " + err.Error()) // only fails for a bad source type
	}
	start := len(dst)
	var err error
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		room := dst[len(dst):cap(dst)]
		if over := int64(len(dst)-start) + int64(len(room)) - limit - 1; over > 0 {
			room = room[:int64(len(room))-over] // read at most limit+1 bytes in all
		}
		n, rerr := f.fr.Read(room)
		dst = dst[:len(dst)+n]
		if int64(len(dst)-start) > limit {
			err = ErrInflateTooBig
			break
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			err = ErrInflate
			break
		}
	}
	f.p = nil
	inflaters.Put(f)
	if err != nil {
		return dst, err
	}
	if !z.NoContext {
		z.remember(dst[start:])
	}
	return dst, nil
}

// remember keeps the last windowSize bytes of the input so far.
func (z *Inflater) remember(m []byte) {
	if z.window == nil {
		z.window = make([]byte, 0, windowSize)
	}
	if len(m) >= windowSize {
		z.window = append(z.window[:0], m[len(m)-windowSize:]...)
		return
	}
	if keep := windowSize - len(m); len(z.window) > keep {
		n := copy(z.window, z.window[len(z.window)-keep:])
		z.window = z.window[:n]
	}
	z.window = append(z.window, m...)
}

// Reset drops the context: the next message is inflated alone. The
// window buffer is freed.
func (z *Inflater) Reset() { z.window = nil }

// AppendDeflatedFrames appends frames, a run of complete final unmasked
// server frames such as AppendFrame writes, to dst with every text or
// binary frame whose payload is at least threshold bytes compressed as by
// AppendDeflatedFrame; other frames are copied as they are. It is how one
// compressed encoding of a broadcast is built for all the connections
// that negotiated permessage-deflate. It panics if frames is not such a
// run.
func AppendDeflatedFrames(dst, frames []byte, threshold, level int) []byte {
	for len(frames) > 0 {
		if len(frames) < 2 || frames[1]&maskBit != 0 || frames[0]&(finBit|rsvBits) != finBit {
			panic("wsframe: not a run of final unmasked frames")
		}
		op := ws.OpCode(frames[0] & opBits)
		h, n := 2, int(frames[1]&lenBits)
		switch n {
		case 126:
			h, n = 4, int(binary.BigEndian.Uint16(frames[2:4]))
		case 127:
			h, n = 10, int(binary.BigEndian.Uint64(frames[2:10]))
		}
		if h+n > len(frames) {
			panic("wsframe: truncated frame")
		}
		if (op == ws.OpText || op == ws.OpBinary) && n >= threshold {
			dst = AppendDeflatedFrame(dst, op, frames[h:h+n], level)
		} else {
			dst = append(dst, frames[:h+n]...)
		}
		frames = frames[h+n:]
	}
	return dst
}
