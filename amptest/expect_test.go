package amptest

import (
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
)

// offlineConn is a session with no stream: what it received is queued by
// hand.
func offlineConn(t *testing.T, full string, received ...string) *conn {
	c := &conn{jid: jid.MustParse(full), label: full, log: &transcript{}, notify: make(chan struct{}, 1)}
	for _, x := range received {
		doc := etree.NewDocument()
		require.NoError(t, doc.ReadFromString(x))
		c.queue = append(c.queue, doc.Root())
	}
	return c
}

// TestVerdictReasons feeds the expectations replies a server could send
// and checks that each gets the verdict its worst problem deserves, for
// the right reason: an event for the wrong rule, even written with the met
// rule's value, is not taken for the met one.
func TestVerdictReasons(t *testing.T) {
	met := rule(amp.ConditionDeliver, amp.ActionNotify, "direct")
	decoy := rule(amp.ConditionDeliver, amp.ActionAlert, "stored")
	const sender, to = "alice@localhost/s", "bob@localhost/r1"
	event := func(from, status, rules string) string {
		return `<message from='` + from + `' to='` + sender + `' id='amptest-t-m1'><amp xmlns='http://jabber.org/protocol/amp' status='` + status +
			`' from='` + sender + `' to='` + to + `'>` + rules + `</amp></message>`
	}
	metXML := `<rule action='notify' condition='deliver' value='direct'/>`
	tests := []struct {
		name     string
		replies  []string
		status   Status
		problems []string
	}{
		{"the event", []string{event("localhost", "notify", metXML)}, Pass, nil},
		{"from the recipient", []string{event(to, "notify", metXML)}, Informational, []string{"[project]", "want the server"}},
		{"both rules in the event", []string{event("localhost", "notify", metXML+`<rule action='alert' condition='deliver' value='stored'/>`)},
			Fail, []string{"[MUST]", "want exactly the rule met"}},
		{"the decoy's event, mislabelled with the met value", []string{event("localhost", "alert", `<rule action='alert' condition='deliver' value='direct'/>`)},
			Fail, []string{"[MUST]", "nothing arrived", "unexpected", "an AMP alert event"}},
		{"a body in the event", []string{strings.Replace(event("localhost", "notify", metXML), "</amp>", "</amp><body>hi</body>", 1)},
			NonStrict, []string{"[SHOULD]", "<body/>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := &kit{s: Server{Domain: "localhost", Timeout: 200 * time.Millisecond, Quiet: 20 * time.Millisecond}, sup: support{actions: map[amp.Action]bool{amp.ActionAlert: true, amp.ActionNotify: true}}}
			e := &env{k: k, token: "amptest-t", log: &transcript{}}
			s := offlineConn(t, sender, tc.replies...)
			e.conns = []*conn{s}
			msg := e.message(to, rules(rule(met.Condition, e.decoyAction(met.Action), decoy.Value), met))
			e.exchange(e.event(s, msg, amp.ActionNotify, met))
			status := Pass
			var text strings.Builder
			for _, p := range e.problems {
				status = max(status, verdict(p.Level))
				text.WriteString(p.String() + "\n")
			}
			assert.Equal(t, tc.status, status, text.String())
			for _, w := range tc.problems {
				assert.Contains(t, text.String(), w)
			}
		})
	}
}
