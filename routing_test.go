package amp_test

import (
	"testing"

	"github.com/ampxmpp/amp"
	"github.com/stretchr/testify/require"
)

// TestRoutedOnUnchanged checks the message passed on to another server,
// or at a transit hop: unchanged, its <amp/> included as it is, since the
// next server processes it (DESIGN "The message passed on", Result.Message).
func TestRoutedOnUnchanged(t *testing.T) {
	for _, c := range []struct {
		name, ampAttrs, inside, after string
	}{
		{"plain", "", notifyRule, ""},
		{"per-hop false", " per-hop='false'", notifyRule, ""},
		{"from and to on amp (example 11's shape)", " from='" + sender + "' to='" + recipient + "'", notifyRule, ""},
		{"unknown attributes on a rule", "", `<rule condition='deliver' action='notify' value='direct' xml:lang='en' note='keep'/>`, ""},
		{"junk inside amp", "", notifyRule + `<junk xmlns='urn:x'>keep</junk>text`, ""},
		{"a rule in another namespace", "", notifyRule + `<rule xmlns='urn:x' condition='deliver' action='drop' value='direct'/>`, ""},
		{"a second amp", "", notifyRule, `<amp xmlns='http://jabber.org/protocol/amp'>` + dropRule + `</amp>`},
	} {
		for _, route := range []struct {
			name   string
			hop    amp.Hop
			o      amp.Outcome
			perHop bool // the request says per-hop='true', unless the case says otherwise
		}{
			{"edge, routed on", amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: amp.NextHopAMP}, false},
			{"edge, routed on for a gateway", amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryGateway, NextHop: amp.NextHopAMP}, false},
			{"transit", amp.HopTransit, amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: amp.NextHopAMP}, false},
			{"transit, per-hop", amp.HopTransit, amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: amp.NextHopAMP}, true},
		} {
			t.Run(c.name+"/"+route.name, func(t *testing.T) {
				attrs := c.ampAttrs
				if route.perHop && attrs == "" {
					attrs = " per-hop='true'"
				}
				in := requestXML(attrs, c.inside)
				if c.after != "" {
					in = in[:len(in)-len("</message>")] + c.after + "</message>"
				}
				msg := readXML(t, in)
				res := evaluate(t, nil, msg, route.hop, route.o)
				require.True(t, res.Proceed())
				require.Equal(t, canonical(msg), canonical(res.Message()), "got %s, want %s", writeXML(res.Message()), writeXML(msg))
			})
		}
	}
}
