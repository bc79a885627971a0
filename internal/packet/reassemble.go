package packet

// DefaultMaxAttachmentBytes is Reassembler.MaxAttachmentBytes when it is <= 0:
// the reference maxHttpBufferSize (1e6), so a binary packet cannot hold more
// than one maximal message's worth of attachments (CVE-2020-36049, in
// socket.io-parser, was a huge packet built by concatenation).
const DefaultMaxAttachmentBytes = 1_000_000

// Reassembler collects the binary attachments that follow a BinaryEvent or
// BinaryAck header (Packet encoding in the Socket.IO v5 protocol, socket.io
// docs/socket.io-protocol/v5-current.md). One Reassembler belongs to one
// Engine.IO connection and is used from one goroutine at a time. Its zero
// value is ready to use.
//
// The reference treats a text packet while attachments are pending, and a
// binary message while none are, as decode errors that close the connection:
// the caller checks Pending before decoding a text packet, and Add reports the
// second case.
type Reassembler struct {
	// MaxAttachmentBytes caps the total size of one packet's attachments, in
	// bytes. <= 0 means DefaultMaxAttachmentBytes.
	MaxAttachmentBytes int64

	pending bool
	p       Packet
	atts    [][]byte
	total   int64
}

// Start begins collecting attachments for p, a BinaryEvent or BinaryAck from
// Decode. It validates the placeholders in p.Data against p.Attachments (so a
// bad header is refused before any attachment is buffered) and copies p.Data,
// because Decode's output aliases a borrowed input buffer. It fails with
// ErrPending if a packet is already pending, ErrNotBinary for other packets,
// or ErrPlaceholder/ErrJSON for bad placeholders; on error the state is
// unchanged.
func (r *Reassembler) Start(p Packet) error {
	if r.pending {
		return ErrPending
	}
	if !p.Type.IsBinary() || p.Attachments < 1 {
		return ErrNotBinary
	}
	if p.Data != nil {
		if err := ValidatePlaceholders(p.Data, p.Attachments); err != nil {
			return err
		}
		p.Data = append([]byte(nil), p.Data...)
	}
	r.p = p
	// Decode caps Attachments; min guards hand-built packets.
	r.atts = make([][]byte, 0, min(p.Attachments, DefaultMaxAttachments))
	r.total = 0
	r.pending = true
	return nil
}

// Add takes the next binary message (an attachment) and copies it, since
// transport buffers are borrowed. When it was the last one, Add returns
// done=true with the header packet and the attachments in order; both are
// owned by the caller from then on (the Reassembler keeps no reference) and
// the Reassembler is ready for the next Start. Add fails with
// ErrUnexpectedBinary when nothing is pending and with ErrAttachmentSize when
// the attachments exceed MaxAttachmentBytes; after an error nothing is
// pending.
func (r *Reassembler) Add(bin []byte) (done bool, p Packet, atts [][]byte, err error) {
	if !r.pending {
		return false, Packet{}, nil, ErrUnexpectedBinary
	}
	limit := r.MaxAttachmentBytes
	if limit <= 0 {
		limit = DefaultMaxAttachmentBytes
	}
	r.total += int64(len(bin))
	if r.total > limit {
		r.Reset()
		return false, Packet{}, nil, ErrAttachmentSize
	}
	r.atts = append(r.atts, append(make([]byte, 0, len(bin)), bin...))
	if len(r.atts) < r.p.Attachments {
		return false, Packet{}, nil, nil
	}
	p, atts = r.p, r.atts
	r.Reset()
	return true, p, atts, nil
}

// Pending reports whether a binary packet is waiting for attachments. A text
// packet arriving while Pending is true is a protocol error.
func (r *Reassembler) Pending() bool { return r.pending }

// Reset drops any pending packet and its attachments, e.g. when the
// connection closes.
func (r *Reassembler) Reset() {
	r.pending = false
	r.p = Packet{}
	r.atts = nil
	r.total = 0
}
