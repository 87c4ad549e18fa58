package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK       = 0
	exitBadInput = 2
)

// nsClient is the default namespace of a stanza that declares none.
const nsClient = "jabber:client"

// usageHeader starts the -h output.
const usageHeader = `usage: ampcheck [flags] [FILE]

Ampcheck shows what an XMPP server implementing XEP-0079 (Advanced Message
Processing) does with the <message/> stanza in FILE, or on standard input
when FILE is absent or "-": whether it delivers it, what it passes on, and
what it sends back, printed as one JSON object.

flags:
`

// options are the parsed command line.
type options struct {
	server, resource  string
	serverSet, resSet bool
	delivery          amp.Delivery
	now               time.Time
	hop               amp.Hop
	presence          amp.Presence
	nextHopAMP        bool
	processor         *amp.Processor
	disco             string
	discoSet          bool
	features          bool
	file              string
}

// badInput is an error that ends the run with exitBadInput.
type badInput struct{ msg string }

func (e *badInput) Error() string { return e.msg }

func bad(format string, args ...any) error {
	return &badInput{fmt.Sprintf(format, args...)}
}

// output is the JSON object printed on success.
type output struct {
	Deliver bool     `json:"deliver"`
	Message *string  `json:"message,omitempty"`
	Replies []string `json:"replies"`
}

// run is the command: it reads the flags in args and a stanza from stdin or
// the file args name, and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		msg := strings.Join(strings.Fields(err.Error()), " ")
		fmt.Fprintf(stderr, "ampcheck: %s\n", msg)
		return exitBadInput
	}
	opts, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return fail(err)
	}
	switch {
	case opts.features:
		return printElement(stdout, amp.StreamFeature())
	case opts.discoSet:
		q := opts.processor.DiscoInfo(opts.disco)
		if q == nil {
			return fail(bad("-disco %q: the server answers no disco#info for that node", opts.disco))
		}
		return printElement(stdout, q)
	}
	data, err := readInput(opts.file, stdin)
	if err != nil {
		return fail(err)
	}
	msg, err := readStanza(data)
	if err != nil {
		return fail(err)
	}
	out, err := process(msg, opts)
	if err != nil {
		return fail(err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return fail(err)
	}
	return exitOK
}

// parseFlags reads the command line. It returns flag.ErrHelp after printing
// the usage to stdout for -h.
func parseFlags(args []string, stdout io.Writer) (*options, error) {
	fs := flag.NewFlagSet("ampcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	server := fs.String("server", "", "the processing server's `JID`; replies come from it (default: the domain of the message's from)")
	deliver := fs.String("deliver", string(amp.DeliveryDirect), "the server's default behaviour `V`: direct, forward, gateway, none or stored")
	resource := fs.String("resource", "", "the resource `R` the server would deliver to; empty for a bare JID, a room, or storage (default: the resource of the message's to)")
	now := fs.String("now", "", "the time of dispatch `T`, an XEP-0082 DateTime with any offset (default: the current time)")
	hop := fs.String("hop", "edge", "where the server stands on the route `H`: edge or transit")
	presence := fs.Bool("presence", true, "whether the sender may see the recipient's presence; without it alert, error and notify rules are refused")
	nextHopAMP := fs.Bool("next-hop-amp", true, "with -deliver direct and a to on another domain than -server's: whether that server supports AMP")
	support := fs.String("support", "", "the comma-separated `LIST` of actions and conditions the server supports, at least one of each (default: all that XEP-0079 defines)")
	maxRules := fs.Int("max-rules", 0, "the most rules one request may carry, `N`; 0 for the library's default")
	maxValueLen := fs.Int("max-value-len", 0, "the longest value of a rule, `N` bytes; 0 for the library's default")
	disco := fs.String("disco", "", "print the disco#info <query/> for `NODE` (\"\" for the root) and exit")
	features := fs.Bool("features", false, "print the stream feature element and exit")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usageHeader)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
		}
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	o := &options{
		server:     *server,
		serverSet:  set["server"],
		resource:   *resource,
		resSet:     set["resource"],
		delivery:   amp.Delivery(*deliver),
		presence:   amp.Presence(*presence),
		nextHopAMP: *nextHopAMP,
		disco:      *disco,
		discoSet:   set["disco"],
		features:   *features,
	}
	if err := checkDelivery(o.delivery); err != nil {
		return nil, err
	}
	switch *hop {
	case "edge":
		o.hop = amp.HopEdge
	case "transit":
		o.hop = amp.HopTransit
	default:
		return nil, bad("-hop %q is not edge or transit", *hop)
	}
	if set["now"] {
		t, err := time.Parse(time.RFC3339Nano, *now)
		if err != nil {
			return nil, bad("-now %q is not an XEP-0082 DateTime such as 2004-01-01T00:00:00Z", *now)
		}
		o.now = t
	} else {
		o.now = time.Now()
	}
	c := amp.Config{MaxRules: *maxRules, MaxValueLen: *maxValueLen}
	if set["support"] {
		if err := parseSupport(*support, &c); err != nil {
			return nil, err
		}
	}
	p, err := amp.NewProcessor(c)
	if err != nil {
		return nil, bad("-support, -max-rules, -max-value-len: %v", err)
	}
	o.processor = p

	rest := fs.Args()
	switch {
	case len(rest) > 1:
		return nil, bad("more than one FILE: %q (flags come before FILE)", rest)
	case len(rest) == 1:
		o.file = rest[0]
	}
	if o.features && o.discoSet {
		return nil, bad("-disco and -features are exclusive")
	}
	if (o.features || o.discoSet) && o.file != "" {
		return nil, bad("-disco and -features read no FILE")
	}
	return o, nil
}

// checkDelivery asks the library whether d is a value of the deliver
// condition: the library is the one place that knows the values.
func checkDelivery(d amp.Delivery) error {
	if _, err := (amp.Request{}).Evaluate(amp.Outcome{Delivery: d}); err != nil {
		return bad("-deliver: %v", err)
	}
	return nil
}

// parseSupport sets c.Actions and c.Conditions from the -support list,
// each name an action or a condition of the library's default
// configuration. Both lists are non-nil: NewProcessor refuses one that is
// empty, and a repeated name.
func parseSupport(list string, c *amp.Config) error {
	var all *amp.Processor // the default: all that XEP-0079 defines
	known := all.Config()
	c.Actions, c.Conditions = []amp.Action{}, []amp.Condition{}
	for _, item := range strings.Split(list, ",") {
		name := strings.TrimSpace(item)
		switch {
		case name == "":
		case contains(known.Actions, amp.Action(name)):
			c.Actions = append(c.Actions, amp.Action(name))
		case contains(known.Conditions, amp.Condition(name)):
			c.Conditions = append(c.Conditions, amp.Condition(name))
		default:
			return bad("-support: %q is neither an action nor a condition of XEP-0079", name)
		}
	}
	return nil
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// readInput returns the content of file, or of stdin when file is "" or
// "-".
func readInput(file string, stdin io.Reader) ([]byte, error) {
	if file == "" || file == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, bad("reading standard input: %v", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, bad("%v", err)
	}
	return b, nil
}

// readStanza parses data as one element, well-formed XML, and gives it the
// default namespace jabber:client when it declares none. Whether it is a
// <message/> stanza is the library's to say.
func readStanza(data []byte) (*etree.Element, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.PreserveDuplicateAttrs = true
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, bad("not well-formed XML: %v", err)
	}
	var root *etree.Element
	text := false
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			if root != nil {
				return nil, bad("more than one root element: <%s/> after <%s/>", t.FullTag(), root.FullTag())
			}
			root = t
		case *etree.CharData:
			text = text || !t.IsWhitespace()
		}
	}
	switch {
	case root == nil:
		return nil, bad("not XML: no element found")
	case text:
		return nil, bad("not well-formed XML: text outside the root element")
	}
	if err := checkAttrs(root); err != nil {
		return nil, err
	}
	if _, declared := lookup(root, "xmlns"); root.Space == "" && !declared {
		root.Attr = append([]etree.Attr{{Key: "xmlns", Value: nsClient}}, root.Attr...)
	}
	return root, nil
}

// checkAttrs refuses an element that repeats an attribute, which XML does
// not allow.
func checkAttrs(el *etree.Element) error {
	for i, a := range el.Attr {
		for _, b := range el.Attr[:i] {
			if a.Space == b.Space && a.Key == b.Key {
				return bad("not well-formed XML: attribute %s repeated on <%s/>", a.FullKey(), el.FullTag())
			}
		}
	}
	for _, child := range el.ChildElements() {
		if err := checkAttrs(child); err != nil {
			return err
		}
	}
	return nil
}

// process runs the library on msg as opts describe.
func process(msg *etree.Element, opts *options) (*output, error) {
	from, to := attr(msg, "from"), attr(msg, "to")
	server := opts.server
	if !opts.serverSet {
		server = domain(from)
	}
	out := &output{Replies: []string{}}

	req, err := opts.processor.Parse(msg, opts.hop, opts.presence)
	var refusal *amp.Error
	switch {
	case errors.As(err, &refusal):
		out.Replies = append(out.Replies, serialize(refusal.Reply(server)))
		return out, nil
	case errors.Is(err, amp.ErrNoSender):
		return nil, bad("the message carries an AMP request but no from: %v", err)
	case err != nil: // amp.ErrNotMessage
		return nil, bad("%v", err)
	}

	o := amp.Outcome{Delivery: opts.delivery, Resource: opts.resource, Time: opts.now}
	if !opts.resSet {
		o.Resource = resource(to)
	}
	if opts.delivery == amp.DeliveryDirect && to != "" && !strings.EqualFold(domain(to), domain(server)) {
		o.NextHop = amp.NextHopNoAMP
		if opts.nextHopAMP {
			o.NextHop = amp.NextHopAMP
		}
	}
	res, err := req.Evaluate(o)
	if err != nil {
		return nil, bad("%v", err)
	}
	out.Deliver = res.Proceed()
	if m := res.Message(); out.Deliver && m != nil {
		s := serialize(m)
		out.Message = &s
	}
	for _, r := range res.Replies(server) {
		out.Replies = append(out.Replies, serialize(r))
	}
	return out, nil
}

// writeSettings writes compact XML that reads well inside JSON strings.
var writeSettings = etree.WriteSettings{CanonicalText: true, AttrSingleQuote: true}

// serialize returns el as XML.
func serialize(el *etree.Element) string {
	var b strings.Builder
	el.WriteTo(&b, &writeSettings)
	return b.String()
}

// printElement prints el as one line of XML.
func printElement(w io.Writer, el *etree.Element) int {
	fmt.Fprintln(w, serialize(el))
	return exitOK
}

// lookup returns the value of el's unprefixed attribute key.
func lookup(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// attr returns the value of el's unprefixed attribute key, or "".
func attr(el *etree.Element, key string) string {
	v, _ := lookup(el, key)
	return v
}

// domain returns the domain part of a JID.
func domain(jid string) string {
	bare, _, _ := strings.Cut(jid, "/")
	if _, d, ok := strings.Cut(bare, "@"); ok {
		return d
	}
	return bare
}

// resource returns the resource part of a JID, or "" for a bare JID.
func resource(jid string) string {
	_, r, _ := strings.Cut(jid, "/")
	return r
}
