package amp_test

// Issue 15: a message's whole life. Direct delivery that fails goes on from
// the request as it was (Result.Request); a stored message is resumed at
// dispatch (Processor.Resume), not validated again, and honoured with the
// rules it was stored with; a sender who may no longer see the recipient's
// presence hears nothing, but a rule that stops delivery still stops it.

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lcStore evaluates req for storage at the time at, requires the server
// to store it, and returns the stored message as the server writes and
// reads it back, and the Result.
func lcStore(t testing.TB, req amp.Request, at time.Time) (*etree.Element, amp.Result) {
	t.Helper()
	res := mustEvaluate(t, req, amp.Outcome{Delivery: amp.DeliveryStored, Time: at})
	require.True(t, res.Proceed(), "stored")
	return readXML(t, writeXML(res.Message())), res
}

// lcResume resumes stored with p for presence, and requires it to succeed.
func lcResume(t testing.TB, p *amp.Processor, stored *etree.Element, presence amp.Presence) amp.Request {
	t.Helper()
	req, err := p.Resume(stored, presence)
	require.NoError(t, err, "Resume(%s)", writeXML(stored))
	return req
}

func TestLifecycleDirectFails(t *testing.T) {
	var p *amp.Processor
	notifyDirect := rule(amp.ConditionDeliver, amp.ActionNotify, "direct")
	notifyStored := rule(amp.ConditionDeliver, amp.ActionNotify, "stored")
	msg := message(t, recipient, "", rulesXML(notifyDirect, notifyStored))
	at := mustTime("2026-11-25T10:00:00Z")

	// 1. Direct delivery: the deliver=direct notify is held until the
	// client acknowledges the message.
	direct := evaluate(t, p, msg, amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", Time: at})
	require.Equal(t, effect{Proceed: true, Replies: []string{"notify"}}, effectOf(t, msg, direct))
	require.Equal(t, []amp.Rule{notifyDirect}, firedRules(t, direct))
	assert.Nil(t, ampOf(direct.Message()).Rules, "delivered without <amp/>")

	// 2. The session closed before the acknowledgement: the notify was
	// never sent, so the request is evaluated again, as it was, for
	// storage. The sender hears "stored", never "direct".
	storedRes := mustEvaluate(t, direct.Request(), amp.Outcome{Delivery: amp.DeliveryStored, Time: at})
	require.Equal(t, effect{Proceed: true, Replies: []string{"notify"}}, effectOf(t, msg, storedRes))
	require.Equal(t, []amp.Rule{notifyStored}, firedRules(t, storedRes))
	// The stored copy keeps the deliver=direct notify, which has not fired.
	assertXML(t, requestXML("", rulesXML(notifyDirect)), storedRes.Message())

	// 3. At dispatch the stored message is resumed, and its deliver=direct
	// notify fires then.
	back := readXML(t, writeXML(storedRes.Message()))
	dispatch := mustEvaluate(t, lcResume(t, p, back, amp.PresenceAuthorized), amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", Time: at.Add(time.Hour)})
	require.Equal(t, effect{Proceed: true, Replies: []string{"notify"}}, effectOf(t, back, dispatch))
	require.Equal(t, []amp.Rule{notifyDirect}, firedRules(t, dispatch))
	delivered := message(t, recipient, "", "")
	delivered.RemoveChild(owFirstAMP(delivered))
	assertXML(t, writeXML(delivered), dispatch.Message(), "delivered without <amp/>")
}

func TestLifecycleAlertAtDirect(t *testing.T) {
	alert := rule(amp.ConditionDeliver, amp.ActionAlert, "direct")
	msg := message(t, recipient, "", rulesXML(rule(amp.ConditionDeliver, amp.ActionNotify, "stored"), alert))
	res := evaluate(t, nil, msg, amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony"})
	require.Equal(t, effect{Action: amp.ActionAlert, Replies: []string{"alert"}}, effectOf(t, msg, res))
	require.Equal(t, []amp.Rule{alert}, firedRules(t, res))
	assert.Nil(t, res.Message(), "nothing to deliver")
	want := fmt.Sprintf(`<message xmlns='jabber:client' from='%s' to='%s' id='%s'><amp xmlns='%s' status='alert' from='%s' to='%s'>%s</amp></message>`,
		domain, sender, msgID, amp.NS, sender, recipient, rulesXML(alert))
	assertXMLs(t, []string{want}, res.Replies(domain))
}

func TestLifecycleExpireAtAtDispatch(t *testing.T) {
	var p *amp.Processor
	expire := rule(amp.ConditionExpireAt, amp.ActionAlert, "2026-12-01T00:00:00Z")
	msg := message(t, bare, "", rulesXML(expire))
	req, err := p.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
	require.NoError(t, err)
	// Stored before its time: the rule is not met, and is kept.
	stored, res := lcStore(t, req, mustTime("2026-11-25T10:00:00Z"))
	require.Nil(t, res.Replies(domain))
	require.Equal(t, []amp.Rule{expire}, kept(t, stored).Rules)
	for _, c := range []struct {
		name string
		at   string
		want effect
	}{
		{"before", "2026-11-30T23:59:59Z", goesOn},
		{"at", "2026-12-01T00:00:00Z", effect{Action: amp.ActionAlert, Replies: []string{"alert"}}},
		{"after", "2027-01-01T00:00:00Z", effect{Action: amp.ActionAlert, Replies: []string{"alert"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := mustEvaluate(t, lcResume(t, p, stored, amp.PresenceAuthorized), amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "laptop", Time: mustTime(c.at)})
			require.Equal(t, c.want, effectOf(t, stored, res))
			if !res.Proceed() {
				require.Equal(t, []amp.Rule{expire}, firedRules(t, res))
			}
		})
	}
	t.Run("stored-after-its-time", func(t *testing.T) {
		// Its time had passed when the server stored it: met at once.
		res := mustEvaluate(t, req, amp.Outcome{Delivery: amp.DeliveryStored, Time: mustTime("2026-12-01T00:00:00Z")})
		require.Equal(t, effect{Action: amp.ActionAlert, Replies: []string{"alert"}}, effectOf(t, msg, res))
	})
}

// TestResumeDenied resumes stored messages for a sender who may no longer
// see the recipient's presence (§9): nothing is sent, but a met alert,
// drop or error rule still stops the delivery.
func TestResumeDenied(t *testing.T) {
	dispatch := amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", Time: mustTime("2026-12-02T00:00:00Z")}
	for _, c := range []struct {
		name    string
		rules   []amp.Rule
		proceed bool
		// authorized is what the same message sends when the sender may
		// see the recipient's presence.
		authorized effect
	}{
		{"notify", []amp.Rule{rule(amp.ConditionDeliver, amp.ActionNotify, "direct")}, true, effect{Proceed: true, Replies: []string{"notify"}}},
		{"notify-several", []amp.Rule{rule(amp.ConditionDeliver, amp.ActionNotify, "direct"), rule(amp.ConditionMatchResource, amp.ActionNotify, "exact")}, true,
			effect{Proceed: true, Replies: []string{"notify", "notify"}}},
		{"alert", []amp.Rule{rule(amp.ConditionExpireAt, amp.ActionAlert, "2026-12-01T00:00:00Z")}, false, effect{Action: amp.ActionAlert, Replies: []string{"alert"}}},
		{"error", []amp.Rule{rule(amp.ConditionMatchResource, amp.ActionError, "exact")}, false, effect{Action: amp.ActionError, Replies: []string{"error"}}},
		{"drop", []amp.Rule{rule(amp.ConditionDeliver, amp.ActionDrop, "direct")}, false, effect{Action: amp.ActionDrop}},
		{"notify-then-alert", []amp.Rule{rule(amp.ConditionDeliver, amp.ActionNotify, "direct"), rule(amp.ConditionDeliver, amp.ActionAlert, "direct")}, false,
			effect{Action: amp.ActionAlert, Replies: []string{"notify", "alert"}}},
		{"nothing-met", []amp.Rule{rule(amp.ConditionDeliver, amp.ActionAlert, "none")}, true, goesOn},
	} {
		t.Run(c.name, func(t *testing.T) {
			stored := message(t, recipient, "", rulesXML(c.rules...))
			authorized := mustEvaluate(t, lcResume(t, nil, stored, amp.PresenceAuthorized), dispatch)
			require.Equal(t, c.authorized, effectOf(t, stored, authorized), "authorized")

			res := mustEvaluate(t, lcResume(t, nil, stored, amp.PresenceDenied), dispatch)
			require.Equal(t, c.proceed, res.Proceed(), "Proceed")
			require.Nil(t, res.Replies(domain), "a reply to a sender who may not see presence")
			// Nor when its delivery fails and the server stores it again.
			again := mustEvaluate(t, res.Request(), amp.Outcome{Delivery: amp.DeliveryStored, Time: dispatch.Time})
			require.Nil(t, again.Replies(domain), "a reply after a failed delivery")
			if c.proceed {
				require.NotNil(t, res.Message())
				require.Nil(t, ampOf(res.Message()).Rules, "delivered without <amp/>")
			} else {
				require.Nil(t, res.Message())
			}
			// Nor to a next hop without AMP: service-unavailable too would
			// tell that the message was dispatched.
			routed := dispatch
			routed.NextHop = amp.NextHopNoAMP
			noAMP := mustEvaluate(t, lcResume(t, nil, stored, amp.PresenceDenied), routed)
			require.False(t, noAMP.Proceed())
			require.Nil(t, noAMP.Replies(domain), "service-unavailable to a sender who may not see presence")
		})
	}
}

// TestResumeHonoursChangedConfig resumes stored messages with a Processor
// whose configuration changed since they were accepted: their rules keep
// their meaning and are never refused.
func TestResumeHonoursChangedConfig(t *testing.T) {
	dispatch := amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", Time: mustTime("2026-12-02T00:00:00Z")}
	expireAlert := rule(amp.ConditionExpireAt, amp.ActionAlert, "2026-12-01T00:00:00Z")
	notifyDirect := rule(amp.ConditionDeliver, amp.ActionNotify, "direct")
	longValue := rule(amp.ConditionExpireAt, amp.ActionDrop, "2026-12-01T00:00:00.000000000000000000000000000000Z")
	for _, c := range []struct {
		name  string
		cfg   amp.Config
		rules []amp.Rule
		want  effect
	}{
		{"without-expire-at", amp.Config{Conditions: []amp.Condition{amp.ConditionDeliver, amp.ConditionMatchResource}},
			[]amp.Rule{notifyDirect, expireAlert}, effect{Action: amp.ActionAlert, Replies: []string{"notify", "alert"}}},
		{"without-alert", amp.Config{Actions: []amp.Action{amp.ActionDrop, amp.ActionNotify}},
			[]amp.Rule{notifyDirect, expireAlert}, effect{Action: amp.ActionAlert, Replies: []string{"notify", "alert"}}},
		{"without-notify", amp.Config{Actions: []amp.Action{amp.ActionDrop}, Conditions: []amp.Condition{amp.ConditionDeliver}},
			[]amp.Rule{notifyDirect}, effect{Proceed: true, Replies: []string{"notify"}}},
		{"fewer-rules-allowed", amp.Config{MaxRules: 1},
			[]amp.Rule{notifyDirect, notifyDirect, expireAlert}, effect{Action: amp.ActionAlert, Replies: []string{"notify", "notify", "alert"}}},
		{"shorter-values-allowed", amp.Config{MaxValueLen: 20},
			[]amp.Rule{notifyDirect, longValue}, effect{Action: amp.ActionDrop, Replies: []string{"notify"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := amp.NewProcessor(c.cfg)
			require.NoError(t, err)
			// Accepted by the default server, and stored.
			msg := message(t, recipient, "", rulesXML(c.rules...))
			req, err := (*amp.Processor)(nil).Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
			require.NoError(t, err)
			stored, _ := lcStore(t, req, mustTime("2026-11-25T10:00:00Z"))
			require.Equal(t, c.rules, kept(t, stored).Rules)
			// The new configuration would refuse the request on receipt.
			_, err = p.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
			var e *amp.Error
			require.ErrorAs(t, err, &e, "the new configuration refuses the request at receipt")
			// At dispatch it is honoured.
			res := mustEvaluate(t, lcResume(t, p, stored, amp.PresenceAuthorized), dispatch)
			require.Equal(t, c.want, effectOf(t, stored, res))
			require.Equal(t, c.rules[:len(c.want.Replies)], firedRules(t, res))
		})
	}
	t.Run("presence-withdrawn", func(t *testing.T) {
		// Accepted with presence, resumed without: not refused (no
		// not-acceptable revealing the recipient's status), silent.
		stored := message(t, recipient, "", rulesXML(notifyDirect))
		req, err := (*amp.Processor)(nil).Resume(stored, amp.PresenceDenied)
		require.NoError(t, err)
		res := mustEvaluate(t, req, dispatch)
		require.True(t, res.Proceed())
		require.Nil(t, res.Replies(domain))
	})
}

// TestResumeMalformed resumes stored messages that Result.Message never
// writes: a rule XEP-0079 does not define, or a value its condition does
// not define, is an error naming the rule.
func TestResumeMalformed(t *testing.T) {
	good := rulesXML(rule(amp.ConditionDeliver, amp.ActionNotify, "direct"))
	for _, c := range []struct {
		name  string
		rules string
		text  string // what the error says besides the rule number
	}{
		{"unknown condition", good + ruleXML("x-when", "drop", "now"), `"x-when"`},
		{"unknown action", good + ruleXML("deliver", "bounce", "none"), `"bounce"`},
		{"bad deliver value", good + ruleXML("deliver", "drop", "later"), `"later"`},
		{"bad match-resource value", good + ruleXML("match-resource", "drop", "balcony"), `"balcony"`},
		{"bad expire-at value", good + ruleXML("expire-at", "drop", "tomorrow"), `"tomorrow"`},
		{"expire-at not in UTC", good + ruleXML("expire-at", "drop", "2026-12-01T00:00:00+01:00"), "UTC"},
		{"missing value", good + `<rule condition='deliver' action='drop'/>`, ""},
		{"missing condition", good + `<rule action='drop' value='none'/>`, ""},
		{"empty action", good + `<rule condition='deliver' action='' value='none'/>`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			stored := message(t, recipient, "", c.rules)
			req, err := (*amp.Processor)(nil).Resume(stored, amp.PresenceAuthorized)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "rule 2", "the error names the rule")
			assert.Contains(t, err.Error(), c.text)
			assert.Equal(t, amp.Request{}, req)
		})
	}
}

// TestResumeNoRequest resumes what carries no request: the message itself
// goes on, and what is not a message has nobody to answer.
func TestResumeNoRequest(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
	}{
		{"no amp", messageXML(" to='"+recipient+"'", "<body>hi</body>")},
		{"an event", messageXML("", `<amp xmlns='http://jabber.org/protocol/amp' status='notify'>`+notifyRule+`</amp>`)},
		{"amp in another namespace", messageXML("", `<amp xmlns='urn:other'>`+bogusRule+`</amp>`)},
		{"type error", messageXML(" type='error'", `<amp xmlns='http://jabber.org/protocol/amp'>`+bogusRule+`</amp>`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			stored := readXML(t, c.in)
			req := lcResume(t, nil, stored, amp.PresenceAuthorized)
			for _, o := range boundOutcomes {
				res := mustEvaluate(t, req, o)
				require.True(t, res.Proceed(), "%+v", o)
				require.Nil(t, res.Replies(domain), "%+v", o)
				require.Same(t, stored, res.Message(), "%+v", o)
			}
		})
	}
	for _, c := range []struct {
		name string
		in   *etree.Element
		want error
	}{
		{"nil", nil, amp.ErrNotMessage},
		{"an iq", readXML(t, `<iq from='a@b/c' id='1' type='set'><amp xmlns='http://jabber.org/protocol/amp'>`+dropRule+`</amp></iq>`), amp.ErrNotMessage},
		{"no from", readXML(t, `<message id='1'><amp xmlns='http://jabber.org/protocol/amp'>`+dropRule+`</amp></message>`), amp.ErrNoSender},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := (*amp.Processor)(nil).Resume(c.in, amp.PresenceAuthorized)
			require.ErrorIs(t, err, c.want)
			require.Equal(t, amp.Request{}, req)
		})
	}
}

// TestResource is the destination's resource for a message to a bare JID
// (issue 15): delivered to the session "laptop", the resource is "laptop",
// not "", so exact is not met and other is.
func TestResource(t *testing.T) {
	for _, c := range []struct {
		name   string
		to     string
		o      amp.Outcome
		resume bool // the message is a stored one, resumed at dispatch
		// met is whether any, exact and other are met.
		any, exact, other bool
	}{
		{"bare-to-laptop", bare, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "laptop"}, false, true, false, true},
		{"bare-to-laptop-resumed", bare, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "laptop"}, true, true, false, true},
		{"bare-to-phone", bare, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "phone"}, false, true, false, true},
		{"bare-stored", bare, amp.Outcome{Delivery: amp.DeliveryStored}, false, false, true, false},
		{"bare-to-a-room", bare, amp.Outcome{Delivery: amp.DeliveryDirect}, false, true, true, false},
		{"full-to-its-resource", bare + "/laptop", amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "laptop"}, false, true, true, false},
		{"full-to-its-resource-resumed", bare + "/laptop", amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "laptop"}, true, true, true, false},
		{"full-to-another", bare + "/laptop", amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "phone"}, false, true, false, true},
	} {
		for _, v := range []struct {
			value amp.MatchResource
			met   bool
		}{{amp.MatchResourceAny, c.any}, {amp.MatchResourceExact, c.exact}, {amp.MatchResourceOther, c.other}} {
			for _, action := range []amp.Action{amp.ActionNotify, amp.ActionDrop} {
				t.Run(fmt.Sprintf("%s/%s/%s", c.name, v.value, action), func(t *testing.T) {
					r := rule(amp.ConditionMatchResource, action, string(v.value))
					msg := message(t, c.to, "", rulesXML(r))
					var req amp.Request
					var err error
					if c.resume {
						req, err = (*amp.Processor)(nil).Resume(msg, amp.PresenceAuthorized)
					} else {
						req, err = (*amp.Processor)(nil).Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
					}
					require.NoError(t, err)
					want := goesOn
					if v.met {
						want = metRule(action)
					}
					require.Equal(t, want, effectOf(t, msg, mustEvaluate(t, req, c.o)))
				})
			}
		}
	}
}

// TestResumeMalformedPerHop resumes a stored <amp/> whose per-hop
// Result.Message never writes. It is an error of the stored message, like
// a malformed rule: not an *Error, which is a refusal of a request by
// Parse and has a Reply a server would send to the sender at dispatch,
// whatever the sender may know of the recipient's presence (§9).
func TestResumeMalformedPerHop(t *testing.T) {
	for _, attrs := range []string{` per-hop='maybe'`, ` per-hop='true' per-hop='false'`} {
		t.Run(attrs, func(t *testing.T) {
			for _, presence := range []amp.Presence{amp.PresenceAuthorized, amp.PresenceDenied} {
				req, err := (*amp.Processor)(nil).Resume(message(t, recipient, attrs, notifyRule), presence)
				require.Error(t, err)
				assert.Contains(t, err.Error(), "per-hop")
				var e *amp.Error
				if errors.As(err, &e) {
					t.Errorf("presence %v: got an *Error, %v, whose Reply a server sends at dispatch: %s; want an error with nobody to answer",
						presence, err, writeXML(e.Reply(domain)))
				}
				assert.Equal(t, amp.Request{}, req)
			}
		})
	}
}
