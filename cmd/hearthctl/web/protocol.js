// Hearth's MQTT contract for browsers, written from docs/protocol.md: the
// topics, and the same messages and signing bytes as sync/proto (call.go,
// signal.go, sender.go, booking.go). Keep the two in step; the Go test
// cmd/hearthd/browser_test.go verifies this file's signatures.

export const Root = "hearth/v1/dev";
export const Version = 1;

export const callInTopic = (device) => `${Root}/${device}/call/in`;
export const callOutFilter = (caller) => `${Root}/+/call/out/${caller}`;
export const allowlistFilter = `${Root}/+/allowlist`;
export const availabilityFilter = `${Root}/+/availability`;
export const stateFilter = `${Root}/+/state`;
export const heartbeatFilter = `${Root}/+/heartbeat`;
export const inventoryFilter = `${Root}/+/inventory`;
export const activityFilter = (device) => `${Root}/${device}/activity/+`;
export const contentTopic = (device, id) => `${Root}/${device}/content/${id}`;
export const bookingTopic = (device) => `${Root}/${device}/booking`;

// Ids (devices, items, bookings): one topic level (proto.ValidID).
export const validID = (s) => typeof s === "string" && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(s);

// The largest inline photo (proto.MaxInlinePhoto) and the longest text.
export const maxInlinePhoto = 2 << 20;
export const maxText = 2000;
export const maxFrom = 80;

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

// pemToPKCS8 takes the text of a caller folder's caller.key (PEM "PRIVATE
// KEY", PKCS #8 DER of an Ed25519 key) and returns the DER.
export function pemToPKCS8(pem) {
  const m = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(String(pem));
  if (!m) throw new Error("not a private key file (it should start with -----BEGIN PRIVATE KEY-----)");
  let der;
  try {
    der = unbase64(m[1].replace(/\s+/g, ""));
  } catch {
    throw new Error("the private key file is damaged");
  }
  return der;
}

// importKey makes a signing key from PKCS #8 DER that the page can use but
// never read back (extractable false), and the raw public key that goes
// with it (base64), to compare with the allowlists. WebCrypto cannot derive
// the public key from a non-extractable private key, so the key is imported
// once more, extractable, only to read its JWK "x", and that copy dropped.
export async function importKey(der) {
  const alg = { name: "Ed25519" };
  const probe = await crypto.subtle.importKey("pkcs8", der, alg, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", probe);
  const publicKey = btoa(atob(jwk.x.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (jwk.x.length % 4)) % 4)));
  const key = await crypto.subtle.importKey("pkcs8", der, alg, false, ["sign"]);
  return { key, publicKey };
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

// itemSigningBytes is proto.Item.SigningBytes (sync/proto/sender.go): one
// field a line, times in whole seconds UTC, the text by its SHA-256.
export async function itemSigningBytes(it) {
  const p = it.photo || null;
  return utf8.encode([
    "hearth-item-v1", it.id, it.device, String(it.rev), it.sender,
    it.deleted ? "deleted" : it.kind, it.from || "", await sha256Hex(it.text || ""),
    it.start || "", it.end || "", it.created || "",
    p ? p.sha256 : "", String(p ? p.size : 0), p && p.url ? p.url : "",
  ].join("\n"));
}

export async function sha256HexBytes(bytes) {
  const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(sum, (b) => b.toString(16).padStart(2, "0")).join("");
}

// makeItem builds and signs a photo or message (proto.Item). start and end
// are Dates; photo is {data: Uint8Array} for an inline photo, or an item's
// photo as received ({data: base64, sha256, size} or {url, sha256, size}).
// A signed item gives end, never days, and trims its text (Normalize).
export async function makeItem(key, { id, device, rev, sender, kind, from, text, start, end, created, photo }) {
  const it = {
    v: Version, id, device, rev, kind, sender,
    start: wholeSeconds(start), end: wholeSeconds(end), created: wholeSeconds(created || new Date()),
  };
  const f = (from || "").trim();
  if (f) it.from = f;
  const t = (text || "").trim();
  if (t) it.text = t;
  if (photo) {
    if (photo.data instanceof Uint8Array) {
      it.photo = { data: base64(photo.data), sha256: await sha256HexBytes(photo.data), size: photo.data.length };
    } else {
      it.photo = { ...photo };
    }
  }
  it.sig = await sign(key, await itemSigningBytes(it));
  return it;
}

// makeTombstone builds and signs the deletion of an item.
export async function makeTombstone(key, { id, device, rev, sender }) {
  const it = { v: Version, id, device, rev, deleted: true, sender };
  it.sig = await sign(key, await itemSigningBytes(it));
  return it;
}

// bookingSigningBytes is proto.Booking.SigningBytes.
export function bookingSigningBytes(b) {
  return utf8.encode([
    "hearth-booking-v1", b.id, b.device, b.caller, String(b.rev), b.cancel ? "cancel" : "book",
    b.at || "", String(b.length_s || 0), b.reason || "", b.issued,
  ].join("\n"));
}

// makeBooking builds and signs a booking, or with cancel a cancellation.
// rev is the time it is made in Unix milliseconds, as hearthctl book does.
export async function makeBooking(key, { id, device, caller, at, lengthS, reason, cancel = false, now = new Date() }) {
  const b = { v: Version, id, device, caller, rev: now.getTime() };
  if (cancel) {
    b.cancel = true;
  } else {
    b.at = wholeSeconds(at);
    b.length_s = lengthS;
    if (reason) b.reason = reason;
  }
  b.issued = wholeSeconds(now);
  b.sig = await sign(key, bookingSigningBytes(b));
  return b;
}
