"""Drive the AMP example server with slixmpp and its own XEP-0079 plugin.

Usage: /usr/bin/python3 slix.py PORT SCENARIO

Rules are built with the plugin (m["amp"].add_rule) and replies are read
through the plugin's stanza interfaces. The script prints lines
"STEP name" when the Go test must act (it answers on stdin), then one JSON
line: {"result": {...}, "events": [[plugin event, id], ...]}. The Go test
checks the result; a timeout or an exception exits non-zero.
"""

import asyncio
import json
import logging
import sys

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

NS_AMP = "{http://jabber.org/protocol/amp}"
NS_AMP_ERRORS = "{http://jabber.org/protocol/amp#errors}"
NS_FEATURE_AMP = "{http://jabber.org/features/amp}"
NS_STREAM = "{http://etherx.jabber.org/streams}"
TIMEOUT = 10

PORT = int(sys.argv[1])
SCENARIO = sys.argv[2]
EVENTS = []  # [plugin event, message id], in the order they fired


def rules(items):
    return [{"action": r["action"], "condition": r["condition"], "value": r["value"]} for r in items]


def record(msg):
    """What the plugin makes of a message, as a dict."""
    r = {"id": msg["id"], "type": msg["type"], "from": str(msg["from"]),
         "to": str(msg["to"]), "body": msg["body"]}
    if msg.xml.find(NS_AMP + "amp") is not None:
        a = msg["amp"]
        r["amp"] = {"status": a["status"], "from": str(a["from"]),
                    # Not a["to"]: the plugin's get_to returns the from attribute.
                    "to": a.xml.get("to", ""),
                    "per_hop": a["per_hop"], "rules": rules(a["rules"])}
    if msg["type"] == "error":
        e = msg["error"]
        r["error"] = {"type": e["type"], "condition": e["condition"], "code": e["code"]}
        for name, key, ns in (("unsupported-actions", "unsupported_actions", NS_AMP),
                              ("unsupported-conditions", "unsupported_conditions", NS_AMP),
                              ("invalid-rules", "invalid_rules", NS_AMP),
                              ("failed-rules", "failed_rules", NS_AMP_ERRORS)):
            if e.xml.find(ns + name) is not None:
                r["error"][key] = rules(e[key]["rules"])
    return r


class Client(slixmpp.ClientXMPP):
    def __init__(self, user, resource):
        super().__init__("%s@localhost/%s" % (user, resource), user + "-pw",
                         plugin_config={"feature_mechanisms": {"unencrypted_plain": True}})
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0079")
        # Stream management: the server holds deliver=direct events until
        # the recipient acknowledges the message.
        self.register_plugin("xep_0198")
        self.sm_enabled = False
        self.add_event_handler("sm_enabled", lambda _: setattr(self, "sm_enabled", True))
        self.inbox = asyncio.Queue()
        self.stream_features = []
        self.register_handler(Callback("all messages", MatchXPath("{jabber:client}message"),
                                       lambda m: self.inbox.put_nowait(record(m))))
        self.register_handler(Callback("features spy", MatchXPath(NS_STREAM + "features"),
                                       self.spy_features))
        for ev in ("amp_notify", "amp_alert", "amp_error"):
            self.add_event_handler(ev, lambda m, ev=ev: EVENTS.append([ev, m["id"]]))

    def spy_features(self, features):
        self.stream_features.append(
            {"amp": features.xml.find(NS_FEATURE_AMP + "amp") is not None,
             "children": [c.tag for c in features.xml]})

    async def next(self):
        return await asyncio.wait_for(self.inbox.get(), TIMEOUT)

    def send_amp(self, to, mid, body, *rule_list):
        m = self.make_message(mto=to, mbody=body)
        m["id"] = mid
        for action, condition, value in rule_list:
            m["amp"].add_rule(action, condition, value)
        m.send()

    def send_plain(self, to, mid, body):
        m = self.make_message(mto=to, mbody=body)
        m["id"] = mid
        m.send()

    async def sync(self):
        """A round trip: the server has processed everything sent before."""
        await self["xep_0030"].get_info(jid="localhost", timeout=TIMEOUT)


async def login(user, resource, presence=True):
    c = Client(user, resource)
    started = asyncio.ensure_future(c.wait_until("session_start", TIMEOUT))
    failed = asyncio.ensure_future(c.wait_until("failed_auth", TIMEOUT))
    c.connect(address=("127.0.0.1", PORT), force_starttls=False, disable_starttls=True)
    done, _ = await asyncio.wait([started, failed], return_when=asyncio.FIRST_COMPLETED)
    failed.cancel()
    if failed in done:
        raise SystemExit("authentication failed for " + user)
    await started
    if presence:
        c.send_presence()
        await c.sync()
    return c


async def step(name):
    print("STEP " + name, flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if line.strip() != "ok":
        raise SystemExit("step %s: got %r from the test" % (name, line))


async def sentinel(c, mid="sentinel"):
    """Everything c receives up to a message it sends to itself."""
    c.send_plain(str(c.boundjid), mid, "sentinel")
    got = []
    while True:
        r = await c.next()
        got.append(r)
        if r["id"] == mid:
            return got


BOB = "bob@localhost"


async def notify_direct():
    a = await login("alice", "a1")
    b = await login("bob", "r1")
    a.send_amp(BOB, "m1", "hello", ("notify", "deliver", "direct"))
    bob = [await b.next()]
    # The event comes once bob has acknowledged the message.
    return {"alice": [await a.next()] + await sentinel(a), "bob": bob}


async def notify_stored():
    a = await login("alice", "a1")
    a.send_amp(BOB, "m1", "hello", ("notify", "deliver", "stored"))
    alice = await sentinel(a)
    b = await login("bob", "r1")
    return {"alice": alice, "bob": [await b.next()]}


async def action_on_stored(action):
    a = await login("alice", "a1")
    a.send_amp(BOB, "m1", "hello", (action, "deliver", "stored"))
    alice = await sentinel(a)
    b = await login("bob", "r1")
    a.send_plain(BOB, "m2", "after")
    return {"alice": alice, "bob": [await b.next()]}


async def error_stored():
    return await action_on_stored("error")


async def drop_stored():
    return await action_on_stored("drop")


async def alert_expired():
    a = await login("alice", "a1")
    a.send_amp(BOB, "m0", "fresh", ("alert", "expire-at", "2030-01-01T03:00:00Z"))
    a.send_amp(BOB, "m1", "stale", ("notify", "deliver", "stored"),
               ("alert", "expire-at", "2030-01-01T01:00:00Z"))
    stored = await sentinel(a, "sentinel1")
    await step("advance")  # the server's clock moves from 00:00 to 02:00
    b = await login("bob", "r1")
    a.send_plain(BOB, "m2", "after")
    bob = [await b.next(), await b.next()]
    return {"alice_stored": stored, "alice": await sentinel(a, "sentinel2"), "bob": bob}


async def match_resource():
    a = await login("alice", "a1")
    r1 = await login("bob", "r1")
    r2 = await login("bob", "r2")
    a.send_amp(BOB + "/r1", "m1", "to r1", ("notify", "match-resource", "exact"))
    a.send_amp(BOB + "/r2", "m2", "to r2", ("notify", "match-resource", "other"))
    a.send_amp(BOB + "/gone", "m3", "to gone", ("notify", "match-resource", "other"),
               ("notify", "match-resource", "exact"))
    r1_got, r2_got = [await r1.next(), await r1.next()], [await r2.next()]
    notified = [await a.next(), await a.next()]
    return {"alice": notified + await sentinel(a), "r1": r1_got, "r2": r2_got}


async def refused(sender, rule_list):
    s = await login(sender, "a1")
    b = await login("bob", "r1")
    s.send_amp(BOB, "m1", "hello", *rule_list)
    got = await sentinel(s)
    s.send_plain(BOB, "m2", "after")
    return {"sender": got, "bob": [await b.next()]}


async def unsupported_action():
    return await refused("alice", [("notify", "deliver", "direct"), ("alert", "deliver", "direct")])


async def unsupported_condition():
    return await refused("alice", [("notify", "expire-at", "2030-01-01T00:00:00Z"),
                                   ("notify", "deliver", "direct")])


async def not_acceptable():
    return await refused("alice", [("notify", "deliver", "bogus"), ("drop", "match-resource", "any")])


async def no_subscription():
    return await refused("carol", [("notify", "deliver", "direct")])


async def sm_acks():
    """Both clients enable stream management; the server answers their
    <r/> and acknowledges everything; bob acknowledges the server's
    stanzas, which releases one notify event per message."""
    a = await login("alice", "a1")
    b = await login("bob", "r1")
    for i in range(7):
        a.send_amp(BOB, "s%d" % i, "n%d" % i, ("notify", "deliver", "direct"))
    bob = [await b.next() for _ in range(7)]
    alice = [await a.next() for _ in range(7)] + await sentinel(a)
    a["xep_0198"].request_ack()
    for _ in range(100):  # until the server's <a/> empties the queue
        if not a["xep_0198"].unacked_queue:
            break
        await asyncio.sleep(0.05)
    return {"alice": alice, "bob": bob,
            "sm": {"alice_enabled": a.sm_enabled, "bob_enabled": b.sm_enabled,
                   "alice_unacked": len(a["xep_0198"].unacked_queue),
                   "bob_handled": b["xep_0198"].handled}}


async def restart():
    """Messages stored before a restart keep their rules: after it, one
    has expired (alert) and the other is delivered (notify direct)."""
    a = await login("alice", "a1")
    a.send_amp(BOB, "m1", "stale", ("notify", "deliver", "stored"),
               ("alert", "expire-at", "2030-01-01T01:00:00Z"))
    a.send_amp(BOB, "m2", "fresh", ("notify", "deliver", "direct"),
               ("alert", "expire-at", "2030-01-01T03:00:00Z"))
    stored = await sentinel(a, "sentinel1")
    a.disconnect()
    await a.wait_until("disconnected", TIMEOUT)
    await step("restart")  # a new server on the same file, its clock at 02:00
    a = await login("alice", "a1")
    b = await login("bob", "r1")
    bob = [await b.next()]
    alice = [await a.next(), await a.next()] + await sentinel(a, "sentinel2")
    return {"alice_stored": stored, "alice": alice, "bob": bob}


async def disco():
    a = await login("alice", "a1", presence=False)
    root = await a["xep_0030"].get_info(jid="localhost", timeout=TIMEOUT)
    node = await a["xep_0079"].discover_support(timeout=TIMEOUT)
    return {
        "root": sorted(root["disco_info"]["features"]),
        "node": sorted(node["disco_info"]["features"]),
        "node_identities": [list(i[:2]) for i in node["disco_info"]["identities"]],
        "plugin_feature_recorded": "amp" in a.features,
        "stream_features": a.stream_features,
    }


async def main():
    result = await globals()[SCENARIO]()
    print(json.dumps({"result": result, "events": EVENTS}), flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    asyncio.run(asyncio.wait_for(main(), 60))
