package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/ampxmpp/amp/amptest"
)

// The conformance kit is the first end-to-end suite: it checks the server
// the way it checks anyone's, over real c2s streams. The slixmpp and
// xmpp.js tests beside it check the stanzas with independent clients.

// kitServer describes the test server listening on port to the kit: the
// accounts of testConfig with oneWay's rosters, where alice may see bob's
// presence and bob carol's, but not the other way round. A broken SHOULD
// fails the test too (Strict), and the server's rule limit is the amp
// library's default.
func kitServer(port string) amptest.Server {
	return amptest.Server{
		Addr:   "127.0.0.1:" + port,
		Domain: "localhost",
		Accounts: []amptest.Account{
			{User: "alice", Password: "alice-pw"},
			{User: "bob", Password: "bob-pw"},
			{User: "carol", Password: "carol-pw"},
		},
		Subscribed:   []amptest.Subscription{{Sender: "alice", Recipient: "bob"}, {Sender: "bob", Recipient: "carol"}},
		MaxRules:     32,
		Strict:       true,
		Quiet:        150 * time.Millisecond,
		ExpireWindow: time.Second,
		Timeout:      3 * time.Second,
	}
}

// oneWay gives cfg's accounts subscriptions one way only, so that the two
// rosters of a pair disagree: bob lets alice see his presence but not
// carol, and carol lets bob see hers.
func oneWay(cfg Config) Config {
	for name, roster := range map[string]map[string]string{
		"alice": {"bob@localhost": "to"},
		"bob":   {"alice@localhost": "from", "carol@localhost": "to"},
		"carol": {"bob@localhost": "from"},
	} {
		acct := cfg.Accounts[name]
		acct.Roster = roster
		cfg.Accounts[name] = acct
	}
	return cfg
}

// offsetClock is a server clock the kit may set: the real time plus an
// offset, so that the server's timers go on.
type offsetClock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *offsetClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.d) }
func (c *offsetClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.d = time.Until(t)
}

// TestConformance runs the kit against the server supporting everything
// XEP-0079 defines, and supporting a MongooseIM-like subset, where the
// kit skips the scenarios of what the server does not advertise. The kit
// may restart the server and set its clock.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		amp  amp.Config
	}{
		{"all", amp.Config{}},
		{"mongoose", mongoose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := &offsetClock{}
			ts := start(t, oneWay(testConfig(t, tc.amp, clock.Now)))
			s := kitServer(ts.port)
			s.SetTime = clock.Set
			s.Restart = func() error { ts.restart(); return nil }
			amptest.Run(t, s)
		})
	}
}

// TestConformanceSubset checks how the kit adapts to the MongooseIM-like
// subset: what the server does not advertise is skipped with the reason,
// and refused as unsupported when a client asks for it anyway.
func TestConformanceSubset(t *testing.T) {
	t.Parallel()
	ts := start(t, oneWay(testConfig(t, mongoose, nil)))
	results, err := amptest.Check(context.Background(), kitServer(ts.port))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]amptest.Result{}
	for _, r := range results {
		byName[r.Name] = r
	}
	for name, reason := range map[string]string{
		"§3.3.1/deliver=direct/alert":                  "does not advertise http://jabber.org/protocol/amp?action=alert",
		"§3.3.2/expire-at=past/notify":                 "does not advertise http://jabber.org/protocol/amp?condition=expire-at",
		"§2.2.3/staged/fired-rule-does-not-fire-again": "does not advertise http://jabber.org/protocol/amp?condition=expire-at",
	} {
		if r := byName[name]; r.Status != amptest.Skip || !strings.Contains(r.Reason, reason) {
			t.Errorf("%s: %s %q, want skip because it %s", name, r.Status, r.Reason, reason)
		}
	}
	for _, name := range []string{
		"§2.2.1/unadvertised-action/alert",
		"§2.2.1/unadvertised-condition/expire-at",
		"§3.3.1/deliver=direct/notify",
		"§3.3.3/match-resource=other/error",
	} {
		if r := byName[name]; r.Status != amptest.Pass {
			t.Errorf("%s: %s, want pass\n%s", name, r.Status, r.Report())
		}
	}
}

// TestConformanceCatchesWiringFaults breaks the server's AMP wiring in
// eight ways a server developer could, and checks that the kit names each
// mistake: the scenarios that must fail fail for the right reason, and no
// scenario fails for a reason the mistake does not explain. A scenario
// "fails" here with any verdict but pass and skip: a mistake against the
// project's reading is informational.
func TestConformanceCatchesWiringFaults(t *testing.T) {
	t.Parallel()
	problem := func(phrase string) func(amptest.Result) bool {
		return func(r amptest.Result) bool {
			for _, p := range r.Problems {
				if strings.Contains(p.Text, phrase) {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		name   string
		faults wiringFaults
		// caught maps scenarios that must fail to a phrase one of their
		// problems must contain: the reason.
		caught map[string]string
		// blame says whether a failure is explained by the mistake.
		blame func(amptest.Result) bool
		// otherClock gives the kit a clock hook that the server does not
		// read: the server keeps the real time.
		otherClock bool
	}{{
		name:   "no evaluation at dispatch",
		faults: wiringFaults{noDispatchEval: true},
		caught: map[string]string{
			"§2.2.3/staged/dispatch-evaluates-again":      "the notify event for <rule action='notify' condition='deliver' value='direct'/>: nothing arrived",
			"§3.3.2/expire-at=passes-while-stored/alert":  "the alert event for",
			"§3.3.2/expire-at=passes-while-stored/error":  "the error of the error action for",
			"§3.3.2/expire-at=passes-while-stored/notify": "the notify event for",
			"§3.3.2/expire-at=passes-while-stored/drop":   "received the message",
			"§3.4.2/restart/stopped-message-not-kept":     "received the message",
		},
		blame: func(r amptest.Result) bool {
			return strings.Contains(r.Name, "passes-while-stored") || strings.Contains(r.Name, "/staged/") ||
				r.Name == "§3.3.1/deliver=stored/notify" || r.Name == "§3.4.2/restart/stopped-message-not-kept"
		},
	}, {
		name:   "presence read from the sender's roster",
		faults: wiringFaults{senderRoster: true},
		// The rosters are one way (oneWay): read from the sender's roster,
		// alice may not see bob's presence and bob may see alice's.
		caught: map[string]string{
			"§3.3.1/deliver=direct/notify": "received an AMP refusal (not-acceptable)",
			"§3.3.1/deliver=direct/alert":  "received an AMP refusal (not-acceptable)",
			"§2.2.5/no-body-in-event":      "received an AMP refusal (not-acceptable)",
			"§9/no-subscription/notify":    "the not-acceptable refusal with <invalid-rules/>: nothing arrived",
			"§9/no-subscription/error":     "the not-acceptable refusal with <invalid-rules/>: nothing arrived",
			"§9/one-way/reverse/notify":    "the not-acceptable refusal with <invalid-rules/>: nothing arrived",
		},
		blame: problem("not-acceptable"),
	}, {
		name:   "<amp/> left on the delivered message",
		faults: wiringFaults{keepAMP: true},
		caught: map[string]string{
			"§2.2.4/no-amp-on-delivered-message": "<amp/> left on the message delivered to the recipient",
			"§3.3.1/deliver=direct/notify":       "<amp/> left on the message delivered to the recipient",
			"§3.3.3/match-resource=other/notify": "<amp/> left on the message delivered to the recipient",
		},
		blame: problem("<amp/> left on the message delivered to the recipient"),
	}, {
		name:   "replies without the original id",
		faults: wiringFaults{noReplyID: true},
		caught: map[string]string{
			"§3.3.1/deliver=direct/notify":              "want the original id",
			"§3.3.1/deliver=stored/alert":               "want the original id",
			"§3.3.1/deliver=direct/error":               "want the original id",
			"§2.2.1/precedence/action-before-condition": "want the original id",
		},
		blame: problem("want the original id"),
	}, {
		name:   "service-unavailable after a deciding rule",
		faults: wiringFaults{bounceAnyway: true},
		caught: map[string]string{"§2.2.3/deliver=none/unknown-user/alert": ""},
		blame:  func(r amptest.Result) bool { return strings.Contains(r.Name, "unknown-user") },
	}, {
		name:       "a server clock the test does not control",
		otherClock: true,
		caught: map[string]string{
			"§3.3.2/expire-at=passes-while-stored/alert":  "the alert event for",
			"§3.3.2/expire-at=passes-while-stored/error":  "the error of the error action for",
			"§3.3.2/expire-at=passes-while-stored/notify": "the notify event for",
			"§3.3.2/expire-at=passes-while-stored/drop":   "received the message",
			"§3.4.2/restart/stopped-message-not-kept":     "received the message",
		},
		blame: func(r amptest.Result) bool {
			return strings.Contains(r.Name, "passes-while-stored") || r.Name == "§3.4.2/restart/stopped-message-not-kept"
		},
	}, {
		name:   "deliver=direct notified before the recipient's acknowledgement",
		faults: wiringFaults{earlyDirect: true},
		caught: map[string]string{"§2.2.3/sm/no-direct-before-ack": "the sender was told deliver=direct"},
		blame:  problem("the sender was told deliver=direct"),
	}, {
		name:   "a message stopped at dispatch left in the store",
		faults: wiringFaults{staleStore: true},
		caught: map[string]string{"§3.4.2/restart/stopped-message-not-kept": "unexpected: alice/"},
		blame:  problem("unexpected: alice/"),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := oneWay(testConfig(t, amp.Config{}, nil))
			ts := startFaulty(t, cfg, tc.faults)
			s := kitServer(ts.port)
			s.Restart = func() error { ts.restart(); return nil }
			if tc.otherClock {
				var clock offsetClock
				s.SetTime = clock.Set
			}
			results, err := amptest.Check(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			failed := map[string]amptest.Result{}
			for _, r := range results {
				// §2.2.3/sm/no-direct-before-ack fails now and then on the
				// unbroken server too (not yet understood): no fault
				// explains it, and earlyDirect is checked by
				// TestWiringFaults.
				if r.Status == amptest.Pass || r.Status == amptest.Skip {
					continue
				}
				failed[r.Name] = r
				if !tc.blame(r) {
					t.Errorf("%s failed for a reason the mistake does not explain:\n%s", r.Name, r.Report())
				}
			}
			for name, phrase := range tc.caught {
				r, ok := failed[name]
				if !ok {
					t.Errorf("%s did not fail, want it to catch the mistake", name)
					continue
				}
				if !problem(phrase)(r) {
					t.Errorf("%s failed, but no problem says %q:\n%s", name, phrase, r.Report())
				}
			}
		})
	}
}
