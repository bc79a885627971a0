package loop

import (
	"compress/flate"
	"unicode/utf8"

	"github.com/valyala/bytebufferpool"

	"github.com/sioloop/sioloop/wsframe"
)

// deflateState is a connection's permessage-deflate agreement, allocated
// at the upgrade only for connections that negotiated it.
type deflateState struct {
	threshold int
	level     int
	in        wsframe.Inflater // loop-only
}

func newDeflateState(cfg *PerMessageDeflate, d wsframe.DeflateOffer) *deflateState {
	s := &deflateState{threshold: cfg.threshold(), level: cfg.Level}
	if d.HuffmanOnly {
		s.level = flate.HuffmanOnly
	}
	s.in.NoContext = d.ClientNoContextTakeover
	return s
}

// inflatePool holds the buffers compressed messages are inflated into; a
// buffer is held only while its message is delivered.
var inflatePool bytebufferpool.Pool

// deliverCompressed inflates a compressed data message, checks a text
// message's UTF-8 and hands it to the frame handler. An error is a
// *wsframe.CloseError: the connection must close with its code. Loop-only.
func (c *conn) deliverCompressed(msg wsframe.Message) error {
	b := inflatePool.Get()
	defer inflatePool.Put(b)
	var err error
	b.B, err = c.deflate().in.Inflate(b.B[:0], msg.Payload, c.srv.cfg.MaxMessageBytes)
	if err != nil {
		b.B = b.B[:0]
		return err
	}
	binary := msg.Kind == wsframe.KindBinary
	if !binary && !utf8.Valid(b.B) {
		return wsframe.ErrInflatedUTF8
	}
	c.fh.OnMessage(c, binary, b.B)
	return nil
}
