package amptest

import (
	"time"

	"github.com/ampxmpp/amp"
)

// The amp library's names the kit uses for conditions and their values,
// in one place.
const (
	condDeliver       = amp.CondDeliver
	condExpireAt      = amp.CondExpireAt
	condMatchResource = amp.CondMatchResource

	deliverDirect = string(amp.DeliverDirect)
	deliverStored = string(amp.DeliverStored)
	deliverNone   = string(amp.DeliverNone)

	matchAny   = string(amp.MatchAny)
	matchExact = string(amp.MatchExact)
	matchOther = string(amp.MatchOther)
)

// xepActions and xepConditions are what XEP-0079 defines, in its order.
var (
	xepActions    = []amp.Action{amp.ActionAlert, amp.ActionDrop, amp.ActionError, amp.ActionNotify}
	xepConditions = []amp.Condition{condDeliver, condExpireAt, condMatchResource}
)

// formatDateTime writes t as an XEP-0082 DateTime in UTC, as expire-at
// takes it.
func formatDateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
