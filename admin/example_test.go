package admin_test

import (
	"fmt"
	"log"

	"github.com/sioloop/sioloop/admin"
	"github.com/sioloop/sioloop/sio"
)

// The server side of the Admin UI, as instrument(io, {auth: {...}}) sets
// it up on a Node server, for the UI hosted at https://admin.socket.io.
func ExampleInstrument() {
	srv := sio.NewServer(sio.Config{
		CORS: &sio.CORS{Origins: []string{"https://admin.socket.io"}, Credentials: true},
	})
	in, err := admin.Instrument(srv, admin.Options{
		Auth: &admin.BasicAuth{
			Username: "admin",
			// bcrypt of "changeit"
			Password: "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS",
		},
		Mode: admin.Development,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()
	fmt.Println("the UI connects to", in.Namespace().Name())
	// log.Fatal(srv.ListenAndServe(":3000", nil))

	// Output: the UI connects to /admin
}

// auth: false is NoAuth; forgetting both is refused, as admin-ui refuses it.
func ExampleInstrument_noAuth() {
	srv := sio.NewServer(sio.Config{})
	_, err := admin.Instrument(srv, admin.Options{})
	fmt.Println(err)
	in, err := admin.Instrument(srv, admin.Options{NoAuth: true, Readonly: true, NamespaceName: "/ops"})
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()
	fmt.Println(in.Namespace().Name())

	// Output:
	// admin: the Auth option must be specified or NoAuth set explicitly
	// /ops
}
