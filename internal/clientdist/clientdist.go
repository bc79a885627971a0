package clientdist

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// distFS holds dist/README.txt on a fresh clone and, after build.mjs, the
// client files, their .gz and .br siblings, LICENSE and VERSION.
//
//go:embed dist
var distFS embed.FS

// fileNames lists what socket.io 4.8 serves (CLIENT_FILES in
// packages/socket.io/lib/index.ts); build.mjs copies the same list.
var fileNames = [...]string{
	"socket.io.js",
	"socket.io.js.map",
	"socket.io.min.js",
	"socket.io.min.js.map",
	"socket.io.esm.min.js",
	"socket.io.esm.min.js.map",
	"socket.io.msgpack.min.js",
	"socket.io.msgpack.min.js.map",
}

// IsFile reports whether name (a bare file name such as "socket.io.min.js")
// is one of the client files socket.io serves.
func IsFile(name string) bool {
	switch name {
	case "socket.io.js", "socket.io.js.map",
		"socket.io.min.js", "socket.io.min.js.map",
		"socket.io.esm.min.js", "socket.io.esm.min.js.map",
		"socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map":
		return true
	}
	return false
}

// The header values socket.io sends (serve() in packages/socket.io/lib/index.ts).
const (
	cacheControl   = "public, max-age=0"
	typeJavaScript = "application/javascript; charset=utf-8"
	typeSourceMap  = "application/json; charset=utf-8"
)

// NotBuiltMessage is the body of the 503 reply sent for every client file
// when the binary was compiled without the embedded bundle, which is always
// the case for a program that gets sioloop as a module dependency.
const NotBuiltMessage = "socket.io client bundle not built: this server was compiled without the files in internal/clientdist/dist,\n" +
	"which are not committed to sioloop and so are never part of a module download.\n" +
	"\n" +
	"In an application that depends on the module github.com/sioloop/sioloop, write the client files\n" +
	"into a package of your own with one command, run from your module root:\n" +
	"\n" +
	"    go run github.com/sioloop/sioloop/cmd/sioclient -out ./web/socketio\n" +
	"\n" +
	"(it fetches the pinned socket.io-client from the npm registry and checks its integrity hash), then\n" +
	"serve them with sio.Config{ClientFiles: socketio.Files}, importing that package. If you install\n" +
	"socket.io-client with npm instead, use sio.Config{ClientFiles: os.DirFS(\"node_modules/socket.io-client/dist\")}.\n" +
	"\n" +
	"In a sioloop checkout, build the embedded bundle from the repository root with:\n" +
	"\n" +
	"    make bundle\n" +
	"\n" +
	"(it runs `npm ci` and `node internal/clientdist/build.mjs`), then rebuild the server.\n" +
	"\n" +
	"Or set sio.Config.DisableClientBundle and load the client from elsewhere (a CDN, your own static files).\n"

// asset is one client file in up to three encodings (gzip or br nil when
// absent).
type asset struct {
	contentType string
	etag        string // the strong ETag, quoted
	identity    []byte
	gzip        []byte
	br          []byte
}

// Bundle is a set of client files ready to serve: the embedded one
// (Embedded) or one read by Load.
type Bundle struct {
	version string // the embedded bundle's socket.io-client version, or ""
	assets  map[string]*asset
	// missing is the reply for a client file the bundle lacks, by name.
	missing map[string]Reply
}

var loaded = sync.OnceValue(func() *Bundle { return parse(distFS) })

// Embedded returns the bundle compiled into the binary. When it was not
// built every client file is answered with 503 and NotBuiltMessage.
func Embedded() *Bundle { return loaded() }

// notBuilt is the reply to every client file of an unbuilt embedded bundle.
var notBuilt = Reply{
	Status:       http.StatusServiceUnavailable,
	ContentType:  "text/plain; charset=utf-8",
	CacheControl: "no-store",
	Body:         []byte(NotBuiltMessage),
}

// parse reads dist/ from fsys. Anything incomplete or odd yields a bundle
// that reports itself unavailable rather than serving half a client.
func parse(fsys fs.FS) *Bundle {
	v, err := fs.ReadFile(fsys, "dist/VERSION")
	if err != nil {
		return &Bundle{}
	}
	version := strings.TrimSpace(string(v))
	if !validVersion(version) {
		return &Bundle{}
	}
	b := &Bundle{
		version: version,
		assets:  make(map[string]*asset, len(fileNames)),
	}
	etag := `"` + version + `"`
	for _, name := range fileNames {
		a := &asset{contentType: contentType(name), etag: etag}
		var errs [3]error
		a.identity, errs[0] = fs.ReadFile(fsys, "dist/"+name)
		a.gzip, errs[1] = fs.ReadFile(fsys, "dist/"+name+".gz")
		a.br, errs[2] = fs.ReadFile(fsys, "dist/"+name+".br")
		for _, err := range errs {
			if err != nil {
				return &Bundle{}
			}
		}
		b.assets[name] = a
	}
	return b
}

func contentType(name string) string {
	if strings.HasSuffix(name, ".map") {
		return typeSourceMap
	}
	return typeJavaScript
}

// MaxFileSize bounds each client file Load reads, and each precompressed
// sibling. socket.io-client 4.8's largest file is about 300 KB.
const MaxFileSize = 16 << 20

// Load reads the client files from fsys, where they sit at the root under
// the names socket.io serves (socket.io.js, socket.io.min.js,
// socket.io.esm.min.js, socket.io.msgpack.min.js and their .map files, as
// in node_modules/socket.io-client/dist), and returns a bundle that serves
// them from memory. It reads fsys once; the bundle never touches it again.
//
// Each file gets a strong ETag derived from its content (a SHA-256 prefix),
// so a changed file gets a new one. A sibling name.gz is used as the gzip
// encoding when it decodes to the file (otherwise the file is compressed
// here); a sibling name.br is used as the brotli encoding as it is (the
// standard library cannot check it, so it must be current). Without a .gz
// sibling, Load compresses the file with gzip once.
//
// A client file missing from fsys, unreadable or larger than MaxFileSize is
// answered with 404 and a plain-text body naming it; the others are still
// served. The error lists every such file (nil when all are served).
func Load(fsys fs.FS) (*Bundle, error) {
	b := &Bundle{
		assets:  make(map[string]*asset, len(fileNames)),
		missing: make(map[string]Reply),
	}
	var errs []error
	for _, name := range fileNames {
		a, err := loadAsset(fsys, name)
		if err != nil {
			errs = append(errs, err)
			b.missing[name] = Reply{
				Status:       http.StatusNotFound,
				ContentType:  "text/plain; charset=utf-8",
				CacheControl: "no-store",
				Body: []byte("socket.io client file " + name + " is not served: it is missing from sio.Config.ClientFiles or could not be read there (" + err.Error() + ").\n" +
					"The files must sit at the root of that fs.FS, as in node_modules/socket.io-client/dist (use fs.Sub for a subdirectory);\n" +
					"go run github.com/sioloop/sioloop/cmd/sioclient -out DIR writes all of them.\n"),
			}
			continue
		}
		b.assets[name] = a
	}
	return b, errors.Join(errs...)
}

// readFile reads name from fsys, refusing more than MaxFileSize bytes.
func readFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxFileSize)
	}
	return data, nil
}

func loadAsset(fsys fs.FS, name string) (*asset, error) {
	data, err := readFile(fsys, name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	a := &asset{
		contentType: contentType(name),
		etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
		identity:    data,
	}
	if gz, err := readFile(fsys, name+".gz"); err == nil && gunzipsTo(gz, data) {
		a.gzip = gz
	} else {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
		_, _ = zw.Write(data)                                    // a bytes.Buffer does not fail
		_ = zw.Close()
		a.gzip = buf.Bytes()
	}
	if br, err := readFile(fsys, name+".br"); err == nil && len(br) != 0 {
		a.br = br
	}
	return a, nil
}

// gunzipsTo reports whether gz is a gzip stream of exactly want.
func gunzipsTo(gz, want []byte) bool {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return false
	}
	got, err := io.ReadAll(io.LimitReader(zr, int64(len(want))+1))
	return err == nil && bytes.Equal(got, want)
}

// validVersion accepts what npm versions contain. The version goes inside a
// quoted ETag, so a quote or control byte would corrupt the header.
func validVersion(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == '-' || c == '+') {
			return false
		}
	}
	return true
}

// Available reports whether the binary embeds the client bundle.
func Available() bool { return len(loaded().assets) != 0 }

// Version returns the socket.io-client version of the embedded bundle, or ""
// when it was not built.
func Version() string { return loaded().version }

// Resolve is the package-level Resolve for this bundle.
func (b *Bundle) Resolve(name, acceptEncoding, ifNoneMatch string) (Reply, bool) {
	if !IsFile(name) {
		return Reply{}, false
	}
	return b.resolve(name, acceptEncoding, ifNoneMatch), true
}

// Reply is the complete response to one request for a client file, for
// servers that write HTTP themselves. Empty string fields mean "no such
// header".
type Reply struct {
	// Status is 200, 304 (If-None-Match matched), 503 (embedded bundle
	// not built) or 404 (file missing from a loaded bundle).
	Status int
	// ContentType is empty on 304.
	ContentType string
	// ContentEncoding is "br", "gzip" or "" (identity).
	ContentEncoding string
	// ETag is the quoted client version, as socket.io sends it, for the
	// embedded bundle; a quoted content hash for a loaded one.
	ETag string
	// CacheControl is "public, max-age=0" for the files, "no-store" for
	// 503 and 404.
	CacheControl string
	// Vary is "Accept-Encoding" whenever the body depends on it.
	Vary string
	// Body aliases shared read-only memory; empty on 304. A HEAD request
	// gets the same headers and no body.
	Body []byte
}

// Resolve computes the reply for the client file name (a bare name such as
// "socket.io.js") given the request's Accept-Encoding and If-None-Match
// header values ("" when absent; join repeated header lines with ", "). It
// reports false when name is not a client file: the request is then none of
// this package's business.
func Resolve(name, acceptEncoding, ifNoneMatch string) (Reply, bool) {
	if !IsFile(name) {
		return Reply{}, false
	}
	b := loaded()
	return b.resolve(name, acceptEncoding, ifNoneMatch), true
}

func (b *Bundle) resolve(name, acceptEncoding, ifNoneMatch string) Reply {
	a := b.assets[name]
	if a == nil {
		if r, ok := b.missing[name]; ok {
			return r
		}
		return notBuilt
	}
	if ifNoneMatch != "" && etagMatches(ifNoneMatch, a.etag) {
		// socket.io answers a bare 304. RFC 9110 §15.4.5 asks a 304 to
		// carry the ETag and Cache-Control a 200 would have, so caches can
		// refresh their entry; browsers accept both.
		return Reply{
			Status:       http.StatusNotModified,
			ETag:         a.etag,
			CacheControl: cacheControl,
			Vary:         "Accept-Encoding",
		}
	}
	r := Reply{
		Status:       http.StatusOK,
		ContentType:  a.contentType,
		ETag:         a.etag,
		CacheControl: cacheControl,
		Vary:         "Accept-Encoding",
		Body:         a.identity,
	}
	switch pickEncoding(acceptEncoding, a.br != nil, a.gzip != nil) {
	case "br":
		r.ContentEncoding, r.Body = "br", a.br
	case "gzip":
		r.ContentEncoding, r.Body = "gzip", a.gzip
	}
	return r
}

// AppendHeader appends the reply's header fields to dst as
// "Name: value\r\n" lines, Content-Length included except on 304. It appends
// neither the status line nor the blank line that ends the header, so the
// caller can add its own fields (Connection, Date).
func (r *Reply) AppendHeader(dst []byte) []byte {
	field := func(dst []byte, k, v string) []byte {
		if v == "" {
			return dst
		}
		dst = append(dst, k...)
		dst = append(dst, ": "...)
		dst = append(dst, v...)
		return append(dst, "\r\n"...)
	}
	dst = field(dst, "Content-Type", r.ContentType)
	dst = field(dst, "Content-Encoding", r.ContentEncoding)
	dst = field(dst, "Cache-Control", r.CacheControl)
	dst = field(dst, "ETag", r.ETag)
	dst = field(dst, "Vary", r.Vary)
	if r.Status != http.StatusNotModified {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(r.Body)), 10)
		dst = append(dst, "\r\n"...)
	}
	return dst
}

// Write sends the reply on w. The body is omitted for HEAD requests by
// net/http itself.
func (r *Reply) Write(w http.ResponseWriter) {
	h := w.Header()
	set := func(k, v string) {
		if v != "" {
			h[k] = []string{v}
		}
	}
	set("Content-Type", r.ContentType)
	set("Content-Encoding", r.ContentEncoding)
	set("Cache-Control", r.CacheControl)
	set("Etag", r.ETag)
	set("Vary", r.Vary)
	if r.Status != http.StatusNotModified {
		h["Content-Length"] = []string{strconv.Itoa(len(r.Body))}
	}
	w.WriteHeader(r.Status)
	if len(r.Body) != 0 {
		_, _ = w.Write(r.Body) // the client went away; nothing to do about it
	}
}

// FileName returns the client file name that urlPath asks for under prefix
// (the socket.io path, such as "/socket.io/"; a missing trailing slash is
// implied), and whether urlPath names a client file at all.
func FileName(urlPath, prefix string) (string, bool) {
	if !strings.HasPrefix(urlPath, prefix) {
		return "", false
	}
	rest := urlPath[len(prefix):]
	if !strings.HasSuffix(prefix, "/") {
		if !strings.HasPrefix(rest, "/") {
			return "", false
		}
		rest = rest[1:]
	}
	return rest, IsFile(rest)
}

// Serve answers r when its path names a client file under prefix and
// reports whether it did. Like socket.io it answers any method.
func Serve(w http.ResponseWriter, r *http.Request, prefix string) bool {
	return loaded().serve(w, r, prefix)
}

func (b *Bundle) serve(w http.ResponseWriter, r *http.Request, prefix string) bool {
	name, ok := FileName(r.URL.Path, prefix)
	if !ok {
		return false
	}
	rep := b.resolve(name, headerValue(r.Header, "Accept-Encoding"), headerValue(r.Header, "If-None-Match"))
	rep.Write(w)
	return true
}

// Handler returns a handler that serves the embedded client files under
// prefix and answers 404 for every other path.
func Handler(prefix string) http.Handler {
	return loaded().handler(prefix)
}

// Handler is the package-level Handler for this bundle.
func (b *Bundle) Handler(prefix string) http.Handler { return b.handler(prefix) }

func (b *Bundle) handler(prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !b.serve(w, r, prefix) {
			http.NotFound(w, r)
		}
	})
}

// headerValue joins repeated header lines, which HTTP defines as equivalent
// to one comma-separated line, without allocating in the usual single case.
func headerValue(h http.Header, key string) string {
	v := h.Values(key)
	switch len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	}
	return strings.Join(v, ", ")
}

// etagMatches reports whether the If-None-Match value lists etag, compared
// weakly as RFC 9110 §13.1.2 requires (W/"v" matches "v"), or is "*".
// socket.io compares the whole header with "v" and W/"v" only; a list that
// contains the version is a match here too.
func etagMatches(header, etag string) bool {
	for header != "" {
		var item string
		item, header, _ = strings.Cut(header, ",")
		item = strings.Trim(item, " \t")
		if item == "*" {
			return true
		}
		item = strings.TrimPrefix(item, "W/")
		if item == etag {
			return true
		}
	}
	return false
}

// pickEncoding chooses "br", "gzip" or "" (identity) from an Accept-Encoding
// value. The highest q wins; an explicit coding overrides "*". On a tie br
// wins because it is smaller: socket.io's negotiator breaks ties by the
// client's order instead, which picks gzip for Chrome's "gzip, deflate, br,
// zstd". Either is correct HTTP.
//
// haveBr and haveGzip say which encodings the file has; a missing one is
// never chosen.
func pickEncoding(header string, haveBr, haveGzip bool) string {
	brQ, gzQ, starQ := -1.0, -1.0, -1.0
	for header != "" {
		var item string
		item, header, _ = strings.Cut(header, ",")
		coding, params, _ := strings.Cut(item, ";")
		coding = strings.Trim(coding, " \t")
		q := qValue(params)
		switch {
		case strings.EqualFold(coding, "br"):
			brQ = max(brQ, q)
		case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
			gzQ = max(gzQ, q)
		case coding == "*":
			starQ = max(starQ, q)
		}
	}
	if brQ < 0 {
		brQ = starQ
	}
	if gzQ < 0 {
		gzQ = starQ
	}
	if !haveBr {
		brQ = 0
	}
	if !haveGzip {
		gzQ = 0
	}
	switch {
	case brQ <= 0 && gzQ <= 0:
		return ""
	case brQ >= gzQ:
		return "br"
	default:
		return "gzip"
	}
}

// qValue returns the q parameter among ";"-separated params: 1 when absent,
// 0 when malformed or out of range (a coding we cannot read is one we must
// not assume is wanted).
func qValue(params string) float64 {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		p = strings.Trim(p, " \t")
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' {
			continue
		}
		q, err := strconv.ParseFloat(p[2:], 64)
		if err != nil || math.IsNaN(q) || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}
