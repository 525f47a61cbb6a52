package httpd

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Sessions: the login form takes the master's token and answers with a
// random session ID in a cookie that scripts cannot read (HttpOnly), that
// the browser sends only to this site's own requests (SameSite=Strict),
// and that lasts sessionTTL. Each session has its own anti-forgery token,
// which the pages carry and every POST must send back (header or form
// field), and a POST from another origin is refused. A request without a
// valid session learns nothing: pages send it to the login form, the API
// and /metrics answer 401.

const (
	cookieName  = "ferry_session"
	csrfHeader  = "X-Ferry-Csrf"
	csrfField   = "csrf"
	sessionTTL  = 12 * time.Hour
	maxSessions = 1024
)

type session struct {
	csrf    string
	expires time.Time
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (ss *sessions) create() (string, *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = make(map[string]*session)
	}
	now := time.Now()
	for id, s := range ss.m {
		if now.After(s.expires) {
			delete(ss.m, id)
		}
	}
	for id := range ss.m { // full of live sessions: drop one
		if len(ss.m) < maxSessions {
			break
		}
		delete(ss.m, id)
	}
	id := randomHex(32)
	s := &session{csrf: randomHex(32), expires: now.Add(sessionTTL)}
	ss.m[id] = s
	return id, s
}

func (ss *sessions) get(id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil || time.Now().After(s.expires) {
		return nil
	}
	return s
}

func (ss *sessions) drop(id string) {
	ss.mu.Lock()
	delete(ss.m, id)
	ss.mu.Unlock()
}

// session returns the request's valid session, or nil.
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	return s.sessions.get(c.Value)
}

func (s *Server) tokenOK(t string) bool {
	return t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(s.cfg.Token)) == 1
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if s.session(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "login", loginData{Failed: r.URL.Query().Has("failed")})
}

type loginData struct{ Failed bool }

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if !s.sameOrigin(r) || !s.tokenOK(r.PostFormValue("token")) {
		s.log.Warn("dashboard login refused", "from", r.RemoteAddr)
		time.Sleep(500 * time.Millisecond) // a guesser waits
		http.Redirect(w, r, "/login?failed", http.StatusSeeOther)
		return
	}
	id, _ := s.sessions.create()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(sessionTTL / time.Second)})
	s.log.Info("dashboard login", "from", r.RemoteAddr)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		s.sessions.drop(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// sameOrigin refuses a request whose Origin (or, without one, Referer)
// names another site than the one it was sent to. Browsers send Origin
// with every POST; tools that send neither are judged by their
// credentials alone.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		o = r.Header.Get("Referer")
	}
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// page wraps a dashboard page: without a session, the login form.
func (s *Server) page(h func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss := s.session(r)
		if ss == nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		h(w, r, ss)
	})
}

// api wraps a JSON read: without a session, 401.
func (s *Server) api(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.session(r) == nil {
			unauthorized(w)
			return
		}
		h(w, r)
	})
}

// action wraps a POST: it needs a session, its anti-forgery token and the
// same origin; else 403 (401 without a session).
func (s *Server) action(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss := s.session(r)
		if ss == nil {
			unauthorized(w)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		t := r.Header.Get(csrfHeader)
		if t == "" {
			t = r.PostFormValue(csrfField)
		}
		if !s.sameOrigin(r) || t == "" || subtle.ConstantTimeCompare([]byte(t), []byte(ss.csrf)) != 1 {
			s.log.Warn("dashboard action refused: no anti-forgery token or another origin", "path", r.URL.Path, "from", r.RemoteAddr)
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		h(w, r)
	})
}

// scraper wraps /metrics: a session, or the token as a bearer credential.
func (s *Server) scraper(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const bearer = "Bearer "
		a := r.Header.Get("Authorization")
		if s.session(r) == nil && !(len(a) > len(bearer) && a[:len(bearer)] == bearer && s.tokenOK(a[len(bearer):])) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ferry"`)
			unauthorized(w)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func unauthorized(w http.ResponseWriter) {
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}
