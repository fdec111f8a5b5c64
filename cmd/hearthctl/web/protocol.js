// Hearth call signalling for browsers: the same messages and signing bytes
// as sync/proto (call.go, signal.go). Keep the two in step; the Go test
// cmd/hearthd/browser_test.go verifies this file's signatures.

export const Root = "hearth/v1/dev";
export const Version = 1;

export const callInTopic = (device) => `${Root}/${device}/call/in`;
export const callOutFilter = (caller) => `${Root}/+/call/out/${caller}`;
export const allowlistFilter = `${Root}/+/allowlist`;
export const availabilityFilter = `${Root}/+/availability`;
export const stateFilter = `${Root}/+/state`;

// controlAdd + a caller id is the host's control letting that caller join
// (proto.ControlAdd).
export const controlAdd = "add:";

// refusedDND is the reason a signalled call is refused while the screen is
// in do-not-disturb (proto.RefusedDND); forced calls still get through.
export const refusedDND = "do not disturb";

// deviceOf returns the device id in a topic (its third level).
export function deviceOf(topic) {
  return topic.split("/")[3];
}

// Times are whole seconds in UTC ("2026-11-28T09:00:00Z"). The device
// re-formats the time it parsed with Go's RFC3339Nano, which drops a zero
// fraction: with whole seconds both sides sign the same string. A browser's
// toISOString always writes milliseconds (".000Z"), which Go would not.
export function wholeSeconds(date) {
  const d = new Date(Math.floor(date.getTime() / 1000) * 1000);
  return d.toISOString().replace(/\.000Z$/, "Z");
}

const utf8 = new TextEncoder();

export async function sha256Hex(text) {
  const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(text)));
  return Array.from(sum, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function base64(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

export function unbase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

// randomID makes a call id: "c-" and 16 hex digits.
export function randomID(prefix = "c-") {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return prefix + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// importKey takes the caller's key as /config.json gives it (base64 PKCS #8).
export function importKey(pkcs8Base64) {
  return crypto.subtle.importKey("pkcs8", unbase64(pkcs8Base64), { name: "Ed25519" }, false, ["sign"]);
}

// inviteSigningBytes is proto.Invite.SigningBytes.
export async function inviteSigningBytes(inv) {
  return utf8.encode([
    "hearth-invite-v1",
    inv.call, inv.device, inv.caller, inv.caller_name, inv.mode, inv.reason || "",
    inv.join || "", String(inv.limit_s || 0),
    inv.created, inv.expires,
    await sha256Hex(inv.offer),
  ].join("\n"));
}

// signalSigningBytes is proto.Signal.SigningBytes.
export async function signalSigningBytes(s) {
  return utf8.encode([
    "hearth-signal-v1", s.type, s.call, s.device, s.caller, s.time,
    await sha256Hex(s.data || ""),
  ].join("\n"));
}

async function sign(key, bytes) {
  return base64(await crypto.subtle.sign({ name: "Ed25519" }, key, bytes));
}

// makeInvite builds and signs a proto.Invite. Empty optional fields are
// left out, as Go's omitempty writes them.
export async function makeInvite(key, { call, device, caller, callerName, mode, reason, join, limitS, offer, now = new Date() }) {
  const created = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const inv = {
    v: Version, type: "invite", call, device, caller, caller_name: callerName, mode,
    created: wholeSeconds(created),
    expires: wholeSeconds(new Date(created.getTime() + 2 * 60 * 1000)),
    offer,
  };
  if (reason) inv.reason = reason;
  if (join) inv.join = join;
  if (limitS) inv.limit_s = limitS;
  inv.sig = await sign(key, await inviteSigningBytes(inv));
  return inv;
}

// makeSignal builds and signs a proto.Signal (candidate, control, hangup).
export async function makeSignal(key, { type, call, device, caller, data = "", now = new Date() }) {
  const s = { v: Version, type, call, device, caller, time: wholeSeconds(now) };
  if (data) s.data = data;
  s.sig = await sign(key, await signalSigningBytes(s));
  return s;
}
