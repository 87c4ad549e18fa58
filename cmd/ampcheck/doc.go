// Ampcheck shows what an XMPP server that implements XEP-0079, Advanced
// Message Processing, does with one <message/> stanza: whether it goes on
// with its default delivery, which stanza it passes on, and which stanzas it
// sends back to the sender. It runs the amp library on the stanza and a
// delivery outcome stated by flags, so that a rule set, a server
// configuration or the XEP's examples can be tried from a shell.
//
// Usage:
//
//	ampcheck [flags] [FILE]
//
// Ampcheck reads one <message/> stanza from FILE, or from standard input
// when FILE is absent or "-". A stanza that declares no default namespace is
// read in jabber:client.
//
// The flags are:
//
//	-server JID
//		the processing server; replies come from it (default: the domain
//		of the message's from)
//	-deliver V
//		the server's default behaviour: direct, forward, gateway, none or
//		stored (default: direct)
//	-resource R
//		the resource the server would deliver to; empty for a bare JID, a
//		room, or storage (default: the resource of the message's to; an
//		explicit -resource '' means a bare JID)
//	-now T
//		the time of dispatch, an XEP-0082 DateTime with any offset
//		(default: the current time)
//	-hop H
//		where the server stands on the route: edge or transit
//		(default: edge)
//	-presence B
//		whether the sender may see the recipient's presence (XEP-0079 §9);
//		without it, alert, error and notify rules are refused
//		(default: true)
//	-next-hop-amp B
//		with -deliver direct and a to on another domain than -server's:
//		whether that next server supports AMP; when it does not, a request
//		the rules let through is answered with service-unavailable
//		(default: true)
//	-support LIST
//		the comma-separated actions and conditions the server supports,
//		at least one of each, none twice (default: all that XEP-0079
//		defines: alert, drop, error, notify, deliver, expire-at,
//		match-resource)
//	-max-rules N
//		the most rules one request may carry; a request with more is
//		refused as not acceptable, and a reply echoes and lists at most N
//		rules (default 0: the library's default, 32)
//	-max-value-len N
//		the longest value, in bytes, a rule may carry; a rule with a
//		longer one is refused as not acceptable, and a reply cuts longer
//		values, and names XEP-0079 does not define, to N bytes; N must
//		hold every value of a supported condition (20 bytes for an
//		expire-at DateTime) (default 0: the library's default, 256)
//	-disco NODE
//		print the disco#info <query/> for NODE ("" for the root) and exit
//	-features
//		print the stream feature element and exit
//	-h
//		print the usage and exit
//
// Flags come before FILE. Boolean flags take their value with an equals
// sign: -presence=false. -disco and -features exclude each other and FILE.
//
// The message is routed on to another server when -deliver is direct and
// its to is on another domain than -server's; the server then passes it on
// unchanged, <amp/> included, and leaves match-resource rules to the next
// server. A message without a to is delivered locally.
//
// # Output
//
// On success ampcheck prints one JSON object on standard output and exits
// with status 0:
//
//	{"deliver":true,"message":"<message ...>...</message>","replies":["<message ...>...</message>"]}
//
// deliver reports whether the server goes on with its default behaviour.
// message, present only when deliver is true, is the stanza the server
// passes on: without its <amp/> when delivered locally, with only the rules
// not yet met when stored, unchanged when routed on, processed at a
// transit hop, or carrying no request. replies lists every stanza the
// server sends back, in order: validation errors, notify and alert events,
// the error of the error action, service-unavailable; it is [] when there
// is none. Each stanza is one line of XML that declares its namespaces.
//
// With -disco or -features ampcheck prints the element, one line of XML,
// and exits with status 0; an unknown disco node is an error.
//
// Bad input, such as a stanza that is not well-formed XML, is not one
// <message/> stanza (amp.ErrNotMessage: a <message/> in jabber:client,
// jabber:server, jabber:component:accept or no namespace is one), or
// carries a request but no from (amp.ErrNoSender), an unknown flag or flag
// value, or a file that cannot be read, gets a one-line message on standard
// error and exit status 2. The library decides what is valid: a -deliver
// value that is not one of the deliver condition, and a -support,
// -max-rules or -max-value-len that the library's amp.NewProcessor refuses,
// get the library's reason.
//
// Example, the XEP's example 14 stored for later delivery:
//
//	ampcheck -deliver stored testdata/example-14-sending-a-transient-message-requesting-alert.xml
//
// The XEP's example 21, a rule not acceptable to the server: example 20
// with its rule written twice, on a server that takes one rule per request:
//
//	sed 's|<rule .*/>|&&|' testdata/example-20-a-message-with-amp-semantics.xml | ampcheck -max-rules 1
//
// With -max-value-len 19, example 20 as written is refused the same way,
// its 20-byte value over the limit; the reply echoes the value cut to 19
// bytes, as the library bounds every reply by the limits.
package main
