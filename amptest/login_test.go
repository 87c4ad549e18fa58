package amptest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"hash"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"mellium.im/sasl"
)

// fakeServer is just enough of an XMPP server to log in to: STARTTLS when
// tls is set, SASL with the mechanisms offered (SCRAM checked with
// mellium's server side), resource binding, and an answer to every IQ.
type fakeServer struct {
	mechanisms  []string
	tls         *tls.Config
	refuseFirst int    // logins answered with internal-server-error after <auth/>
	bindDomain  string // the domain of the JID bound; default localhost

	mu     sync.Mutex
	logins int
	used   []string // the mechanisms clients chose
}

func (f *fakeServer) start(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				f.handle(c)
			}()
		}
	}()
	return l.Addr().String()
}

// stanza is what the fake server reads of an element.
type stanza struct {
	XMLName   xml.Name
	ID        string `xml:"id,attr"`
	Type      string `xml:"type,attr"`
	Mechanism string `xml:"mechanism,attr"`
	Text      string `xml:",chardata"`
	Resource  string `xml:"urn:ietf:params:xml:ns:xmpp-bind bind>resource"`
}

func (f *fakeServer) handle(c net.Conn) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var rw io.ReadWriter = c
	d := xml.NewDecoder(rw)
	open := func(features string) {
		for {
			tok, err := d.Token()
			if err != nil {
				return
			}
			if s, ok := tok.(xml.StartElement); ok && s.Name.Local == "stream" {
				break
			}
		}
		fmt.Fprintf(rw, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='fake' from='localhost' version='1.0'><stream:features>%s</stream:features>", features)
	}
	next := func() (stanza, bool) {
		for {
			tok, err := d.Token()
			if err != nil {
				return stanza{}, false
			}
			if s, ok := tok.(xml.StartElement); ok {
				var st stanza
				return st, d.DecodeElement(&st, &s) == nil
			}
		}
	}
	if f.tls != nil {
		open("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>")
		if st, ok := next(); !ok || st.XMLName.Local != "starttls" {
			return
		}
		io.WriteString(rw, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
		rw = tls.Server(c, f.tls)
		d = xml.NewDecoder(rw)
	}
	var mechs strings.Builder
	for _, m := range f.mechanisms {
		fmt.Fprintf(&mechs, "<mechanism>%s</mechanism>", m)
	}
	open("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + mechs.String() + "</mechanisms>")
	auth, ok := next()
	if !ok {
		return
	}
	f.mu.Lock()
	f.logins++
	refuse := f.logins <= f.refuseFirst
	f.used = append(f.used, auth.Mechanism)
	f.mu.Unlock()
	if refuse {
		io.WriteString(rw, "<stream:error><internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>")
		return
	}
	if !f.authenticate(rw, auth, next) {
		io.WriteString(rw, "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure></stream:stream>")
		return
	}
	open("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>")
	bind, ok := next()
	if !ok {
		return
	}
	domain := f.bindDomain
	if domain == "" {
		domain = "localhost"
	}
	fmt.Fprintf(rw, "<iq type='result' id='%s'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@%s/%s</jid></bind></iq>", bind.ID, domain, bind.Resource)
	for {
		st, ok := next()
		if !ok {
			io.WriteString(rw, "</stream:stream>")
			return
		}
		if st.XMLName.Local == "iq" && (st.Type == "get" || st.Type == "set") {
			fmt.Fprintf(rw, "<iq type='result' id='%s'/>", st.ID)
		}
	}
}

// authenticate runs the SASL exchange that auth starts; the password is
// "pw".
func (f *fakeServer) authenticate(w io.Writer, auth stanza, next func() (stanza, bool)) bool {
	payload, err := base64.StdEncoding.DecodeString(auth.Text)
	if err != nil {
		return false
	}
	if auth.Mechanism == "PLAIN" {
		if string(payload) != "\x00alice\x00pw" {
			return false
		}
		io.WriteString(w, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
		return true
	}
	mechs := map[string]struct {
		m  sasl.Mechanism
		fn func() hash.Hash
	}{"SCRAM-SHA-256": {sasl.ScramSha256, sha256.New}, "SCRAM-SHA-1": {sasl.ScramSha1, sha1.New}}
	m, ok := mechs[auth.Mechanism]
	if !ok {
		return false
	}
	salt := []byte("amptest-salt")
	srv := sasl.NewServer(m.m, func(*sasl.Negotiator) bool { return true }, sasl.SaltedCredentials(
		func(user, _ []byte, _ string) ([]byte, []byte, int64, error) {
			return salt, sasl.SCRAMSaltPassword(m.fn, []byte("pw"), salt, 4096), 4096, nil
		}))
	for {
		more, resp, err := srv.Step(payload)
		if err != nil {
			return false
		}
		if !more {
			fmt.Fprintf(w, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</success>", base64.StdEncoding.EncodeToString(resp))
			return true
		}
		fmt.Fprintf(w, "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</challenge>", base64.StdEncoding.EncodeToString(resp))
		r, ok := next()
		if !ok || r.XMLName.Local != "response" {
			return false
		}
		if payload, err = base64.StdEncoding.DecodeString(r.Text); err != nil {
			return false
		}
	}
}

// selfSigned returns a TLS config with a fresh self-signed certificate
// for localhost.
func selfSigned(t *testing.T) *tls.Config {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func testKit(t *testing.T, addr, password string, tlsConfig *tls.Config) (*kit, *transcript, error) {
	s, err := Server{Addr: addr, Domain: "localhost", TLS: tlsConfig, Timeout: 2 * time.Second,
		Accounts:   []Account{{"alice", password}, {"bob", "pw"}},
		Subscribed: []Subscription{{"alice", "bob"}}}.withDefaults()
	require.NoError(t, err)
	k := &kit{s: s}
	log := &transcript{}
	c, err := k.dial(context.Background(), Account{"alice", password}, "r1", log)
	if err == nil {
		assert.Equal(t, "alice@localhost/r1", c.jid.String())
		c.close(time.Second)
	}
	return k, log, err
}

// TestLogin logs in to servers that offer different mechanisms, over
// plain TCP and STARTTLS: the kit picks SCRAM-SHA-256, then SCRAM-SHA-1,
// then PLAIN, whatever the server's order, and its transcript holds the
// bytes inside TLS but not the password.
func TestLogin(t *testing.T) {
	insecure := &tls.Config{InsecureSkipVerify: true}
	for _, tc := range []struct {
		name       string
		mechanisms []string
		tls        bool
		want       string
	}{
		{"SCRAM-SHA-256 first", []string{"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"}, false, "SCRAM-SHA-256"},
		{"SCRAM-SHA-1 before PLAIN", []string{"PLAIN", "SCRAM-SHA-1"}, false, "SCRAM-SHA-1"},
		{"PLAIN", []string{"DIGEST-MD5", "PLAIN"}, false, "PLAIN"},
		{"PLAIN over STARTTLS", []string{"PLAIN"}, true, "PLAIN"},
		{"SCRAM-SHA-256 over STARTTLS", []string{"SCRAM-SHA-256"}, true, "SCRAM-SHA-256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeServer{mechanisms: tc.mechanisms}
			var cfg *tls.Config
			if tc.tls {
				f.tls, cfg = selfSigned(t), insecure
			}
			_, log, err := testKit(t, f.start(t), "pw", cfg)
			require.NoError(t, err)
			assert.Equal(t, []string{tc.want}, f.used)
			_, streams := log.all()
			require.Len(t, streams, 1)
			var raw strings.Builder
			for _, c := range streams[0].Chunks {
				raw.WriteString(c.Data)
			}
			assert.Contains(t, raw.String(), "<bind", "the bytes after STARTTLS are those inside TLS")
			assert.NotContains(t, raw.String(), base64.StdEncoding.EncodeToString([]byte("\x00alice\x00pw")))
		})
	}
}

// TestLoginRefusals: a login refused transiently is tried again after a
// pause; a wrong password, a self-signed certificate without
// InsecureSkipVerify and a JID bound on another domain are not.
func TestLoginRefusals(t *testing.T) {
	f := &fakeServer{mechanisms: []string{"PLAIN"}, refuseFirst: 2}
	_, log, err := testKit(t, f.start(t), "pw", nil)
	require.NoError(t, err)
	assert.Equal(t, 3, f.logins, "two refusals, then the login")
	stanzas, _ := log.all()
	require.NotEmpty(t, stanzas)
	assert.Contains(t, stanzas[0].XML, "internal-server-error")
	assert.True(t, stanzas[0].Note)

	f = &fakeServer{mechanisms: []string{"PLAIN"}}
	_, _, err = testKit(t, f.start(t), "wrong", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not-authorized")
	assert.Equal(t, 1, f.logins, "a wrong password is not tried again")

	f = &fakeServer{mechanisms: []string{"PLAIN"}, tls: selfSigned(t)}
	_, _, err = testKit(t, f.start(t), "pw", &tls.Config{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")

	f = &fakeServer{mechanisms: []string{"PLAIN"}, bindDomain: "example.org"}
	_, _, err = testKit(t, f.start(t), "pw", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the server bound alice@example.org/r1, want alice@localhost/r1")
	assert.Equal(t, 1, f.logins, "a wrong domain is not tried again")
}

// TestDiscoverAssumesAll: a server that lists no action or condition at
// the AMP node is taken to support every one the XEP defines, as §2.1.1
// has the client do.
func TestDiscoverAssumesAll(t *testing.T) {
	f := &fakeServer{mechanisms: []string{"PLAIN"}}
	k, _, err := testKit(t, f.start(t), "pw", nil)
	require.NoError(t, err)
	k.passwords = map[string]string{"alice": "pw"}
	k.sender = "alice"
	require.NoError(t, k.discover(context.Background()))
	assert.True(t, k.sup.assumed)
	for _, a := range xepActions {
		assert.True(t, k.sup.actions[a], "%s", a)
	}
	for _, c := range xepConditions {
		assert.True(t, k.sup.conditions[c], "%s", c)
	}
	assert.Contains(t, k.sup.stanzas[len(k.sup.stanzas)-1].XML, "assumed supported (§2.1.1)")
}
