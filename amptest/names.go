package amptest

import (
	"time"

	"github.com/ampxmpp/amp"
)

// The amp library's names the kit uses for conditions and their values,
// in one place.
const (
	condDeliver       = amp.ConditionDeliver
	condExpireAt      = amp.ConditionExpireAt
	condMatchResource = amp.ConditionMatchResource

	deliverDirect = string(amp.DeliveryDirect)
	deliverStored = string(amp.DeliveryStored)
	deliverNone   = string(amp.DeliveryNone)

	matchAny   = string(amp.MatchResourceAny)
	matchExact = string(amp.MatchResourceExact)
	matchOther = string(amp.MatchResourceOther)
)

// xepActions and xepConditions are what XEP-0079 defines, in its order.
var (
	xepActions    = []amp.Action{amp.ActionAlert, amp.ActionDrop, amp.ActionError, amp.ActionNotify}
	xepConditions = []amp.Condition{condDeliver, condExpireAt, condMatchResource}
)

// formatDateTime writes t as an XEP-0082 DateTime in UTC, as expire-at
// takes it, in whole seconds so that transcripts stay readable.
func formatDateTime(t time.Time) string { return amp.FormatDateTime(t.Truncate(time.Second)) }
