package amp

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Condition is the condition attribute of a rule (§3.3).
type Condition string

// The conditions XEP-0079 defines.
const (
	// CondDeliver is met when the server's default behaviour for the
	// message is the rule's Deliver value.
	CondDeliver Condition = "deliver"
	// CondExpireAt is met when the message would be dispatched on or after
	// the rule's value, an XEP-0082 DateTime in UTC.
	CondExpireAt Condition = "expire-at"
	// CondMatchResource is met when the resource the message would be
	// delivered to matches the intended one as the rule's MatchResource
	// value says.
	CondMatchResource Condition = "match-resource"
)

// Conditions lists the conditions XEP-0079 defines, in its order.
var conditions = [...]Condition{CondDeliver, CondExpireAt, CondMatchResource}

func (c Condition) defined() bool {
	return c == CondDeliver || c == CondExpireAt || c == CondMatchResource
}

// Deliver is a value of the deliver condition: what the server would do
// with the message at the moment of processing (§3.3.1).
type Deliver string

// The values of the deliver condition.
const (
	// DeliverDirect: delivered to the recipient's session, or routed on to
	// the next server.
	DeliverDirect Deliver = "direct"
	// DeliverForward: forwarded to another XMPP address.
	DeliverForward Deliver = "forward"
	// DeliverGateway: sent through a gateway to a non-XMPP address.
	DeliverGateway Deliver = "gateway"
	// DeliverNone: not delivered at all.
	DeliverNone Deliver = "none"
	// DeliverStored: stored offline for later delivery.
	DeliverStored Deliver = "stored"
)

func (d Deliver) defined() bool {
	switch d {
	case DeliverDirect, DeliverForward, DeliverGateway, DeliverNone, DeliverStored:
		return true
	}
	return false
}

// MatchResource is a value of the match-resource condition (§3.3.3).
type MatchResource string

// The values of the match-resource condition. Only exact string equality
// of resources counts: there is no partial matching.
const (
	// MatchAny is met when the message would be delivered directly, to
	// whatever resource.
	MatchAny MatchResource = "any"
	// MatchExact is met when the message would be delivered directly to the
	// intended resource, or, for a bare JID, stored offline.
	MatchExact MatchResource = "exact"
	// MatchOther is met when the message would be delivered directly to a
	// resource other than the intended one.
	MatchOther MatchResource = "other"
)

// check reports why value is not a value condition c defines, or nil.
func (c Condition) check(value string) error {
	switch c {
	case CondDeliver:
		if !Deliver(value).defined() {
			return fmt.Errorf("deliver value %q is not direct, forward, gateway, none or stored", value)
		}
	case CondExpireAt:
		if _, err := ParseDateTime(value); err != nil {
			return err
		}
	case CondMatchResource:
		switch MatchResource(value) {
		case MatchAny, MatchExact, MatchOther:
		default:
			return fmt.Errorf("match-resource value %q is not any, exact or other", value)
		}
	}
	return nil
}

// met reports whether rule r is met by outcome o, where target is the
// resource of the message's to attribute.
func (r *Rule) met(o *Outcome, target string) bool {
	switch r.Condition {
	case CondDeliver:
		return o.Deliver != "" && Deliver(r.Value) == o.Deliver
	case CondExpireAt:
		at, err := ParseDateTime(r.Value)
		return err == nil && !o.Time.IsZero() && !o.Time.Before(at)
	case CondMatchResource:
		if o.Hop == HopTransit || o.NextHop != NextHopLocal {
			return false
		}
		switch MatchResource(r.Value) {
		case MatchAny:
			return o.Deliver == DeliverDirect
		case MatchExact:
			return (o.Deliver == DeliverDirect && o.Resource == target) ||
				(o.Deliver == DeliverStored && target == "")
		case MatchOther:
			return o.Deliver == DeliverDirect && o.Resource != target
		}
	}
	return false
}

// resourcePart returns the resource of a JID: everything after its first
// slash, or "" for a bare JID.
func resourcePart(jid string) string {
	if i := strings.IndexByte(jid, '/'); i >= 0 {
		return jid[i+1:]
	}
	return ""
}

// ErrDateTime is the error ParseDateTime wraps for a value that is not an
// XEP-0082 DateTime in UTC.
var ErrDateTime = errors.New("amp: not an XEP-0082 DateTime in UTC")

// ParseDateTime parses an XEP-0082 DateTime in UTC, the value of an
// expire-at rule: CCYY-MM-DDThh:mm:ss, optional fractional seconds of one
// or more digits (kept to the nanosecond), then "Z" or "+00:00". Years run
// from 0001 to 9999. Other time zones, leap seconds (ss = 60) and dates
// that do not exist are refused with an error that wraps ErrDateTime.
func ParseDateTime(s string) (time.Time, error) {
	bad := func(why string) (time.Time, error) {
		return time.Time{}, fmt.Errorf("%w: %q: %s", ErrDateTime, s, why)
	}
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return bad("not CCYY-MM-DDThh:mm:ss")
	}
	num := func(i, n int) int {
		v := 0
		for _, ch := range []byte(s[i : i+n]) {
			if ch < '0' || ch > '9' {
				return -1
			}
			v = v*10 + int(ch-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, min, sec := num(11, 2), num(14, 2), num(17, 2)
	switch {
	case year < 0 || month < 0 || day < 0 || hour < 0 || min < 0 || sec < 0:
		return bad("not CCYY-MM-DDThh:mm:ss")
	case year == 0:
		return bad("year 0000")
	case month < 1 || month > 12 || day < 1 || hour > 23 || min > 59:
		return bad("out of range")
	case sec > 59:
		return bad("leap second")
	}
	rest, nsec := s[19:], 0
	if rest[0] == '.' {
		i := 1
		for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
			if i <= 9 {
				nsec = nsec*10 + int(rest[i]-'0')
			}
		}
		if i == 1 {
			return bad("no digits after the decimal point")
		}
		for n := i; n <= 9; n++ {
			nsec *= 10
		}
		rest = rest[i:]
	}
	if rest != "Z" && rest != "+00:00" {
		return bad("not UTC (Z or +00:00)")
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, time.UTC)
	if t.Day() != day {
		return bad("no such day")
	}
	return t, nil
}
