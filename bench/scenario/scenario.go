package scenario

import (
	"encoding/json"

	"github.com/sioloop/sioloop/sio"
)

// Register installs the contract's events on every socket of srv's main
// namespace:
//
//   - "join": join the room named by the first argument, then ack "ok";
//   - "bcast": io.to(obj.room).emit("msg", obj), forwarding the object's
//     raw JSON without re-encoding it;
//   - "echo": ack with the same argument.
func Register(srv *sio.Server) {
	srv.OnConnection(func(s *sio.Socket) {
		s.On("join", func(ev *sio.Event) {
			var room string
			if err := ev.Decode(&room); err != nil {
				return
			}
			s.Join(room)
			_ = ev.Ack("ok")
		})
		s.On("bcast", func(ev *sio.Event) {
			var target struct {
				Room string `json:"room"`
			}
			obj := ev.Arg(0)
			if err := json.Unmarshal(obj, &target); err != nil {
				return
			}
			_ = srv.To(target.Room).Emit("msg", obj)
		})
		s.On("echo", func(ev *sio.Event) {
			_ = ev.Ack(ev.Arg(0))
		})
	})
}
