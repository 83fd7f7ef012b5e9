// Command go-peer is the Go net/http URL shortener the benchmark compares
// hexsvc against. It is written the way a competent Go programmer would write
// it for production with the standard library only: net/http, a map guarded
// by a sync.RWMutex, base62 codes drawn from crypto/rand, encoding/json.
//
// It speaks the same API as hexsvc so one wrk script drives both:
//
//	POST /api/v1/links       {"url": "...", "alias": "optional"}
//	                         -> 201 {"code","short_url","url","created_at"}
//	GET  /{code}             -> 302, Location: <url>
//	GET  /api/v1/links/{code} -> 200 {"code","short_url","url","created_at","hits"}
//
// Errors are {"error":{"code":"...","message":"..."}} with the same codes and
// statuses as hexsvc (422 for a refused URL or alias, 409 alias_taken, 404
// not_found, 400 for a body that is not the expected JSON). Validation covers
// the same basics (scheme, host, length, characters, alias syntax, reserved
// words) without trying to be a byte-for-byte copy of the C validator: the
// point is that both servers do comparable work per request.
//
// Flags: --host (default 127.0.0.1), --port (default $HEXSVC_PORT or 8080),
// --public-url (prefix of short_url, default http://localhost:<port>),
// --store memory|sqlite (default memory), --data-dir (the SQLite file's
// directory, default "data"). The SQLite store (sqlite.go) is compiled only
// with `-tags sqlite` and Debian's golang-github-mattn-go-sqlite3-dev (CGO),
// so the default build stays standard library only.
// GOMAXPROCS is left at its default (every CPU), as a user would run it.
package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	codeAlphabet   = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	codeLength     = 7
	codeAttempts   = 8
	aliasMinLength = 3
	aliasMaxLength = 64
	urlMaxLength   = 2048
	bodyMaxBytes   = 8 << 10
	linksPrefix    = "/api/v1/links"
)

// The same list as hexsvc's alias.c: names the service routes or may route.
var reservedWords = map[string]bool{
	"admin": true, "api": true, "assets": true, "debug": true, "docs": true,
	"favicon": true, "health": true, "healthz": true, "login": true,
	"logout": true, "metrics": true, "readyz": true, "robots": true,
	"static": true, "stats": true, "status": true,
}

type link struct {
	code      string
	url       string
	createdAt time.Time
	hits      atomic.Uint64 // counted under the read lock, so atomic
}

// linkStore is what the handlers need from a store: insert fails with
// errCodeTaken when the code exists (any other error is the store failing),
// find answers nil, nil for an unknown code.
type linkStore interface {
	insert(l *link) error
	find(code string) (*link, error)
}

// storeOpeners maps --store to a constructor; sqlite.go adds "sqlite" when
// built with -tags sqlite. Written only by init functions, before main.
var storeOpeners = map[string]func(dataDir string) (linkStore, error){
	"memory": func(string) (linkStore, error) { return &store{links: make(map[string]*link)}, nil },
}

type store struct {
	mu    sync.RWMutex
	links map[string]*link
}

var errCodeTaken = errors.New("code taken")

func (s *store) insert(l *link) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.links[l.code]; exists {
		return errCodeTaken
	}
	s.links[l.code] = l
	return nil
}

func (s *store) find(code string) (*link, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.links[code], nil
}

type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code }

func newAPIError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

// randomCode draws base62 characters without modulo bias: a byte is kept only
// below 248 (4 * 62), like hexsvc's short_code.c.
func randomCode() (string, error) {
	out := make([]byte, 0, codeLength)
	var buf [32]byte
	for len(out) < codeLength {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", err
		}
		for _, b := range buf {
			if b < 248 && len(out) < codeLength {
				out = append(out, codeAlphabet[b%62])
			}
		}
	}
	return string(out), nil
}

func validateURL(raw string) *apiError {
	if len(raw) > urlMaxLength {
		return newAPIError(http.StatusUnprocessableEntity, "url_too_long", "the URL is longer than 2048 bytes")
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] == 0x7f || raw[i] == '"' || raw[i] == '<' || raw[i] == '>' || raw[i] == '\\' {
			return newAPIError(http.StatusUnprocessableEntity, "invalid_url", "the URL is malformed or contains forbidden characters")
		}
	}
	parsed, err := url.Parse(raw)
	if err != nil {
		return newAPIError(http.StatusUnprocessableEntity, "invalid_url", "the URL is malformed or contains forbidden characters")
	}
	if parsed.Scheme != "http" && parsed.Scheme != "https" {
		return newAPIError(http.StatusUnprocessableEntity, "unsupported_scheme", "only http and https URLs can be shortened")
	}
	if parsed.Hostname() == "" {
		return newAPIError(http.StatusUnprocessableEntity, "missing_host", "the URL has no host")
	}
	if port := parsed.Port(); port != "" {
		number, err := strconv.Atoi(port)
		if err != nil || number < 1 || number > 65535 {
			return newAPIError(http.StatusUnprocessableEntity, "invalid_port", "the URL's port is not between 1 and 65535")
		}
	}
	return nil
}

func validateAlias(alias string) *apiError {
	if len(alias) < aliasMinLength {
		return newAPIError(http.StatusUnprocessableEntity, "alias_too_short", "an alias needs at least 3 characters")
	}
	if len(alias) > aliasMaxLength {
		return newAPIError(http.StatusUnprocessableEntity, "alias_too_long", "an alias may have at most 64 characters")
	}
	for i := 0; i < len(alias); i++ {
		c := alias[i]
		isAlnum := (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
		if !isAlnum && c != '_' && c != '-' {
			return newAPIError(http.StatusUnprocessableEntity, "invalid_alias", "an alias may contain only letters, digits, '_' and '-'")
		}
	}
	if reservedWords[strings.ToLower(alias)] {
		return newAPIError(http.StatusUnprocessableEntity, "reserved_alias", "this alias is reserved by the service")
	}
	return nil
}

type server struct {
	links     linkStore
	publicURL string // prefix of every short_url, no trailing slash
}

type shortenRequest struct {
	URL   string  `json:"url"`
	Alias *string `json:"alias"`
}

type linkResponse struct {
	Code      string  `json:"code"`
	ShortURL  string  `json:"short_url"`
	URL       string  `json:"url"`
	CreatedAt string  `json:"created_at"`
	Hits      *uint64 `json:"hits,omitempty"`
}

// createdAtLayout matches hexsvc: RFC 3339, UTC, milliseconds.
const createdAtLayout = "2006-01-02T15:04:05.000Z"

func writeJSON(w http.ResponseWriter, status int, value any) {
	body, err := json.Marshal(value)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, e *apiError) {
	type errorBody struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	writeJSON(w, e.status, map[string]errorBody{"error": {Code: e.code, Message: e.message}})
}

func (s *server) createLink(target, alias string, hasAlias bool) (*link, *apiError) {
	l := &link{url: target, createdAt: time.Now().UTC()}
	if hasAlias {
		l.code = alias
		if err := s.links.insert(l); err != nil {
			if errors.Is(err, errCodeTaken) {
				return nil, newAPIError(http.StatusConflict, "alias_taken", "this alias is already in use")
			}
			return nil, storeUnavailable(err)
		}
		return l, nil
	}
	for attempt := 0; attempt < codeAttempts; attempt++ {
		code, err := randomCode()
		if err != nil {
			return nil, newAPIError(http.StatusServiceUnavailable, "entropy_unavailable", "no random bytes are available to generate a code")
		}
		if reservedWords[strings.ToLower(code)] {
			continue
		}
		l.code = code
		err = s.links.insert(l)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, errCodeTaken) {
			return nil, storeUnavailable(err)
		}
	}
	return nil, newAPIError(http.StatusServiceUnavailable, "code_space_exhausted", "no free short code could be found, retry later")
}

func storeUnavailable(err error) *apiError {
	log.Printf("go-peer: store: %v", err)
	return newAPIError(http.StatusServiceUnavailable, "store_unavailable", "the link store failed, retry later")
}

func (s *server) shorten(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bodyMaxBytes))
	if err != nil {
		writeError(w, newAPIError(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is too large"))
		return
	}
	var request shortenRequest
	if err := json.Unmarshal(body, &request); err != nil || request.URL == "" {
		writeError(w, newAPIError(http.StatusBadRequest, "invalid_json", "the body must be a JSON object with a \"url\" string"))
		return
	}
	if e := validateURL(request.URL); e != nil {
		writeError(w, e)
		return
	}
	hasAlias := request.Alias != nil
	alias := ""
	if hasAlias {
		alias = *request.Alias
		if e := validateAlias(alias); e != nil {
			writeError(w, e)
			return
		}
	}
	l, e := s.createLink(request.URL, alias, hasAlias)
	if e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("Location", linksPrefix+"/"+l.code)
	writeJSON(w, http.StatusCreated, linkResponse{
		Code: l.code, ShortURL: s.publicURL + "/" + l.code, URL: l.url,
		CreatedAt: l.createdAt.Format(createdAtLayout),
	})
}

func (s *server) stats(w http.ResponseWriter, code string) {
	l, err := s.links.find(code)
	if err != nil {
		writeError(w, storeUnavailable(err))
		return
	}
	if l == nil {
		writeError(w, newAPIError(http.StatusNotFound, "not_found", "no link has this code"))
		return
	}
	hits := l.hits.Load()
	writeJSON(w, http.StatusOK, linkResponse{
		Code: l.code, ShortURL: s.publicURL + "/" + l.code, URL: l.url,
		CreatedAt: l.createdAt.Format(createdAtLayout), Hits: &hits,
	})
}

func (s *server) resolve(w http.ResponseWriter, code string) {
	l, err := s.links.find(code)
	if err != nil {
		writeError(w, storeUnavailable(err))
		return
	}
	if l == nil {
		writeError(w, newAPIError(http.StatusNotFound, "not_found", "no link has this code"))
		return
	}
	l.hits.Add(1)
	// Every resolve must reach the server to be counted: no caching.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", l.url)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusFound)
}

// ServeHTTP routes by hand: Go 1.19's ServeMux has no method or wildcard
// patterns, and a hand-written switch is what such a service would do.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == linksPrefix:
		if r.Method != http.MethodPost {
			writeError(w, newAPIError(http.StatusMethodNotAllowed, "method_not_allowed", "use POST"))
			return
		}
		s.shorten(w, r)
	case strings.HasPrefix(path, linksPrefix+"/"):
		if r.Method != http.MethodGet {
			writeError(w, newAPIError(http.StatusMethodNotAllowed, "method_not_allowed", "use GET"))
			return
		}
		s.stats(w, path[len(linksPrefix)+1:])
	case len(path) > 1 && strings.IndexByte(path[1:], '/') < 0:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, newAPIError(http.StatusMethodNotAllowed, "method_not_allowed", "use GET"))
			return
		}
		s.resolve(w, path[1:])
	default:
		writeError(w, newAPIError(http.StatusNotFound, "not_found", "no route matches this path"))
	}
}

func defaultPort() int {
	if value, err := strconv.Atoi(os.Getenv("HEXSVC_PORT")); err == nil {
		return value
	}
	return 8080
}

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", defaultPort(), "TCP port to listen on")
	publicURL := flag.String("public-url", "", "prefix of short_url (default http://localhost:<port>)")
	storeKind := flag.String("store", "memory", "link store: memory, or sqlite when built with -tags sqlite")
	dataDir := flag.String("data-dir", "data", "directory of the SQLite file")
	flag.Parse()
	open, known := storeOpeners[*storeKind]
	if !known {
		log.Fatalf("go-peer: --store %q is not available in this build; use memory, or build with "+
			"-tags sqlite (CGO, golang-github-mattn-go-sqlite3-dev) for sqlite", *storeKind)
	}
	links, err := open(*dataDir)
	if err != nil {
		log.Fatalf("go-peer: --store %s: %v", *storeKind, err)
	}
	if *publicURL == "" {
		*publicURL = "http://localhost:" + strconv.Itoa(*port)
	}

	httpServer := &http.Server{
		Addr: net.JoinHostPort(*host, strconv.Itoa(*port)),
		Handler: &server{
			links:     links,
			publicURL: strings.TrimRight(*publicURL, "/"),
		},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	listener, err := net.Listen("tcp", httpServer.Addr)
	if err != nil {
		log.Fatalf("go-peer: listen %s: %v", httpServer.Addr, err)
	}
	log.Printf("go-peer: listening on %s", listener.Addr())

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		_ = httpServer.Close()
	}()
	if err := httpServer.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("go-peer: serve: %v", err)
	}
}
