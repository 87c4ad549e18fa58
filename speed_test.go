package amp_test

// The preconditions of the code written for speed, which names its
// benchmark: what it must do to be the plain code it stands for.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRepliesOwnTheirAttributes checks the replies built without
// CreateAttr's search (BenchmarkNotify): each attribute belongs to its
// element, as CreateAttr would make it, and no name is written twice.
func TestRepliesOwnTheirAttributes(t *testing.T) {
	rules := `<rule condition='deliver' action='notify' value='direct'/>` +
		`<rule condition='match-resource' action='notify' value='exact'/>` +
		`<rule condition='deliver' action='error' value='direct'/>`
	var replies []*etree.Element
	for _, o := range []amp.Outcome{
		{Delivery: amp.DeliveryDirect, Resource: "balcony"},
		{Delivery: amp.DeliveryStored, NextHop: amp.NextHopNoAMP},
	} {
		res := mustEvaluate(t, mustParse(t, message(t, recipient, "", rules)), o)
		replies = append(replies, res.Replies(domain)...)
	}
	_, err := (*amp.Processor)(nil).Parse(message(t, recipient, "", `<rule condition='deliver' action='bogus' value='direct'/>`), amp.HopEdge, amp.PresenceAuthorized)
	var refusal *amp.Error
	require.ErrorAs(t, err, &refusal)
	replies = append(replies, refusal.Reply(domain))
	require.Len(t, replies, 5) // two notify events and an error; service-unavailable; a refusal
	var check func(el *etree.Element)
	check = func(el *etree.Element) {
		seen := map[string]bool{}
		for i := range el.Attr {
			a := &el.Attr[i]
			require.Same(t, el, a.Element(), "%s of <%s>", a.FullKey(), el.FullTag())
			require.False(t, seen[a.FullKey()], "%s twice on <%s>", a.FullKey(), el.FullTag())
			seen[a.FullKey()] = true
		}
		for _, c := range el.ChildElements() {
			check(c)
		}
	}
	for _, r := range replies {
		check(r)
	}
}

// TestManyNotifyRules checks the set of met notify rules past the 64
// that take no allocation (BenchmarkEvaluate): each event is sent once, in
// document order, and a stored message keeps exactly the rules not met.
func TestManyNotifyRules(t *testing.T) {
	p, err := amp.NewProcessor(amp.Config{MaxRules: 200})
	require.NoError(t, err)
	var rules strings.Builder
	for i := range 150 {
		value := "stored"
		if i%3 == 0 {
			value = "direct" // not met by storage: kept
		}
		fmt.Fprintf(&rules, `<rule condition='deliver' action='notify' value='%s'/>`, value)
	}
	req, err := p.Parse(message(t, recipient, "", rules.String()), amp.HopEdge, amp.PresenceAuthorized)
	require.NoError(t, err)
	res := mustEvaluate(t, req, amp.Outcome{Delivery: amp.DeliveryStored})
	replies := res.Replies(domain)
	assert.Len(t, replies, 100)
	for _, r := range replies {
		ev := amp.ParseEvent(r)
		require.NotNil(t, ev)
		require.Equal(t, "stored", ev.Rules[0].Value)
	}
	stored := res.Message()
	kept, err := p.Resume(stored, amp.PresenceAuthorized)
	require.NoError(t, err)
	again := mustEvaluate(t, kept, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony"})
	assert.Len(t, again.Replies(domain), 50)
}

// mustParse parses msg at an edge server for a sender with presence
// authorization, and requires it to be accepted.
func mustParse(t testing.TB, msg *etree.Element) amp.Request {
	t.Helper()
	req, err := (*amp.Processor)(nil).Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
	require.NoError(t, err)
	return req
}
