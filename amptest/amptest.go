// Package amptest checks a server's XEP-0079 Advanced Message Processing
// over real client-to-server streams: the discovery of its support, every
// action on every condition value a client can produce, the staged
// lifetime of a stored message, validation, the §9 presence check, and
// what must never happen. It is to an XMPP server what testing/fstest is
// to an fs.FS.
//
// A server's own test calls [Run] with the address of a running server and
// accounts on it; [Check] runs the same scenarios outside go test and
// returns their results. The kit reads what the server supports from
// service discovery and skips, with the reason, the scenarios for actions
// and conditions the server does not advertise.
//
// Every scenario states its requirement level in the XEP's words, MUST,
// SHOULD or MAY with the section, or says that it checks the reading of
// the github.com/ampxmpp/amp project where the XEP leaves a choice, and
// every problem it finds carries its own level. As in the Autobahn
// WebSocket suite, a scenario passes, or is non-strict (a SHOULD broken),
// informational (a MAY or the project's reading not followed), failed (a
// MUST broken) or skipped (with the reason). Only a failure fails a run,
// unless it is strict.
package amptest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"testing"
	"time"
)

// Server describes a running server under test and the accounts the kit
// may use on it. The kit logs the accounts in and out as it needs; while
// it runs, nothing else should log them in.
type Server struct {
	// Addr is the host:port of the server's c2s listener.
	Addr string
	// Domain is the server's domain, its JID. A login bound to another
	// domain is an error.
	Domain string
	// TLS, when set, makes the kit negotiate STARTTLS with this config
	// (ServerName defaults to Domain); set InsecureSkipVerify to accept a
	// self-signed certificate. Default: plain TCP. Either way the kit logs
	// in with the first of SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN that the
	// server offers.
	TLS *tls.Config
	// Accounts are the users the kit logs in, by the local part of their
	// JID. It needs two for most scenarios and three for §9.
	Accounts []Account
	// Subscribed lists every pair whose presence subscription lets the
	// sender see the recipient's presence (the recipient's roster has the
	// sender with a subscription of from or both). The kit sends its
	// requests along the first pair. The §9 scenarios need an account the
	// first pair's recipient has not authorized, and the reverse of the
	// first pair must not be listed for the one-way scenarios to run.
	Subscribed []Subscription
	// MaxRules is the most rules the server accepts in one request, or 0
	// when the server has no such limit or it is not known: the limit
	// scenarios are skipped then.
	MaxRules int
	// Quiet is how long the kit waits to decide that nothing more arrives.
	// Default: 300ms.
	Quiet time.Duration
	// ExpireWindow is how far in the future the kit sets an expire-at that
	// must pass while a message is stored; the scenario waits that long.
	// Default: 2s.
	ExpireWindow time.Duration
	// Timeout bounds every wait: the connection, each login, each stanza
	// that must arrive. Default: 5s.
	Timeout time.Duration
	// Strict makes a broken SHOULD fail the run too: Run fails the
	// subtest of a non-strict result.
	Strict bool
	// Restart, when set, restarts the server, keeping its stored messages,
	// and returns once it accepts logins again. The scenarios that need it
	// are skipped when it is nil.
	Restart func() error
	// SetTime, when set, sets the server's clock to t; the kit calls it
	// with the real time again at the end of the scenario. The scenarios
	// that need it are skipped when it is nil.
	SetTime func(t time.Time)
	// Progress, when set, is called as each scenario ends with its result,
	// how many scenarios have ended and how many there are.
	Progress func(r Result, done, total int)
	// Select, when set, chooses the scenarios to run by name; the others
	// are neither run nor reported. Default: all.
	Select func(name string) bool
}

// Account is a user the kit may log in.
type Account struct {
	// User is the local part of the account's JID.
	User string `json:"user"`
	// Password is the account's password.
	Password string `json:"password"`
}

// Subscription says that Recipient's roster lets Sender see Recipient's
// presence (XEP-0079 §9). Both are local parts of accounts.
type Subscription struct {
	Sender    string `json:"sender"`
	Recipient string `json:"recipient"`
}

// Check runs every scenario against s and returns their results in order.
// It returns an error, and no results, when it cannot start: s is
// incomplete, the accounts cannot log in, or a login is bound to another
// domain than s.Domain. Once ctx ends, the scenarios not yet run are
// skipped.
func Check(ctx context.Context, s Server) ([]Result, error) {
	k, err := newKit(ctx, s)
	if err != nil {
		return nil, err
	}
	defer k.stop()
	var out []Result
	for _, sc := range k.scenarios {
		out = append(out, k.run(ctx, sc))
	}
	return out, nil
}

// Run runs every scenario against s as a subtest of t named after the
// scenario, for example "§3.3.1/deliver=stored/notify". A subtest fails
// only for a broken MUST, or a broken SHOULD when s.Strict is set, and
// then lists the problems and the stanzas exchanged; other findings are
// logged, and a scenario that cannot run is skipped with the reason. Run
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
	defer k.stop()
	for _, sc := range k.scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := k.run(ctx, sc)
			switch {
			case r.Status == Skip:
				t.Skip(r.Reason)
			case r.Failed(s.Strict):
				t.Error(r.Report())
			case r.Status != Pass:
				t.Log(r.Report())
			}
		})
	}
}

func (s Server) withDefaults() (Server, error) {
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
