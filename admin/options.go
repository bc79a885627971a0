package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Mode says how much the Admin UI is told (admin-ui's mode option).
type Mode string

const (
	// Development sends every socket's connection, rooms, disconnection
	// and events, and the list of sockets (the UI's Sockets, Rooms,
	// Clients and Events pages).
	Development Mode = "development"
	// Production sends only the periodic server statistics, with their
	// aggregated counts (the UI's dashboard).
	Production Mode = "production"
)

// BasicAuth is admin-ui's {type: "basic", username, password}: the UI's
// CONNECT must carry this username and a password matching the bcrypt hash
// Password ("$2b$10$...", as made by bcryptjs or `htpasswd -bnBC 10`).
type BasicAuth struct {
	Username string
	Password string // bcrypt hash
}

// Options configure Instrument. Exactly one of Auth and NoAuth must be set,
// as admin-ui requires auth to be given or explicitly false.
type Options struct {
	// NamespaceName is the admin namespace the UI connects to. Default
	// "/admin".
	NamespaceName string
	// Auth requires the UI to log in with a username and password.
	Auth *BasicAuth
	// NoAuth lets anyone connect to the admin namespace (auth: false).
	NoAuth bool
	// Readonly refuses every action of the UI (emit, join, leave,
	// disconnect): none is announced in the config event, and their
	// events are ignored.
	Readonly bool
	// ServerID names this server in the UI. Default: the host name.
	ServerID string
	// Mode is Development (the default, as admin-ui's when NODE_ENV is
	// unset) or Production.
	Mode Mode
	// Store keeps the session ids given to logged-in UIs, which the UI
	// presents instead of its password when it reconnects. Default: an
	// in-memory store that never forgets (admin-ui's InMemoryStore).
	Store Store
}

// Store keeps admin session ids (admin-ui's Store).
type Store interface {
	// DoesSessionExist reports whether sessionID was saved.
	DoesSessionExist(ctx context.Context, sessionID string) (bool, error)
	// SaveSession saves sessionID.
	SaveSession(ctx context.Context, sessionID string) error
}

// NewMemoryStore returns a Store in memory; its sessions live as long as
// the process (admin-ui's InMemoryStore).
func NewMemoryStore() Store { return &memoryStore{ids: map[string]struct{}{}} }

type memoryStore struct {
	mu  sync.Mutex
	ids map[string]struct{} // guarded by mu
}

func (m *memoryStore) DoesSessionExist(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.ids[id]
	return ok, nil
}

func (m *memoryStore) SaveSession(_ context.Context, id string) error {
	m.mu.Lock()
	m.ids[id] = struct{}{}
	m.mu.Unlock()
	return nil
}

// withDefaults checks o and fills in its defaults, with the errors
// admin-ui throws for the same mistakes.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Auth == nil && !o.NoAuth:
		return o, errors.New("admin: the Auth option must be specified or NoAuth set explicitly")
	case o.Auth != nil && o.NoAuth:
		return o, errors.New("admin: Auth and NoAuth are both set")
	case o.Auth != nil:
		if _, err := bcrypt.Cost([]byte(o.Auth.Password)); err != nil {
			return o, errors.New("admin: the Password field must be a valid bcrypt hash")
		}
	}
	if o.NamespaceName == "" {
		o.NamespaceName = "/admin"
	}
	if o.NamespaceName[0] != '/' {
		o.NamespaceName = "/" + o.NamespaceName
	}
	switch o.Mode {
	case "":
		o.Mode = Development
	case Development, Production:
	default:
		return o, fmt.Errorf("admin: unknown mode %q (want %q or %q)", o.Mode, Development, Production)
	}
	if o.Store == nil {
		o.Store = NewMemoryStore()
	}
	return o, nil
}

// randomID is admin-ui's session id: 8 random bytes in hex.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
