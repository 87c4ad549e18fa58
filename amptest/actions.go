package amptest

import (
	"fmt"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// A delivery is how a scenario makes the server's default behaviour the
// one a rule's condition value names: who is online, where the message
// goes, and when the recipient logs in.
type delivery struct {
	online  int    // recipient sessions online before the message: 0, 1 or 2
	to      string // "full": the first session; "bare"; "gone": an offline resource
	typ     string // the message's type, "" for normal
	loginAt bool   // the recipient logs in afterwards: a stored message comes then
}

var (
	toOnline   = delivery{online: 1, to: "full"}
	toOffline  = delivery{to: "bare", loginAt: true}
	toNowhere  = delivery{to: "bare", typ: "headline", loginAt: true}
	toResource = delivery{online: 2, to: "gone"}
)

// conditionCase is one row of the action scenarios: a condition value
// that the delivery meets, and a value it does not meet, sent first as a
// decoy. Every action runs every row.
type conditionCase struct {
	name     string // "deliver=direct"
	cond     amp.Condition
	met      func(now time.Time) string
	decoy    func(now time.Time) string // "" for no decoy
	delivery delivery
	doc      string // completes "<action> rule ..."
}

func fixed(v string) func(time.Time) string { return func(time.Time) string { return v } }

func offset(d time.Duration) func(time.Time) string {
	return func(now time.Time) string { return formatDateTime(now.Add(d)) }
}

var conditionCases = []conditionCase{
	{"deliver=direct", amp.ConditionDeliver, fixed("direct"), fixed("stored"), toOnline,
		"deliver=direct is met for a message to an online resource, and a deliver=stored decoy before it is not"},
	{"deliver=stored", amp.ConditionDeliver, fixed("stored"), fixed("none"), toOffline,
		"deliver=stored is met for a message to an offline user, and the message is stored only if the action lets it through"},
	{"deliver=none", amp.ConditionDeliver, fixed("none"), fixed("stored"), toNowhere,
		"deliver=none is met for a headline to an offline user, which is not stored (RFC 6121 §8.5.2.2), and a deliver=stored decoy is not"},
	{"expire-at=past", amp.ConditionExpireAt, offset(-time.Hour), offset(time.Hour), toOnline,
		"expire-at whose time has passed is met on receipt, and an expire-at an hour ahead before it is not"},
	{"match-resource=any", amp.ConditionMatchResource, fixed("any"), nil, toOnline,
		"match-resource=any is met for a message delivered to an online resource"},
	{"match-resource=exact", amp.ConditionMatchResource, fixed("exact"), fixed("other"), toOnline,
		"match-resource=exact is met for a message to the online resource it names, and an other decoy before it is not"},
	{"match-resource=other", amp.ConditionMatchResource, fixed("other"), fixed("exact"), toResource,
		"match-resource=other is met for a message to an offline resource delivered to another, and an exact decoy before it is not"},
}

// sectionOf returns the XEP section of condition c.
func sectionOf(c amp.Condition) string {
	switch c {
	case amp.ConditionExpireAt:
		return "§3.3.2"
	case amp.ConditionMatchResource:
		return "§3.3.3"
	}
	return "§3.3.1"
}

// actionScenarios are the scenarios of action a: each condition case, and
// an expire-at that passes while the message is stored.
func actionScenarios(a amp.Action) []scenario {
	var out []scenario
	for _, cc := range conditionCases {
		out = append(out, scenario{
			name:       fmt.Sprintf("%s/%s/%s", sectionOf(cc.cond), cc.name, a),
			level:      Must,
			req:        reqProcess + " " + reqAction[a],
			doc:        withArticle(a) + " rule on " + cc.doc,
			actions:    []amp.Action{a},
			conditions: []amp.Condition{cc.cond},
			run:        func(e *env) { e.runCase(a, cc) },
		})
	}
	return append(out, scenario{
		name:       fmt.Sprintf("§3.3.2/expire-at=passes-while-stored/%s", a),
		level:      Must,
		req:        "§3.3.2: The condition is met if the message would be delivered to the recipient after the specified datetime. " + reqAction[a],
		doc:        fmt.Sprintf("%s expire-at rule that passes while the message is stored is met when the message is dispatched at login", withArticle(a)),
		actions:    []amp.Action{a},
		conditions: []amp.Condition{amp.ConditionExpireAt},
		run: func(e *env) {
			e.expiredWhileStored(a)
		},
	})
}

// runCase sends a message with cc's decoy and met rules, of action a,
// along cc's delivery, and wants what the met rule's action does.
func (e *env) runCase(a amp.Action, cc conditionCase) {
	s := e.login(e.k.sender, "s")
	var online []*conn
	for i := range cc.delivery.online {
		online = append(online, e.login(e.k.recipient, fmt.Sprintf("r%d", i+1)))
	}
	to := e.jid(e.k.recipient)
	targets := online
	switch cc.delivery.to {
	case "full":
		to, targets = online[0].jid.String(), online[:1]
	case "gone":
		to = e.jid(e.k.recipient) + "/" + e.token + "-gone"
		targets = e.otherResources(s, to, online)
	}
	now := time.Now()
	met := rule(cc.cond, a, cc.met(now))
	rs := rules(met)
	if cc.decoy != nil {
		rs = rules(rule(cc.cond, e.decoyAction(a), cc.decoy(now)), met)
	}
	msg := e.message(to, rs)
	if cc.delivery.typ != "" {
		msg.CreateAttr("type", cc.delivery.typ)
	}
	e.send(s, msg)
	e.exchange(e.acted(s, msg, met, targets...)...)
	if !cc.delivery.loginAt {
		return
	}
	r1 := e.login(e.k.recipient, "r1")
	if a == amp.ActionNotify && cc.delivery.typ == "" {
		e.exchange(e.delivered(s, msg, r1))
		return
	}
	e.quiet()
}

// otherResources finds where the server delivers a message for the
// offline resource to of an online user: to one of the sessions online or
// to all of them (RFC 6121 §8.5.3.2.1 allows both). It skips the scenario
// when the server answers with an error instead, since match-resource=
// other cannot be produced there.
func (e *env) otherResources(s *conn, to string, online []*conn) []*conn {
	probe := e.message(to, nil)
	e.send(s, probe)
	var wants []*want
	for _, c := range online {
		wants = append(wants, &want{to: []*conn{c}, optional: true, desc: "the probe for an offline resource, at " + c.label,
			match: func(el *etree.Element) bool { return bodyText(el) == bodyText(probe) }})
	}
	bounce := &want{to: []*conn{s}, optional: true, desc: "an error for the probe", match: func(el *etree.Element) bool {
		return attrValue(el, "type") == "error" && attrValue(el, "id") == attrValue(probe, "id")
	}}
	e.exchange(append(wants, bounce)...)
	if len(e.problems) > 0 {
		e.skipf("the probe for an offline resource met something unexpected: the scenario cannot tell where the server delivers")
	}
	if bounce.got != nil {
		e.skipf("the server answers a message for an offline resource with %s instead of delivering it to another resource (RFC 6121 §8.5.3.2.1)", orNone(readReply(bounce.got).condition))
	}
	var got []*conn
	for _, w := range wants {
		if w.got != nil {
			got = append(got, w.on)
		}
	}
	if len(got) == 0 {
		e.skipf("the server neither delivers nor refuses a message for an offline resource (RFC 6121 §8.5.3.2.1 lets it store or ignore it)")
	}
	if len(got) > 1 {
		e.log.note("the server delivers a message for an offline resource to every online resource (RFC 6121 §8.5.3.2.1 allows it)")
	}
	return got
}

// expiredWhileStored sends the offline recipient a message whose expire-at
// rule with action a passes while it is stored, logs the recipient in as
// r1, and checks that the rule acts at dispatch.
func (e *env) expiredWhileStored(a amp.Action) {
	s := e.login(e.k.sender, "s")
	at := e.storedUntil()
	met := rule(amp.ConditionExpireAt, a, formatDateTime(at))
	msg := e.message(e.jid(e.k.recipient), rules(met))
	e.send(s, msg)
	e.quiet()
	e.pass(at)
	r1 := e.login(e.k.recipient, "r1")
	e.exchange(e.acted(s, msg, met, r1)...)
}

// storedUntil returns a time at least ExpireWindow ahead, in whole
// seconds as expire-at takes it; with a SetTime hook, a day ahead.
func (e *env) storedUntil() time.Time {
	if e.k.s.SetTime != nil {
		return time.Now().Add(24 * time.Hour).Truncate(time.Second)
	}
	return time.Now().Add(e.k.s.ExpireWindow).Truncate(time.Second).Add(time.Second)
}

// pass makes at pass on the server: it moves the server's clock past it
// with the SetTime hook, or waits until it has passed.
func (e *env) pass(at time.Time) {
	if e.k.s.SetTime != nil {
		e.clockMoved = true
		e.k.s.SetTime(at.Add(time.Second))
		e.log.note("the server's clock set to " + formatDateTime(at.Add(time.Second)))
		return
	}
	time.Sleep(time.Until(at) + 200*time.Millisecond)
}
