// Package amptest checks a server's XEP-0079 Advanced Message Processing
// over real client-to-server streams: the discovery of its support, every
// action on every condition value a client can produce, the staged
// lifetime of a stored message, validation and its precedence, the §9
// presence check, and what must never happen. It is to an XMPP server what
// testing/fstest is to an fs.FS.
//
// A server's own test calls [Run] with the address of a running server and
// accounts on it; [Check] runs the same scenarios outside go test and
// returns their results. The kit reads what the server supports from
// service discovery and skips, with the reason, the scenarios for actions
// and conditions the server does not advertise.
//
// The expectations are XEP-0079's, with the conformance decisions of the
// github.com/ampxmpp/amp project where the XEP leaves a choice or gets
// something wrong: replies come from the server's JID to the sender's full
// JID with the original id, and an event's <amp/> carries from = the
// original sender and to = the original to; validation errors echo the
// rules and say which rules failed with which kind, the first failing rule
// in document order deciding the kind; a request without an id, with a
// bad per-hop or with no rule is a plain bad-request; a sender without a
// presence subscription is refused alert, error and notify (§9).
package amptest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server describes a running server under test and the accounts the kit
// may use on it. The kit logs the accounts in and out as it needs; while
// it runs, nothing else should log them in.
type Server struct {
	// Addr is the host:port of the server's c2s listener. The kit connects
	// over plain TCP and logs in with SASL PLAIN.
	Addr string
	// Domain is the server's domain, its JID.
	Domain string
	// Accounts are the users the kit logs in, by the local part of their
	// JID. It needs two for most scenarios and three for §9.
	Accounts []Account
	// Subscribed lists the pairs whose presence subscription lets the
	// sender see the recipient's presence (the recipient's roster has the
	// sender with a subscription of from or both). The kit sends its
	// requests along the first pair; the §9 scenarios need an account that
	// is not subscribed to that pair's recipient.
	Subscribed []Subscription
	// MaxRules is the most rules the server accepts in one request.
	// Default: 32, the amp library's default.
	MaxRules int
	// Quiet is how long the kit waits to decide that nothing more arrives.
	// Default: 300ms.
	Quiet time.Duration
	// ExpireWindow is how far in the future the kit sets an expire-at that
	// must pass while a message is stored; the scenario waits that long.
	// Default: 2s.
	ExpireWindow time.Duration
	// Timeout bounds each wait for a stanza that must arrive and each
	// login. Default: 5s.
	Timeout time.Duration
}

// Account is a user the kit may log in.
type Account struct {
	// User is the local part of the account's JID.
	User string `json:"user"`
	// Password is the account's password, sent with SASL PLAIN.
	Password string `json:"password"`
}

// Subscription says that Recipient's roster lets Sender see Recipient's
// presence (XEP-0079 §9). Both are local parts of accounts.
type Subscription struct {
	Sender    string `json:"sender"`
	Recipient string `json:"recipient"`
}

// Status is the outcome of a scenario.
type Status int

// The outcomes of a scenario.
const (
	// Pass means the server behaved as expected.
	Pass Status = iota
	// Fail means it did not; Result.Problems say how.
	Fail
	// Skip means the scenario could not run; Result.Reason says why.
	Skip
)

// String returns "pass", "fail" or "skip".
func (s Status) String() string {
	switch s {
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	case Skip:
		return "skip"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Result is what one scenario found.
type Result struct {
	// Name names the scenario, starting with the XEP-0079 section it
	// checks: "§3.3.1/deliver=stored/notify".
	Name string
	// Section is the XEP-0079 section: "§3.3.1".
	Section string
	// Doc says in one sentence what the scenario expects.
	Doc string
	// Status is the outcome.
	Status Status
	// Reason says why the scenario was skipped.
	Reason string
	// Problems say how the server failed the scenario, one line each.
	Problems []string
	// Stanzas are the stanzas the scenario sent and received, in order.
	Stanzas []Stanza
}

// Stanza is one stanza a scenario sent or received.
type Stanza struct {
	// Session is the session it went through: user/resource.
	Session string
	// Sent is true for a stanza the kit sent, false for one it received.
	Sent bool
	// XML is the stanza as the kit wrote or read it.
	XML string
	// Ignored is true for a received stanza that belongs to another
	// scenario or run, or that is not a message (presence, IQ results).
	Ignored bool
}

// String returns the stanza as one line: "alice/r1 → <message .../>".
func (s Stanza) String() string {
	dir := "←"
	if s.Sent {
		dir = "→"
	}
	note := ""
	if s.Ignored {
		note = " (ignored)"
	}
	return fmt.Sprintf("%s %s %s%s", s.Session, dir, s.XML, note)
}

// Check runs every scenario against s and returns their results in order.
// It returns an error, and no results, when it cannot start: s is
// incomplete, or the accounts cannot log in. Once ctx ends, the scenarios
// not yet run are skipped; each wait within a scenario is bounded by
// s.Timeout and s.Quiet.
func Check(ctx context.Context, s Server) ([]Result, error) {
	k, err := newKit(ctx, s)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, sc := range k.scenarios() {
		out = append(out, k.run(ctx, sc))
	}
	return out, nil
}

// Run runs every scenario against s as a subtest of t named after the
// scenario, for example "§3.3.1/deliver=stored/notify". A failing subtest
// lists the problems found and the stanzas exchanged; a scenario the
// server's advertised support rules out is skipped with the reason. Run
// fails t at once when it cannot start.
func Run(t *testing.T, s Server) {
	t.Helper()
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}
	k, err := newKit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range k.scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			r := k.run(ctx, sc)
			switch r.Status {
			case Skip:
				t.Skip(r.Reason)
			case Fail:
				t.Error(r.Report())
			}
		})
	}
}

// Report returns the problems of a failed scenario and the stanzas it
// exchanged, one per line.
func (r Result) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", r.Name, r.Doc)
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	if len(r.Stanzas) > 0 {
		b.WriteString("  stanzas:\n")
		for _, st := range r.Stanzas {
			fmt.Fprintf(&b, "    %s\n", st)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// withDefaults returns s with the defaults filled in, or an error saying
// what is missing.
func (s Server) withDefaults() (Server, error) {
	if s.MaxRules <= 0 {
		s.MaxRules = 32
	}
	if s.Quiet <= 0 {
		s.Quiet = 300 * time.Millisecond
	}
	if s.ExpireWindow <= 0 {
		s.ExpireWindow = 2 * time.Second
	}
	if s.Timeout <= 0 {
		s.Timeout = 5 * time.Second
	}
	var errs []error
	if s.Addr == "" {
		errs = append(errs, errors.New("no Addr"))
	}
	if s.Domain == "" {
		errs = append(errs, errors.New("no Domain"))
	}
	if len(s.Subscribed) == 0 {
		errs = append(errs, errors.New("no Subscribed pair: the kit needs a sender that may see a recipient's presence"))
	}
	users := map[string]bool{}
	for _, a := range s.Accounts {
		users[a.User] = true
	}
	for _, p := range s.Subscribed {
		for _, u := range []string{p.Sender, p.Recipient} {
			if !users[u] {
				errs = append(errs, fmt.Errorf("subscribed pair %s→%s: no account %q", p.Sender, p.Recipient, u))
			}
		}
		if p.Sender == p.Recipient {
			errs = append(errs, fmt.Errorf("subscribed pair %s→%s: the kit needs two accounts", p.Sender, p.Recipient))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return s, fmt.Errorf("amptest: %w", err)
	}
	return s, nil
}

// transcript records the stanzas of one scenario.
type transcript struct {
	mu      sync.Mutex
	stanzas []Stanza
}

func (t *transcript) add(session string, sent bool, xml string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stanzas = append(t.stanzas, Stanza{Session: session, Sent: sent, XML: xml})
}

func (t *transcript) ignored(session string, xml string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stanzas = append(t.stanzas, Stanza{Session: session, XML: xml, Ignored: true})
}

func (t *transcript) all() []Stanza {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Stanza(nil), t.stanzas...)
}
