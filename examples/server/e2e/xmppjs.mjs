// Drive the AMP example server with xmpp.js (@xmpp/client), which has no
// AMP code of its own: rules are raw XML built with xml(), and every
// stanza received is handed back as XML text for the Go test to compare,
// element by element, with the stanza it expects.
//
// Usage: node xmppjs.mjs PORT SCENARIO
//
// Prints lines "STEP name" when the Go test must act (it answers "ok" on
// stdin), then one JSON line {"result": {...}}. Any failure or timeout
// exits non-zero.

import { client, xml } from "@xmpp/client";
import { createInterface } from "node:readline";

const NS_AMP = "http://jabber.org/protocol/amp";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const TIMEOUT = 10000;
const [port, scenario] = process.argv.slice(2);
const BOB = "bob@localhost";
const clients = [];

function withTimeout(promise, what, ms = TIMEOUT) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function login(user, resource, presence = true) {
  const c = client({
    service: `xmpp://127.0.0.1:${port}`,
    domain: "localhost",
    resource,
    // PLAIN is chosen on an insecure socket only through a function.
    credentials: (auth) => auth({ username: user, password: `${user}-pw` }, "PLAIN"),
  });
  c.inbox = [];
  c.waiters = [];
  c.features = [];
  c.on("error", (err) => console.error(`${user}/${resource}:`, err.message));
  c.on("element", (el) => {
    if (el.is("features", "http://etherx.jabber.org/streams")) c.features.push(el.toString());
  });
  c.syncs = new Map();
  c.on("stanza", (el) => {
    if (!el.is("message")) return;
    if (c.syncs.has(el.attrs.id)) return c.syncs.get(el.attrs.id)();
    c.inbox.push(el);
    while (c.waiters.length && c.inbox.length) c.waiters.shift()(c.inbox.shift());
  });
  clients.push(c);
  await withTimeout(c.start(), `login ${user}/${resource}`);
  // xmpp.js 0.14.0 resolves start() before it has processed <enabled/>,
  // and resets its count of received stanzas when it does: a stanza that
  // arrives in between would be left out of its 'h'. Send nothing first.
  for (let i = 0; i < 200 && !c.streamManagement.enabled; i++) await new Promise((r) => setTimeout(r, 10));
  if (!c.streamManagement.enabled) throw new Error(`${user}/${resource}: stream management not enabled`);
  if (presence) {
    await c.send(xml("presence"));
    await sync(c);
  }
  return c;
}

// next returns the next message c received, as XML text.
function next(c) {
  const p = c.inbox.length
    ? Promise.resolve(c.inbox.shift())
    : new Promise((resolve) => c.waiters.push(resolve));
  return withTimeout(p, `a message for ${c.jid}`).then((el) => el.toString());
}

// sync makes a round trip: the server has processed everything sent before.
// It is a message to c itself, not an IQ: xmpp.js 0.14.0 does not count the
// result of its own IQ requests in its XEP-0198 'h' (iq-caller's middleware
// stops there), so a server that counts it would never see it acknowledged.
let syncs = 0;
function sync(c) {
  const id = `sync-${++syncs}`;
  const done = new Promise((resolve) => c.syncs.set(id, resolve));
  return c.send(xml("message", { to: c.jid.toString(), id })).then(() => withTimeout(done, "sync"));
}

function sendAMP(c, to, id, body, ...rules) {
  return c.send(
    xml(
      "message",
      { to, id },
      xml("body", {}, body),
      xml("amp", { xmlns: NS_AMP }, ...rules.map(([action, condition, value]) => xml("rule", { action, condition, value }))),
    ),
  );
}

function sendPlain(c, to, id, body) {
  return c.send(xml("message", { to, id }, xml("body", {}, body)));
}

// sentinel returns everything c receives up to a message it sends itself.
async function sentinel(c, id = "sentinel") {
  await sendPlain(c, c.jid.toString(), id, "sentinel");
  const got = [];
  for (;;) {
    const s = await next(c);
    got.push(s);
    if (s.includes(`id="${id}"`)) return got;
  }
}

const stdin = createInterface({ input: process.stdin });
const lines = stdin[Symbol.asyncIterator]();

async function step(name) {
  console.log(`STEP ${name}`);
  const { value } = await lines.next();
  if ((value ?? "").trim() !== "ok") throw new Error(`step ${name}: got ${value}`);
}

const scenarios = {
  async notify_direct() {
    const a = await login("alice", "a1");
    const b = await login("bob", "r1");
    await sendAMP(a, BOB, "m1", "hello", ["notify", "deliver", "direct"]);
    const bob = [await next(b)];
    // The event comes once bob has acknowledged the message.
    return { alice: [await next(a), ...(await sentinel(a))], bob };
  },
  async notify_stored() {
    const a = await login("alice", "a1");
    await sendAMP(a, BOB, "m1", "hello", ["notify", "deliver", "stored"]);
    const alice = await sentinel(a);
    const b = await login("bob", "r1");
    return { alice, bob: [await next(b)] };
  },
  async error_stored() {
    return actionOnStored("error");
  },
  async drop_stored() {
    return actionOnStored("drop");
  },
  async alert_expired() {
    const a = await login("alice", "a1");
    await sendAMP(a, BOB, "m0", "fresh", ["alert", "expire-at", "2030-01-01T03:00:00Z"]);
    await sendAMP(a, BOB, "m1", "stale", ["notify", "deliver", "stored"], ["alert", "expire-at", "2030-01-01T01:00:00Z"]);
    const stored = await sentinel(a, "sentinel1");
    await step("advance"); // the server's clock moves from 00:00 to 02:00
    const b = await login("bob", "r1");
    await sendPlain(a, BOB, "m2", "after");
    const bob = [await next(b), await next(b)];
    return { alice_stored: stored, alice: await sentinel(a, "sentinel2"), bob };
  },
  async match_resource() {
    const a = await login("alice", "a1");
    const r1 = await login("bob", "r1");
    const r2 = await login("bob", "r2");
    await sendAMP(a, `${BOB}/r1`, "m1", "to r1", ["notify", "match-resource", "exact"]);
    await sendAMP(a, `${BOB}/r2`, "m2", "to r2", ["notify", "match-resource", "other"]);
    await sendAMP(a, `${BOB}/gone`, "m3", "to gone", ["notify", "match-resource", "other"], ["notify", "match-resource", "exact"]);
    const got = { r1: [await next(r1), await next(r1)], r2: [await next(r2)] };
    const notified = [await next(a), await next(a)];
    return { alice: [...notified, ...(await sentinel(a))], ...got };
  },
  async unsupported_action() {
    return refused("alice", ["notify", "deliver", "direct"], ["alert", "deliver", "direct"]);
  },
  async unsupported_condition() {
    return refused("alice", ["notify", "expire-at", "2030-01-01T00:00:00Z"], ["notify", "deliver", "direct"]);
  },
  async not_acceptable() {
    return refused("alice", ["notify", "deliver", "bogus"], ["drop", "match-resource", "any"]);
  },
  async no_subscription() {
    return refused("carol", ["notify", "deliver", "direct"]);
  },
  async sm_acks() {
    // Both clients enable stream management (xmpp.js does when the server
    // lists it); bob's acknowledgements release one notify event per message.
    const a = await login("alice", "a1");
    const b = await login("bob", "r1");
    for (let i = 0; i < 7; i++) await sendAMP(a, BOB, `s${i}`, `n${i}`, ["notify", "deliver", "direct"]);
    const bob = [];
    for (let i = 0; i < 7; i++) bob.push(await next(b));
    const alice = [];
    for (let i = 0; i < 7; i++) alice.push(await next(a));
    alice.push(...(await sentinel(a)));
    // xmpp.js sends <r/> 250 ms after a burst; wait for the server's <a/>.
    for (let i = 0; i < 100 && a.streamManagement.outbound_q.length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    return {
      alice,
      bob,
      sm: {
        alice_enabled: a.streamManagement.enabled,
        bob_enabled: b.streamManagement.enabled,
        alice_unacked: a.streamManagement.outbound_q.length,
        bob_handled: b.streamManagement.inbound,
      },
    };
  },
  async restart() {
    // Messages stored before a restart keep their rules: after it, one has
    // expired (alert) and the other is delivered (notify direct).
    let a = await login("alice", "a1");
    await sendAMP(a, BOB, "m1", "stale", ["notify", "deliver", "stored"], ["alert", "expire-at", "2030-01-01T01:00:00Z"]);
    await sendAMP(a, BOB, "m2", "fresh", ["notify", "deliver", "direct"], ["alert", "expire-at", "2030-01-01T03:00:00Z"]);
    const stored = await sentinel(a, "sentinel1");
    await a.stop();
    await step("restart"); // a new server on the same file, its clock at 02:00
    a = await login("alice", "a1");
    const b = await login("bob", "r1");
    const bob = [await next(b)];
    const alice = [await next(a), await next(a), ...(await sentinel(a, "sentinel2"))];
    return { alice_stored: stored, alice, bob };
  },
  async disco() {
    const a = await login("alice", "a1", false);
    const ask = (node) =>
      withTimeout(
        a.iqCaller.request(
          xml("iq", { type: "get", to: "localhost", id: node ? "d2" : "d1" }, xml("query", { xmlns: NS_DISCO_INFO, ...(node && { node }) })),
        ),
        "disco",
      ).then((el) => el.toString());
    return { root: await ask(""), node: await ask(NS_AMP), stream_features: a.features };
  },
};

async function actionOnStored(action) {
  const a = await login("alice", "a1");
  await sendAMP(a, BOB, "m1", "hello", [action, "deliver", "stored"]);
  const alice = await sentinel(a);
  const b = await login("bob", "r1");
  await sendPlain(a, BOB, "m2", "after");
  return { alice, bob: [await next(b)] };
}

async function refused(sender, ...rules) {
  const s = await login(sender, "a1");
  const b = await login("bob", "r1");
  await sendAMP(s, BOB, "m1", "hello", ...rules);
  const got = await sentinel(s);
  await sendPlain(s, BOB, "m2", "after");
  return { sender: got, bob: [await next(b)] };
}

try {
  const result = await withTimeout(scenarios[scenario](), scenario, 60000);
  console.log(JSON.stringify({ result }));
  await Promise.all(clients.map((c) => c.stop().catch(() => {})));
  process.exit(0);
} catch (err) {
  console.error(err);
  process.exit(1);
}
