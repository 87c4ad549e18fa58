package amp

import (
	"errors"
	"fmt"
	"time"
)

// Condition is the condition attribute of a rule (§3.3).
type Condition string

// The conditions XEP-0079 defines.
const (
	// ConditionDeliver is met when the server's default behaviour for the
	// message is the rule's value, a Delivery.
	ConditionDeliver Condition = "deliver"
	// ConditionExpireAt is met when the message would be dispatched on or
	// after the rule's value, an XEP-0082 DateTime in UTC.
	ConditionExpireAt Condition = "expire-at"
	// ConditionMatchResource is met when the resource the message would be
	// delivered to matches the intended one as the rule's value, a
	// MatchResource, says.
	ConditionMatchResource Condition = "match-resource"
)

// allConditions lists the conditions XEP-0079 defines, in its order.
var allConditions = [...]Condition{ConditionDeliver, ConditionExpireAt, ConditionMatchResource}

// bit returns c's bit in a set of conditions, or 0 when XEP-0079 does not
// define c.
func (c Condition) bit() uint8 {
	switch c {
	case ConditionDeliver:
		return 1 << 0
	case ConditionExpireAt:
		return 1 << 1
	case ConditionMatchResource:
		return 1 << 2
	}
	return 0
}

// Delivery is a value of the deliver condition, and what the server would
// do with the message at the moment of processing (§3.3.1).
type Delivery string

// The values of the deliver condition.
const (
	// DeliveryDirect: delivered to the recipient's session, or routed on
	// to the next server.
	DeliveryDirect Delivery = "direct"
	// DeliveryForward: forwarded to another XMPP address.
	DeliveryForward Delivery = "forward"
	// DeliveryGateway: sent through a gateway to a non-XMPP address.
	DeliveryGateway Delivery = "gateway"
	// DeliveryNone: not delivered at all.
	DeliveryNone Delivery = "none"
	// DeliveryStored: stored offline for later delivery.
	DeliveryStored Delivery = "stored"
)

// MatchResource is a value of the match-resource condition (§3.3.3).
type MatchResource string

// The values of the match-resource condition. Only exact string equality
// of resources counts: there is no partial matching.
const (
	// MatchResourceAny is met when the message would be delivered
	// directly, to whatever resource.
	MatchResourceAny MatchResource = "any"
	// MatchResourceExact is met when the message would be delivered
	// directly to the intended resource, or, for a bare JID, stored
	// offline.
	MatchResourceExact MatchResource = "exact"
	// MatchResourceOther is met when the message would be delivered
	// directly to a resource other than the intended one.
	MatchResourceOther MatchResource = "other"
)

// shortestValueRoom returns the bytes a rule's value must be allowed for
// every value of c to fit: the longest deliver and match-resource values,
// and the shortest XEP-0082 DateTime in UTC for expire-at.
func (c Condition) shortestValueRoom() int {
	switch c {
	case ConditionDeliver:
		return len(DeliveryGateway)
	case ConditionExpireAt:
		return len("CCYY-MM-DDThh:mm:ssZ")
	case ConditionMatchResource:
		return len(MatchResourceExact)
	}
	return 0
}

// checkValue reports why value is not a value that condition c defines,
// or nil; for expire-at it returns the time too.
func checkValue(c Condition, value string) (time.Time, error) {
	switch c {
	case ConditionDeliver:
		switch Delivery(value) {
		case DeliveryDirect, DeliveryForward, DeliveryGateway, DeliveryNone, DeliveryStored:
			return time.Time{}, nil
		}
		return time.Time{}, fmt.Errorf("deliver value %q is not direct, forward, gateway, none or stored", value)
	case ConditionExpireAt:
		return parseDateTime(value)
	case ConditionMatchResource:
		switch MatchResource(value) {
		case MatchResourceAny, MatchResourceExact, MatchResourceOther:
			return time.Time{}, nil
		}
		return time.Time{}, fmt.Errorf("match-resource value %q is not any, exact or other", value)
	}
	return time.Time{}, fmt.Errorf("condition %q", c)
}

// met reports whether rule r, which applies here and was accepted, is met
// by outcome o, where target is the resource of the message's to
// attribute (§3.3).
func (r *rule) met(o Outcome, target string) bool {
	switch r.Condition {
	case ConditionDeliver:
		return Delivery(r.Value) == o.Delivery
	case ConditionExpireAt:
		// The zero time is no time of dispatch: nothing has expired.
		return !o.Time.IsZero() && !o.Time.Before(r.at)
	case ConditionMatchResource:
		switch MatchResource(r.Value) {
		case MatchResourceAny:
			return o.Delivery == DeliveryDirect
		case MatchResourceExact:
			// A bare JID meant no resource: storage matches it exactly.
			return (o.Delivery == DeliveryDirect && o.Resource == target) ||
				(o.Delivery == DeliveryStored && target == "")
		case MatchResourceOther:
			return o.Delivery == DeliveryDirect && o.Resource != target
		}
	}
	return false
}

// ErrDateTime is the error that ParseDateTime, and the refusal of an
// expire-at rule, wrap for a value that is not an XEP-0082 DateTime in UTC.
var ErrDateTime = errors.New("amp: not an XEP-0082 DateTime in UTC")

// dateTimeError says why a value is not an XEP-0082 DateTime in UTC.
type dateTimeError struct{ value, why string }

func (e *dateTimeError) Error() string {
	return fmt.Sprintf("%q is not an XEP-0082 DateTime in UTC: %s", e.value, e.why)
}

func (e *dateTimeError) Is(target error) bool { return target == ErrDateTime }

// ParseDateTime parses an XEP-0082 DateTime in UTC, the value of an
// expire-at rule: CCYY-MM-DDThh:mm:ss, optional fractional seconds of one
// or more digits (kept to the nanosecond; further digits are ignored),
// then "Z" or "+00:00". Years run from 0001 to 9999. Other time zones,
// leap seconds (ss = 60) and dates that do not exist are refused with an
// error that wraps ErrDateTime.
func ParseDateTime(s string) (time.Time, error) {
	t, err := parseDateTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("amp: %w", err)
	}
	return t, nil
}

// FormatDateTime writes t as an XEP-0082 DateTime in UTC, the value of an
// expire-at rule: t is converted to UTC whatever its location, and written
// as CCYY-MM-DDThh:mm:ss, then fractional seconds without trailing zeros
// when t has any, then "Z". ParseDateTime reads it back for the years 0001
// to 9999; a time outside them has no XEP-0082 form and gives a value that
// a server refuses.
func FormatDateTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.999999999Z")
}

// parseDateTime is ParseDateTime with an error without the package prefix.
func parseDateTime(s string) (time.Time, error) {
	bad := func(why string) (time.Time, error) {
		return time.Time{}, &dateTimeError{s, why}
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
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	switch {
	case year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || sec < 0:
		return bad("not CCYY-MM-DDThh:mm:ss")
	case year == 0:
		return bad("year 0000")
	case month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59:
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
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day {
		return bad("no such day")
	}
	return t, nil
}
