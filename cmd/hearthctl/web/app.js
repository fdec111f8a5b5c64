// The Hearth web app for families and carers: log in to the broker with
// your own password, keep your signing key in this browser, and see the
// screens you may reach; send photos and messages (content.js), see what a
// screen shows, book calls, read its activity, and call it (this file).
// The browser offers, the device answers, ICE is trickled both ways
// (docs/web-caller.md).
//
// window.hearth is the same in code, for tests (cmd/hearthd/browser_test.go
// and the end-to-end tests; docs/web-caller.md, "Test hooks").

import * as P from "./protocol.js";
import * as K from "./keystore.js";
import * as T from "./timefmt.js";
import { t, lang, setLang, pickLang, translatePage } from "./i18n.js";
import { initContent } from "./content.js";

const $ = (id) => document.getElementById(id);

// How long after subscribing the retained allowlists have surely arrived:
// only then may the page say there are no screens.
const settleMs = 2000;

// How long to wait for any reply from the device before giving up.
const replyTimeoutMs = 30000;

// Remote people in one call (proto.MaxParticipants); the resident is the
// fourth.
const maxParticipants = 3;

// How long an invitation to join stays on screen if nothing else removes
// it (the call ending shows in the device's availability first).
const joinPromptMs = 10 * 60 * 1000;

// MQTT 5 reason codes (CONNACK and DISCONNECT) the page handles itself.
const rcBadLogin = 0x86;
const rcNotAuthorized = 0x87;
const rcTakenOver = 0x8e;

let cfg = { ws: "", id: "", name: "" };
let me = null; // {id, password}
let signer = null; // {key: CryptoKey, publicKey: base64}
let client = null;
let conn = { state: "logged_out", text: "" };
const publishing = new Set(); // reject functions of publishes under way (publish)
let subscribedAt = 0; // when the subscriptions of this connection were granted
let everConnected = false;
const devices = new Map(); // id -> see deviceRec
const cards = new Map(); // id -> <li>
let view = "home";
let cur = null; // the call in progress
let last = null; // the call before, for stats() after it ended
let pendingJoin = null; // {device, call, from, at}: someone asked us to join
let loginWait = null; // {resolve, reject} of hearth.login

let readyResolve;
const ready = new Promise((res) => { readyResolve = res; });

function deviceRec(id) {
  let d = devices.get(id);
  if (!d) {
    d = {
      id, modes: [], callers: [], listed: false, availability: null, state: null, stateMsg: null,
      heartbeat: null, inventory: null, activity: new Map(),
    };
    devices.set(id, d);
  }
  return d;
}

// The shared part that content.js builds on.
const core = {
  $, P, T, t,
  devices,
  notConnected,
  me: () => me,
  myName,
  signer: () => signer,
  connected: () => conn.state === "connected",
  publish,
  subscribeOnce,
  watchActivity,
  reachable,
  name,
  where: (d) => T.whereOf(d && d.availability),
  callerName,
  lang: () => lang(),
  render: () => render(),
  show: (v, device) => showView(v, device),
  notice,
};
const content = initContent(core);

window.hearth = {
  ready,
  config: () => ({ id: cfg.id, name: cfg.name, ws: cfg.ws }),
  importKey: (pem, id) => importKey(pem, id),
  login: (id, password) => login(id, password),
  logout: () => logout(),
  forget: () => forget(),
  takeover: () => takeover(),
  connection: () => ({ ...conn }),
  connected: () => conn.state === "connected",
  setLanguage: (l) => { setLang(l); applyLang(); },
  show: (v, device) => showView(v === "screens" ? "home" : v, device),
  devices: () => reachable().map(viewOf),
  call: (device, opts = {}) => placeCall(device, opts),
  hangup: () => hangup(),
  control: (what) => control(what),
  extend: () => control("extend"),
  stats: () => stats(),
  add: (callerId) => add(callerId),
  join: () => acceptJoin(),
  pendingJoin: () => joinView(),
  ...content.hooks,
};

start().catch((err) => {
  setConn("failed", t("This page could not start: {err}", { err: err.message }));
});

async function start() {
  setLang(pickLang(localStorage.getItem("hearth-lang"), navigator.languages || [navigator.language]));
  applyLang();
  const res = await fetch("config.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`config.json: ${res.status}`);
  const c = await res.json();
  cfg = { ws: c.ws || "", id: c.id || "", name: c.name || "" };
  if (!window.crypto || !crypto.subtle) throw new Error(t("this page needs a secure connection (https)"));
  $("login-id").value = cfg.id;
  wire();
  setInterval(tick, 250);
  setConn("logged_out", "");
  await showLogin();
}

function wire() {
  $("lang").addEventListener("change", () => {
    setLang($("lang").value);
    localStorage.setItem("hearth-lang", lang());
    applyLang();
  });
  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    uiLogin();
  });
  $("key-file").addEventListener("change", () => keyFilesChosen());
  $("login-id").addEventListener("change", () => showLogin());
  $("login-id").addEventListener("input", () => showLogin());
  $("takeover").addEventListener("click", () => takeover());
  $("logout").addEventListener("click", () => logout());
  $("forget").addEventListener("click", () => {
    $("forget-ask").hidden = false;
    $("forget-confirm").focus();
  });
  $("forget-confirm").addEventListener("click", () => {
    $("forget-ask").hidden = true;
    forget();
  });
  $("forget-cancel").addEventListener("click", () => {
    $("forget-ask").hidden = true;
    $("forget").focus();
  });
  for (const b of $("tabs").querySelectorAll("button")) b.addEventListener("click", () => showView(b.dataset.view));
  $("end").addEventListener("click", () => hangup());
  $("extend").addEventListener("click", () => control("extend").catch((e) => notice(e.message)));
  $("camera").addEventListener("click", () => {
    if (cur) control(cur.camera === false ? "camera_on" : "camera_off");
  });
  $("mic").addEventListener("click", () => {
    if (cur) control(cur.mic === false ? "mic_on" : "mic_off");
  });
  $("join-yes").addEventListener("click", () => acceptJoin().catch((err) => { if (!err.shown) notice(err.message); }));
  $("join-no").addEventListener("click", () => dropJoin());
}

function applyLang() {
  document.documentElement.lang = lang();
  $("lang").value = lang();
  translatePage(document);
  setConn(conn.state, conn.text && conn.state === "failed" ? conn.text : undefined);
  showMe();
  for (const li of cards.values()) li.dataset.sig = "";
  render();
  content.render();
  if (cur) {
    setState(cur, cur.state);
    updateControls(cur);
  }
}

// ---- Identity: the key in this browser, the login to the broker ----

// showMe says who is logged in, in the header and the title, only while
// the login is in force: not above the login form (a refused password, a
// revoked person, logged out).
function showMe() {
  const on = !!me && $("login").hidden;
  $("me").textContent = on ? t("Logged in as {name}", { name: myName() }) : "";
  document.title = on ? `Hearth – ${myName()}` : "Hearth";
}

async function showLogin() {
  $("login").hidden = false;
  showMe();
  $("tabs").hidden = true;
  $("account").hidden = true;
  for (const v of document.querySelectorAll(".view")) v.hidden = true;
  const id = $("login-id").value.trim();
  let rec = null;
  if (P.validID(id)) {
    try {
      rec = await K.load(id);
    } catch {
      rec = null;
    }
  }
  $("key-box").hidden = !!rec;
  $("key-stored").hidden = !rec;
  $("key-stored").textContent = rec ? t("This browser holds the key of {id}.", { id }) : "";
  if (!$("login-id").value) $("login-id").focus();
  else if (document.activeElement === document.body) $("login-password").focus();
}

// importKey reads a caller.key (PEM, PKCS #8) and keeps it, unreadable,
// for the person id.
async function importKey(pem, id) {
  id = (id || $("login-id").value || cfg.id || "").trim();
  if (!P.validID(id)) throw new Error(t("Write your user name first."));
  let der;
  try {
    der = P.pemToPKCS8(pem);
  } catch (err) {
    throw new Error(t("That is not your key file: {err}", { err: err.message }));
  }
  let k;
  try {
    k = await P.importKey(der);
  } catch (err) {
    throw new Error(t("This browser cannot use the key (it needs Ed25519 signatures: a current Chrome, Edge, Firefox or Safari): {err}", { err: err.message }));
  }
  await K.save({ id, key: k.key, publicKey: k.publicKey, saved: new Date().toISOString() });
  if ($("key-paste")) $("key-paste").value = "";
  if (me && me.id === id) signer = k;
  if (!$("login").hidden) await showLogin();
  return { id, publicKey: k.publicKey };
}

// chosenKey is the text of the PEM private key among the chosen files.
async function chosenKey() {
  for (const f of $("key-file").files || []) {
    if (f.size > 64 * 1024) continue;
    const text = await f.text();
    if (text.includes("-----BEGIN PRIVATE KEY-----")) return text;
  }
  return "";
}

// A broker-password file chosen with the key fills in the password.
async function keyFilesChosen() {
  for (const f of $("key-file").files || []) {
    if (f.name === "broker-password" && f.size < 1024 && !$("login-password").value) {
      $("login-password").value = (await f.text()).trim();
    }
  }
}

async function uiLogin() {
  const id = $("login-id").value.trim();
  const pw = $("login-password").value;
  const err = $("login-error");
  err.textContent = "";
  try {
    if (!P.validID(id)) throw new Error(t("Write your user name (letters, digits, dots, dashes)."));
    if (!pw) throw new Error(t("Write your password."));
    if (!$("key-box").hidden && !(await chosenKey()) && !$("key-paste").value.trim()) {
      throw new Error(t("This browser does not have your key yet: choose your key file (caller.key)."));
    }
    const pem = await chosenKey();
    const pasted = $("key-paste").value.trim();
    if (pem) await importKey(pem, id);
    else if (pasted) await importKey(pasted, id);
    $("login-submit").disabled = true;
    await login(id, pw);
    $("login-password").value = "";
  } catch (e) {
    err.textContent = e.message;
  } finally {
    $("login-submit").disabled = false;
  }
}

// login connects as id with password. It resolves once connected and
// subscribed, and rejects when the broker refuses the password or the key
// for id is missing.
async function login(id, password) {
  if (!P.validID(id)) throw new Error(t("Write your user name (letters, digits, dots, dashes)."));
  const rec = await K.load(id);
  if (!rec) throw new Error(t("This browser does not have your key yet: choose your key file (caller.key)."));
  signer = { key: rec.key, publicKey: rec.publicKey };
  stopClient();
  watched.clear();
  me = { id, password };
  devices.clear();
  for (const li of cards.values()) li.remove();
  cards.clear();
  if (cfg.id !== id) cfg = { ...cfg, id, name: "" };
  $("login-id").value = id;
  const p = new Promise((resolve, reject) => { loginWait = { resolve, reject }; });
  connect();
  return p;
}

// Taking over: the broker keeps one session per person (the client id is
// the user name), so a second tab or device of the same person closes the
// first. MQTT 5 says so with DISCONNECT 0x8E, but Mosquitto 2.0's
// WebSockets listener closes the socket before that packet leaves, so the
// page also notices it two ways: another tab of this browser says on a
// BroadcastChannel that it logged in as the same person; and a connection
// that was closed once and is closed again within 10 s of connecting again
// is being fought over (the other side reconnects too), so this page gives
// way instead of knocking the other off every few seconds.
const tabID = P.randomID("tab-");
const tabs = "BroadcastChannel" in window ? new BroadcastChannel("hearth-tabs") : null;
if (tabs) {
  tabs.onmessage = (e) => {
    const m = e.data || {};
    if (m.type === "login" && me && m.id === me.id && m.tab !== tabID && client && conn.state !== "taken_over") takenOver();
  };
}
let closedOnce = false; // closed by the other end since the last stable connection
let connectedAt = 0;
let up = false; // this connection's subscriptions were granted and it has not closed since

function takenOver() {
  setConn("taken_over");
  if (client) {
    const c = client;
    client = null;
    c.end(true);
  }
  if (loginWait) {
    loginWait.reject(new Error(conn.text));
    loginWait = null;
  }
}

function connect() {
  up = false;
  setConn("connecting");
  if (tabs) tabs.postMessage({ type: "login", id: me.id, tab: tabID });
  const c = mqtt.connect(cfg.ws, {
    protocolVersion: 5,
    clientId: me.id, // the broker ties client ids to the user name
    username: me.id,
    password: me.password,
    clean: true,
    reconnectPeriod: 3000,
    connectTimeout: 10000,
    resubscribe: false, // subscribed again on every connect, below
  });
  client = c;
  c.on("connect", () => {
    if (client !== c) return;
    setConn("connecting");
    c.subscribe([P.allowlistFilter, P.availabilityFilter, P.stateFilter, P.heartbeatFilter,
      P.inventoryFilter, P.callOutFilter(me.id), ...[...watched].map(P.activityFilter)], { qos: 1 }, (err) => {
      if (client !== c) return;
      if (err) {
        setConn("unreachable", t("Cannot listen for your screens: {err}", { err: err.message }));
        return;
      }
      subscribedAt = Date.now();
      connectedAt = subscribedAt;
      up = true;
      setTimeout(() => { if (client === c && conn.state === "connected" && Date.now() - connectedAt >= 10000) closedOnce = false; }, 10050);
      everConnected = true;
      setConn("connected");
      enterApp();
      readyResolve();
      if (loginWait) {
        loginWait.resolve(true);
        loginWait = null;
      }
      setTimeout(() => render(), settleMs + 50);
    });
  });
  c.on("reconnect", () => { if (client === c && conn.state !== "taken_over") setConn(everConnected ? "unreachable" : "connecting"); });
  c.on("offline", () => { if (client === c && conn.state !== "taken_over" && conn.state !== "wrong_password") setConn("unreachable"); });
  c.on("close", () => {
    if (client !== c || !up) return;
    up = false;
    if (closedOnce && Date.now() - connectedAt < 10000) {
      takenOver();
      return;
    }
    closedOnce = true;
    setConn("unreachable");
  });
  c.on("disconnect", (packet) => {
    if (client === c && packet && packet.reasonCode === rcTakenOver) takenOver();
  });
  c.on("error", (err) => {
    if (client !== c) return;
    const code = err && err.code;
    if (code === rcBadLogin || code === rcNotAuthorized || code === 4 || code === 5) {
      setConn("wrong_password");
      c.end(true);
      me.password = "";
      if (loginWait) {
        loginWait.reject(new Error(conn.text));
        loginWait = null;
      }
      showLogin();
      $("login-error").textContent = conn.text;
      $("login-password").focus();
      return;
    }
    if (conn.state !== "connected") setConn(everConnected ? "unreachable" : "connecting");
  });
  c.on("message", onMessage);
}

// A screen's activity is read only once the person looks at that screen
// (what it shows, its activity) or sends to it: the broker keeps up to 500
// retained events per screen, too many to fetch for every screen at login.
const watched = new Set();
function watchActivity(id) {
  if (!P.validID(id) || watched.has(id)) return;
  watched.add(id);
  if (client && up) client.subscribe(P.activityFilter(id), { qos: 1 });
}

function stopClient() {
  failPublishing();
  if (client) {
    const c = client;
    client = null;
    c.removeAllListeners("message");
    c.end(true);
  }
  subscribedAt = 0;
}

function enterApp() {
  $("login").hidden = true;
  $("tabs").hidden = false;
  $("account").hidden = false;
  showMe();
  if (!cur) showView(view);
  render();
}

async function takeover() {
  if (!me || !me.password) return showLogin();
  stopClient();
  closedOnce = false;
  connect();
}

async function logout() {
  if (cur) await hangup();
  stopClient();
  me = null;
  signer = null;
  devices.clear();
  for (const li of cards.values()) li.remove();
  cards.clear();
  setConn("logged_out");
  await showLogin();
}

async function forget() {
  const id = (me && me.id) || $("login-id").value.trim();
  if (P.validID(id)) await K.remove(id);
  await logout();
}

// setConn says in words how the page stands with the broker.
function setConn(state, text) {
  const words = {
    logged_out: t("Not logged in."),
    connecting: t("Connecting to the Hearth service…"),
    connected: t("Connected"),
    wrong_password: t("The user name or password is wrong."),
    unreachable: t("Cannot reach the Hearth service. Trying again…"),
    taken_over: t("You opened Hearth somewhere else (another tab or device), so this page stopped."),
  };
  conn = { state, text: text !== undefined ? text : words[state] || state };
  if (["wrong_password", "taken_over", "logged_out", "failed"].includes(state)) failPublishing();
  $("link").textContent = conn.text;
  $("link-box").dataset.state = state;
  $("takeover").hidden = state !== "taken_over";
  render();
}

// myName is the name the organisation lists for me (what screens show),
// else the name hearthctl web was given, else my id.
function myName() {
  if (!me) return cfg.name || cfg.id;
  for (const d of devices.values()) {
    const e = d.callers.find((c) => c.id === me.id);
    if (e && e.name) return e.name;
  }
  return (cfg.id === me.id && cfg.name) || me.id;
}

// ---- What the broker tells: allowlists, availability, state, heartbeat, inventory, activity ----

function onMessage(topic, payload) {
  const parts = topic.split("/");
  const id = parts[3];
  if (!P.validID(id)) return;
  let msg = null;
  if (payload.length > 0) {
    try {
      msg = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return;
    }
    if (!msg || typeof msg !== "object") return;
  }
  if (parts[4] === "call" && parts[5] === "out") {
    if (msg && msg.type === "join") onJoin(id, msg);
    else if (msg) onReply(msg);
    return;
  }
  const d = deviceRec(id);
  switch (parts[4]) {
    case "allowlist": {
      const callers = msg && Array.isArray(msg.callers) ? msg.callers.filter((c) => c && typeof c.id === "string") : [];
      const mine = callers.find((c) => c.id === me.id);
      d.listed = !!mine;
      d.modes = mine && Array.isArray(mine.modes) ? mine.modes.filter((m) => typeof m === "string") : [];
      d.myKey = mine ? mine.key : "";
      // Everyone the screen takes calls from: whom a host may add, and
      // names for the ids in a call's participants and activity.
      d.callers = callers.map((c) => ({ id: c.id, name: c.name || c.id, modes: Array.isArray(c.modes) ? c.modes : [] }));
      checkKey();
      break;
    }
    case "availability":
      d.availability = msg;
      // A screen that is free again has no call left to join.
      if (pendingJoin && pendingJoin.device === id && msg && !["in_call", "ringing"].includes(msg.state)) {
        dropJoin();
      }
      break;
    case "state":
      d.stateMsg = msg;
      break;
    case "heartbeat":
      d.heartbeat = msg;
      break;
    case "inventory":
      d.inventory = msg;
      content.onInventory(id);
      break;
    case "activity":
      if (msg && typeof msg.id === "string" && typeof msg.type === "string") {
        d.activity.set(msg.id, msg);
        if (d.activity.size > 600) d.activity.delete(d.activity.keys().next().value);
        content.onActivity(id, msg);
      }
      break;
    default:
      return;
  }
  scheduleRender();
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
    content.render();
  });
}

// checkKey warns when the key in this browser is not the one the
// organisation lists for me: the screens would refuse what I sign.
function checkKey() {
  if (!signer) return;
  const wrong = [...devices.values()].some((d) => d.listed && d.myKey && d.myKey !== signer.publicKey);
  const n = $("notice");
  const text = t("The key in this browser is not the one your organisation lists for you: screens will refuse what you send. Use Forget this device and import the right key file.");
  if (wrong) notice(text);
  else if (n.textContent === text) notice("");
}

// reachable lists the screens whose allowlist names me, by name.
function reachable() {
  return [...devices.values()].filter((d) => d.listed).sort((a, b) => name(a).localeCompare(name(b)));
}

function name(d) {
  return (d && d.availability && d.availability.name) || (d && d.id) || "";
}

// callerName is what a device's allowlist calls caller id.
function callerName(deviceId, id) {
  if (me && id === me.id) return myName();
  const d = devices.get(deviceId);
  const who = d && d.callers.find((x) => x.id === id);
  return (who && who.name) || id;
}

const may = (d, m) => d.modes.includes(m) || (m === "send" && d.modes.includes("admin")) || (m === "book" && d.modes.includes("forced"));

// online follows Homie and Sparkplug: ready is online; a Will (lost) older
// than the latest heartbeat's session is an old connection's, not news.
function online(d) {
  const s = d.stateMsg;
  if (!s) return false;
  if (s.state === "ready" || s.state === "alert" || s.state === "init") return true;
  if (s.state === "lost" && d.heartbeat && s.session && d.heartbeat.session > s.session) return true;
  return false;
}

// defaultMode is what the plain Call button places: a ringing call when the
// caller may place one.
function defaultMode(d) {
  return d.modes.includes("signalled") ? "signalled" : "forced";
}

// stateText says where the screen is, in plain words and the screen's time.
function stateText(d) {
  const w = T.whereOf(d.availability);
  const L = lang();
  const av = d.availability || {};
  if (!online(d)) {
    const s = d.stateMsg || {};
    const since = s.time ? new Date(s.time) : d.heartbeat && d.heartbeat.time ? new Date(d.heartbeat.time) : null;
    if (since && !Number.isNaN(since.getTime())) return t("Offline since {when}", { when: T.when(since, w, L) });
    return d.stateMsg ? t("Offline") : t("Not heard from yet");
  }
  // A heartbeat older than two intervals is stale (docs/protocol.md): the
  // screen may have lost its network without the broker noticing yet.
  const hb = d.heartbeat;
  if (hb && hb.time && hb.interval_s > 0 && Date.now() - new Date(hb.time).getTime() > 2 * hb.interval_s * 1000) {
    return t("Not heard from since {when}", { when: T.when(new Date(hb.time), w, L) });
  }
  const until = (x) => (x ? T.when(new Date(x), w, L) : "");
  switch (av.state) {
    case "in_call":
    case "ringing":
      return t("In a call");
    case "do_not_disturb":
      return av.dnd_until ? t("Do not disturb until {when}", { when: until(av.dnd_until) }) : t("Do not disturb");
    case "night":
      // The night ends within the day ahead: its clock time alone says
      // when ("asleep until 07:00" at 23:00 too, not "Tue 07:00").
      if (av.night_until) {
        const end = new Date(av.night_until);
        if (!Number.isNaN(end.getTime())) {
          const ahead = end.getTime() - Date.now();
          return t("Asleep until {when}", { when: ahead > 0 && ahead < 86400000 ? T.clock(end, w, L) : until(av.night_until) });
        }
      }
      return t("Asleep (night hours)");
    case "camera_missing":
      return t("Online · its camera is missing");
    case "microphone_missing":
      return t("Online · its microphone is missing");
    case "no_allowlist":
    case "not_provisioned":
      return t("Online · not set up for calls yet");
    case "no_camera_or_microphone":
      return t("Online · no camera or microphone");
    default:
      return t("Online");
  }
}

function answerLabel(answer, av, d) {
  const w = T.whereOf(av);
  const texts = {
    auto: t("A call is answered by itself"),
    rings: t("A call rings first, then is answered"),
    asleep: t("Only care visits get through now"),
    busy: t("Busy with a call"),
    none: t("Cannot take calls now"),
  };
  let text = texts[answer] || t("Not known yet if it takes calls");
  if (!may(d, "signalled") && !may(d, "forced")) return t("You may send to it, not call it");
  // The state line says "Do not disturb until 14:30" already; during a
  // call it says "In a call", so the end of do-not-disturb goes here.
  const until = av && av.dnd_until && av.state !== "do_not_disturb" ? new Date(av.dnd_until) : null;
  if (until && !Number.isNaN(until.getTime())) {
    const when = T.when(until, w, lang());
    text = answer === "asleep" ? t("Do not disturb until {when} — only forced calls", { when }) : `${text} · ${t("do not disturb until {when}", { when })}`;
  }
  return text;
}

function viewOf(d) {
  const answers = (d.availability && d.availability.answer) || {};
  const on = online(d);
  const answer = on ? answers[defaultMode(d)] || "unknown" : "offline";
  const w = T.whereOf(d.availability);
  return {
    id: d.id,
    name: name(d),
    online: on,
    state: d.stateMsg ? d.stateMsg.state : "unknown",
    availability: d.availability ? d.availability.state : "",
    stateText: stateText(d),
    modes: [...d.modes],
    rights: [...d.modes],
    answer,
    answers: { ...answers },
    label: on ? legacyLabel(answer, d.availability) : "Offline",
    callText: on ? answerLabel(answer, d.availability, d) : t("Calls cannot reach it now"),
    dndUntil: (d.availability && d.availability.dnd_until) || null,
    zone: w.zone,
    utcOffsetS: w.offsetS,
    heartbeat: (d.heartbeat && d.heartbeat.time) || null,
  };
}

// legacyLabel is the English label the call tests have always read.
function legacyLabel(answer, av) {
  const text = { auto: "Answers by itself", rings: "Will ring first", asleep: "Asleep: only forced calls", busy: "Busy", none: "Cannot take calls now" }[answer] || "Not known yet";
  if (!av || !av.dnd_until) return text;
  const when = T.when(new Date(av.dnd_until), T.whereOf(av), "en");
  return answer === "asleep" ? `Do not disturb until ${when} — only forced calls` : `${text} · do not disturb until ${when}`;
}

// ---- Views ----

function showView(v, device) {
  if (!["home", "send", "shows", "book", "activity"].includes(v)) throw new Error(`no view ${v}`);
  view = v;
  if (device) content.select(v, device);
  if (!me) return;
  for (const s of document.querySelectorAll(".view")) s.hidden = cur !== null || s.id !== v;
  for (const b of $("tabs").querySelectorAll("button")) {
    if (b.dataset.view === v) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  content.render();
}

function render() {
  const shown = reachable();
  const settled = conn.state === "connected" && subscribedAt > 0 && Date.now() - subscribedAt >= settleMs;
  const note = $("connecting-note");
  note.hidden = conn.state === "connected" || !me;
  if (!note.hidden) {
    note.textContent = conn.state === "unreachable" ? t("Your screens show here again once the connection is back.")
      : conn.state === "taken_over" ? t("This page is paused. Press Use it here to carry on here.")
      : t("Looking for your screens…");
  }
  $("none").hidden = shown.length > 0 || !settled;
  if (conn.state === "connected" && !settled && shown.length === 0 && me) {
    note.hidden = false;
    note.textContent = t("Looking for your screens…");
  }
  // A section shows once a screen allows what it is for.
  const sends = shown.some((d) => may(d, "send"));
  $("tab-send").hidden = !sends;
  $("tab-shows").hidden = !sends;
  $("tab-activity").hidden = !sends;
  $("tab-book").hidden = !shown.some((d) => may(d, "book"));
  // One section alone needs no tabs (someone who may only call).
  $("tabs").dataset.single = String(!sends && $("tab-book").hidden);
  const list = $("devices");
  for (const [id, li] of cards) {
    if (!shown.some((d) => d.id === id)) {
      li.remove();
      cards.delete(id);
    }
  }
  for (const d of shown) {
    let li = cards.get(d.id);
    if (!li) {
      li = $("device-card").content.firstElementChild.cloneNode(true);
      li.dataset.device = d.id;
      li.querySelector(".call").addEventListener("click", () => uiCall(d.id, false, li));
      li.querySelector(".call-forced").addEventListener("click", () => uiCall(d.id, true, li));
      li.querySelector(".to-send").addEventListener("click", () => showView("send", d.id));
      li.querySelector(".to-shows").addEventListener("click", () => showView("shows", d.id));
      li.querySelector(".to-book").addEventListener("click", () => showView("book", d.id));
      li.querySelector(".to-activity").addEventListener("click", () => showView("activity", d.id));
      cards.set(d.id, li);
    }
    list.appendChild(li); // keeps the order sorted
    renderCard(li, d);
  }
  renderJoin();
  if (cur) renderGroup(cur);
}

function renderCard(li, d) {
  const v = viewOf(d);
  const mayForce = d.modes.includes("forced");
  const maySignal = d.modes.includes("signalled");
  const inCall = cur !== null;
  const sig = JSON.stringify([v, inCall, lang(), content.bookingLine(d)]);
  if (li.dataset.sig === sig) return;
  li.dataset.sig = sig;
  li.querySelector(".name").textContent = v.name;
  const st = li.querySelector(".state");
  st.textContent = v.stateText;
  st.className = `state ${v.online ? "on" : "off"} ${v.availability}`;
  const ans = li.querySelector(".answer");
  ans.textContent = v.callText;
  ans.className = `answer ${v.answer}`;
  li.querySelector(".bookings").textContent = content.bookingLine(d);
  const callBtn = li.querySelector(".call");
  callBtn.textContent = t("Call");
  callBtn.hidden = !maySignal;
  callBtn.disabled = inCall || !v.online || ["busy", "none", "asleep"].includes(v.answer);
  callBtn.setAttribute("aria-label", t("Call {name}", { name: v.name }));
  const forced = li.querySelector(".forced");
  forced.hidden = !mayForce;
  if (mayForce && !maySignal && !forced.dataset.opened) {
    forced.open = true;
    forced.dataset.opened = "1";
  }
  li.querySelector(".forced-summary").textContent = t("Care visit (forced call)");
  li.querySelector(".forced-hint").textContent = t("The screen connects at once after a chime and shows your name and reason.");
  li.querySelector(".reason-label").firstChild.textContent = `${t("Reason")} `;
  li.querySelector(".limit-label").firstChild.textContent = `${t("Length")} `;
  const opts = li.querySelector(".limit").options;
  opts[0].textContent = t("The screen's default");
  opts[1].textContent = t("15 minutes");
  opts[2].textContent = t("30 minutes");
  opts[3].textContent = t("1 hour");
  const fa = v.answers.forced;
  const fb = li.querySelector(".call-forced");
  fb.textContent = t("Start care visit");
  fb.setAttribute("aria-label", t("Start a care visit to {name}", { name: v.name }));
  fb.disabled = inCall || !v.online || fa === "busy" || fa === "none";
  const b = (cls, text, hidden) => {
    const x = li.querySelector(cls);
    x.textContent = text;
    x.setAttribute("aria-label", `${text}: ${v.name}`);
    x.hidden = hidden;
  };
  b(".to-send", t("Send a photo or message"), !may(d, "send"));
  b(".to-shows", t("What it shows"), !may(d, "send"));
  b(".to-book", t("Book a call"), !may(d, "book"));
  b(".to-activity", t("Activity"), !may(d, "send"));
}

function notice(text) {
  const n = $("notice");
  n.textContent = text;
  n.hidden = !text;
}

async function uiCall(id, forced, li) {
  const reason = li.querySelector(".reason").value.trim();
  const limitS = Number(li.querySelector(".limit").value) || 0;
  if (forced && !reason) {
    notice(t("Please write the reason for the care visit: the screen shows it."));
    li.querySelector(".reason").focus();
    return;
  }
  try {
    await placeCall(id, { forced, reason, limitS });
  } catch (err) {
    if (!err.shown) notice(err.message);
  }
}

// ---- MQTT helpers ----

// notConnected is the error of what could not be sent for want of a
// connection; err.notConnected tells it from the broker's refusals.
function notConnected() {
  const err = new Error(t("Not connected to the Hearth service."));
  err.notConnected = true;
  return err;
}

// publish resolves once the broker has the message. It rejects at once
// while the page is not connected, and when the connection ends for good
// (a refused password, another tab took over, logged out) before the
// broker said it had it: that client is gone, so nothing more of it is
// sent. Across a dropped connection it waits, as the client sends it
// again once connected.
function publish(topic, msg, opts = {}) {
  return new Promise((resolve, reject) => {
    if (!client || conn.state !== "connected") {
      reject(notConnected());
      return;
    }
    const fail = () => reject(notConnected());
    publishing.add(fail);
    client.publish(topic, JSON.stringify(msg), { qos: 1, retain: !!opts.retain }, (err) => {
      publishing.delete(fail);
      if (err) reject(err);
      else resolve();
    });
  });
}

function failPublishing() {
  for (const fail of publishing) fail();
  publishing.clear();
}

// subscribeOnce reads the retained message of one topic, or null after
// within ms.
function subscribeOnce(topic, within = 5000) {
  return new Promise((resolve, reject) => {
    if (!client || conn.state !== "connected") {
      reject(new Error(t("Not connected to the Hearth service.")));
      return;
    }
    const c = client;
    let done = false;
    const finish = (v) => {
      if (done) return;
      done = true;
      c.removeListener("message", on);
      c.unsubscribe(topic);
      resolve(v);
    };
    const on = (tp, payload) => {
      if (tp !== topic) return;
      try {
        finish(payload.length ? JSON.parse(new TextDecoder().decode(payload)) : null);
      } catch {
        finish(null);
      }
    };
    c.on("message", on);
    c.subscribe(topic, { qos: 1 }, (err) => { if (err) finish(null); });
    setTimeout(() => finish(null), within);
  });
}

// ---- Calls ----

const phaseText = {
  calling: (n) => t("Calling {name}…", { name: n }),
  announcing: (n) => t("{name} is showing your name…", { name: n }),
  ringing: (n) => t("{name} is ringing…", { name: n }),
  connecting: (n) => t("Connecting to {name}…", { name: n }),
  active: (n) => t("In a call with {name}", { name: n }),
};

// placeCall opens camera and microphone, offers, and publishes the signed
// invite. It resolves once the invite is on its way; the call's progress
// shows in stats().state.
async function placeCall(deviceId, opts = {}) {
  await ready;
  if (cur) throw new Error(t("You are already in a call."));
  if (!signer) throw new Error(t("This browser does not have your key yet: choose your key file (caller.key)."));
  const d = devices.get(deviceId) || { id: deviceId, modes: [], callers: [] };
  const mode = opts.mode || (opts.forced ? "forced" : d.modes.length ? defaultMode(d) : "signalled");
  const c = {
    id: P.randomID(), device: deviceId, name: name(d) || deviceId, mode,
    carer: d.modes.includes("forced"),
    // joined: the host's call id when this call joins another's; from: the
    // host's name. participants: caller ids from the device's state
    // replies; asked: whom this host asked to join.
    joined: opts.join || "", from: opts.from || "", participants: [], asked: new Set(),
    state: "calling", phase: "", reason: "", ended: false,
    pc: null, stream: null, remote: null, out: null, remoteSet: false, pendingRemote: [],
    t0: 0, iceConnectedMs: null, firstFrameMs: null,
    camera: null, mic: null, ends: null, lastReply: 0, final: null,
  };
  cur = c;
  notice("");
  showCall(c);
  try {
    c.stream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: { ideal: 640 }, height: { ideal: 480 } },
    });
    if (c.ended) return { call: c.id, device: deviceId, mode };
    $("local").srcObject = c.stream;
    const pc = new RTCPeerConnection({ iceServers: [] });
    c.pc = pc;
    for (const tr of c.stream.getTracks()) pc.addTrack(tr, c.stream);
    let release;
    c.out = new Promise((r) => { release = r; });
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) send(c, "candidate", JSON.stringify(e.candidate.toJSON()));
    };
    // One stream for the device's picture and sound, whatever stream ids
    // the device gave its tracks.
    c.remote = new MediaStream();
    pc.ontrack = (e) => {
      c.remote.addTrack(e.track);
      const v = $("remote");
      if (v.srcObject !== c.remote) v.srcObject = c.remote;
      v.play().catch(() => {});
    };
    pc.oniceconnectionstatechange = () => {
      const s = pc.iceConnectionState;
      if ((s === "connected" || s === "completed") && c.iceConnectedMs === null) {
        c.iceConnectedMs = Math.round(performance.now() - c.t0);
      }
    };
    pc.onconnectionstatechange = () => {
      if (c.ended) return;
      if (pc.connectionState === "failed") end(c, "failed", t("The connection failed."));
      if (pc.connectionState === "connected" && !c.phase) setState(c, "active");
      if (pc.connectionState === "disconnected") $("call-state").textContent = t("The connection is interrupted. Waiting…");
    };
    watchFirstFrame(c);
    await pc.setLocalDescription(await pc.createOffer());
    const inv = await P.makeInvite(signer.key, {
      call: c.id, device: deviceId, caller: me.id, callerName: myName(), mode,
      reason: opts.reason || "", join: c.joined, limitS: opts.limitS || 0, offer: pc.localDescription.sdp,
    });
    c.t0 = performance.now();
    c.lastReply = Date.now();
    await publish(P.callInTopic(deviceId), inv);
    release();
  } catch (err) {
    await end(c, "failed", t("The call could not start: {err}", { err: err.message }));
    err.shown = true;
    throw err;
  }
  return { call: c.id, device: deviceId, mode };
}

// send queues a signed signal behind the invite and earlier signals, so the
// device gets them in order.
function send(c, type, data = "") {
  c.out = c.out.then(async () => {
    const s = await P.makeSignal(signer.key, { type, call: c.id, device: c.device, caller: me.id, data });
    await publish(P.callInTopic(c.device), s);
  }).catch((err) => console.warn(`hearth: ${type}: ${err.message}`));
  return c.out;
}

async function onReply(r) {
  const c = cur;
  if (!c || r.call !== c.id || c.ended) return;
  c.lastReply = Date.now();
  switch (r.type) {
    case "answer":
      try {
        await c.pc.setRemoteDescription({ type: "answer", sdp: r.sdp });
        c.remoteSet = true;
        for (const cand of c.pendingRemote.splice(0)) await c.pc.addIceCandidate(cand).catch(() => {});
        if (c.state === "calling") setState(c, "connecting");
      } catch (err) {
        end(c, "failed", t("The screen's answer did not work: {err}", { err: err.message }), true);
      }
      break;
    case "candidate": {
      let cand;
      try {
        cand = JSON.parse(r.data);
      } catch {
        return;
      }
      if (c.remoteSet) await c.pc.addIceCandidate(cand).catch(() => {});
      else c.pendingRemote.push(cand);
      break;
    }
    case "busy":
      end(c, "busy", c.joined ? t("The call with {name} is full: three people are in it already.", { name: c.name })
        : t("{name} is in another call. Please try again later.", { name: c.name }));
      break;
    case "refused":
      end(c, "refused", c.joined && r.reason === "no such call" ? t("The call with {name} has ended already.", { name: c.name })
        : r.reason === P.refusedDND ? t("{name} is set to do not disturb: only forced calls (care visits) get through now.", { name: c.name })
        : t("{name} did not take the call: {reason}.", { name: c.name, reason: r.reason || t("no reason given") }), false, r.reason || "");
      break;
    case "hangup":
      end(c, "ended", r.reason ? t("{name} ended the call ({reason}).", { name: c.name, reason: r.reason }) : t("{name} ended the call.", { name: c.name }), false, r.reason || "");
      break;
    case "state":
      if (typeof r.camera === "boolean") c.camera = r.camera;
      if (typeof r.mic === "boolean") c.mic = r.mic;
      if (r.ends) c.ends = new Date(r.ends);
      if (Array.isArray(r.participants)) onParticipants(c, r.participants.filter((x) => typeof x === "string"));
      if (r.phase === "ended") {
        end(c, "ended", t("The call with {name} ended.", { name: c.name }) + (r.reason ? ` (${r.reason})` : ""), false, r.reason || "");
      } else if (r.phase) {
        c.phase = r.phase;
        setState(c, r.phase);
      }
      updateControls(c);
      break;
  }
}

function setState(c, state) {
  c.state = state;
  if (c !== cur) return;
  const f = phaseText[state];
  $("call-state").textContent = c.joined && state === "calling" ? t("Joining the call with {name}…", { name: c.name })
    : f ? f(c.name) : state;
  renderGroup(c);
}

function showCall(c) {
  $("call-title").textContent = t("Call with {name}", { name: c.name });
  for (const s of document.querySelectorAll(".view")) s.hidden = true; // one thing at a time
  $("tabs").hidden = true;
  $("account").hidden = true;
  $("call").hidden = false;
  $("carer").hidden = !c.carer;
  setState(c, c.state);
  updateControls(c);
  render();
  $("end").focus();
}

function updateControls(c) {
  const cam = $("camera");
  const mic = $("mic");
  cam.textContent = c.camera === false ? t("Camera on") : t("Camera off");
  cam.setAttribute("aria-pressed", String(c.camera === false));
  mic.textContent = c.mic === false ? t("Mic on") : t("Mic off");
  mic.setAttribute("aria-pressed", String(c.mic === false));
  const notes = [];
  if (c.camera === false) notes.push(t("The screen's camera is off"));
  if (c.mic === false) notes.push(t("the screen's microphone is off"));
  $("call-time").dataset.notes = notes.join(", ");
}

function watchFirstFrame(c) {
  const v = $("remote");
  if (!("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return;
  v.requestVideoFrameCallback(() => {
    if (c.firstFrameMs === null && c.t0) c.firstFrameMs = Math.round(performance.now() - c.t0);
  });
}

// end finishes the call once; sendHangup tells the device.
async function end(c, state, text, sendHangup = false, reason = "") {
  if (c.ended) return;
  c.ended = true;
  c.state = state;
  c.reason = reason || (state === "busy" ? "busy" : "");
  if (sendHangup && c.out) await send(c, "hangup");
  if (c.pc) {
    try {
      c.final = await collect(c);
    } catch {
      // keep the last numbers we have
    }
    c.pc.close();
  }
  if (c.stream) for (const tr of c.stream.getTracks()) tr.stop();
  $("remote").srcObject = null;
  $("local").srcObject = null;
  $("group-status").textContent = "";
  $("participants").hidden = true;
  $("add").hidden = true;
  $("add").open = false;
  last = c;
  if (cur === c) cur = null;
  $("call").hidden = true;
  if (me) {
    $("tabs").hidden = false;
    $("account").hidden = false;
    showView("home");
  }
  notice(text);
  render();
}

async function hangup() {
  const c = cur;
  if (!c) return;
  await end(c, "ended", t("You ended the call with {name}.", { name: c.name }), true, "hung up");
}

async function control(what) {
  const c = cur;
  if (!c || !c.out) throw new Error("not in a call");
  await send(c, "control", what);
}

// tick shows the time left, notices the first decoded frame when
// requestVideoFrameCallback is not there, gives up on a silent device,
// and lets "No screens yet" appear once the allowlists had their time.
let ticking = false;
async function tick() {
  if (pendingJoin) renderJoin(); // an old invitation to join expires
  const c = cur;
  if (!c || ticking) return;
  ticking = true;
  try {
    if (c.state === "calling" && c.lastReply && Date.now() - c.lastReply > replyTimeoutMs) {
      await end(c, "no_answer", t("{name} did not answer.", { name: c.name }), true, "no answer");
      return;
    }
    if (c.pc && c.firstFrameMs === null) await collect(c);
    const el = $("call-time");
    if (c.ends) {
      const left = Math.max(0, Math.round((c.ends - Date.now()) / 60000));
      el.textContent = left === 1 ? t("1 minute left") : t("{n} minutes left", { n: left });
      el.classList.toggle("soon", left <= 5);
    } else {
      el.textContent = "";
    }
    if (el.dataset.notes) el.textContent += (el.textContent ? " · " : "") + el.dataset.notes;
  } finally {
    ticking = false;
  }
}

async function collect(c) {
  const out = {
    framesDecoded: 0, framesReceived: 0, frameWidth: 0, frameHeight: 0,
    audioPacketsReceived: 0, audioSamplesReceived: 0, videoPacketsReceived: 0,
    bytesSent: 0,
  };
  const report = await c.pc.getStats();
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      out.framesDecoded += s.framesDecoded || 0;
      out.framesReceived += s.framesReceived || 0;
      out.videoPacketsReceived += s.packetsReceived || 0;
      out.frameWidth = s.frameWidth || out.frameWidth;
      out.frameHeight = s.frameHeight || out.frameHeight;
    }
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      out.audioPacketsReceived += s.packetsReceived || 0;
      out.audioSamplesReceived += s.totalSamplesReceived || 0;
    }
    if (s.type === "outbound-rtp") out.bytesSent += s.bytesSent || 0;
  });
  if (out.framesDecoded > 0 && c.firstFrameMs === null && c.t0) {
    c.firstFrameMs = Math.round(performance.now() - c.t0);
  }
  return out;
}

// stats describes the call in progress, or the one before.
async function stats() {
  const c = cur || last;
  if (!c) return { state: "idle", pendingJoin: joinView() };
  let media = c.final;
  if (!c.ended && c.pc) media = await collect(c);
  return {
    state: c.state,
    reason: c.reason,
    call: c.id,
    device: c.device,
    mode: c.mode,
    phase: c.phase,
    camera: c.camera,
    mic: c.mic,
    ends: c.ends ? c.ends.toISOString() : null,
    iceConnectionState: c.pc ? c.pc.iceConnectionState : "",
    connectionState: c.pc ? c.pc.connectionState : "",
    iceConnectedMs: c.iceConnectedMs,
    firstFrameMs: c.firstFrameMs,
    joined: c.joined,
    from: c.from,
    participants: [...c.participants],
    asked: [...c.asked],
    pendingJoin: joinView(),
    ...(media || {}),
  };
}

// Group calls (docs/protocol.md, "Group calls"). The host adds a caller
// with the control "add:ID"; the device sends that caller a "join" reply
// naming the host's call; the caller invites with join set to it, with a
// call id of its own. Each participant has its own peer connection to the
// device and sees the device's picture.

// onParticipants takes the caller ids of a state reply and says who came
// and who left.
function onParticipants(c, ids) {
  const before = c.participants;
  c.participants = ids;
  for (const id of ids) {
    if (id !== me.id && !before.includes(id) && before.length > 0) {
      groupStatus(c, t("{name} joined the call.", { name: callerName(c.device, id) }));
    }
    c.asked.delete(id);
  }
  for (const id of before) {
    if (id !== me.id && !ids.includes(id)) groupStatus(c, t("{name} left the call.", { name: callerName(c.device, id) }));
  }
  renderGroup(c);
}

function groupStatus(c, text) {
  if (c === cur) $("group-status").textContent = text;
}

// renderGroup shows who is in the call and, for the host of an active
// call, whom it may add.
function renderGroup(c) {
  if (c !== cur) return;
  const names = c.participants.map((id) => (id === me.id ? t("{name} (you)", { name: myName() }) : callerName(c.device, id)));
  const p = $("participants");
  p.textContent = t("In the call: {names}", { names: names.join(", ") });
  p.hidden = names.length === 0;

  const box = $("add");
  const d = devices.get(c.device);
  const others = d ? d.callers.filter((x) => x.id !== me.id) : [];
  const show = !c.ended && !c.joined && c.state === "active" && others.length > 0;
  box.hidden = !show;
  if (!show) return;
  const full = c.participants.length >= maxParticipants;
  const hint = full ? t("The call is full: up to {n} people can be in it with the screen.", { n: maxParticipants })
    : t("Up to {n} people can be in the call with the screen. They are asked on their own page.", { n: maxParticipants });
  const items = others.map((x) => {
    const inCall = c.participants.includes(x.id);
    const asked = c.asked.has(x.id);
    return { id: x.id, name: x.name, inCall, asked, disabled: inCall || full };
  });
  // Rebuilt only when something changed, so a focused button keeps focus.
  const sig = JSON.stringify([hint, items, lang()]);
  if (box.dataset.sig === sig) return;
  box.dataset.sig = sig;
  $("add-hint").textContent = hint;
  const list = $("add-list");
  const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.dataset.caller : "";
  list.replaceChildren(...items.map((x) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.dataset.caller = x.id;
    b.textContent = x.inCall ? t("{name} (in the call)", { name: x.name }) : x.asked ? t("{name} (asked)", { name: x.name }) : x.name;
    b.setAttribute("aria-label", x.inCall ? t("{name} is in the call", { name: x.name }) : x.asked ? t("Ask {name} again to join", { name: x.name }) : t("Ask {name} to join", { name: x.name }));
    b.disabled = x.disabled;
    b.addEventListener("click", () => add(x.id).catch((e) => groupStatus(cur, e.message)));
    li.appendChild(b);
    return li;
  }));
  if (focused) {
    const b = list.querySelector(`[data-caller="${CSS.escape(focused)}"]`);
    if (b && !b.disabled) b.focus();
  }
}

// add asks the device to let caller id join the call this page started.
async function add(id) {
  const c = cur;
  if (!c || !c.out || c.ended) throw new Error("not in a call");
  if (c.joined) throw new Error(t("Only the person who started the call can add people."));
  if (id === me.id) throw new Error(t("You are in the call already."));
  const d = devices.get(c.device);
  const who = d && d.callers.find((x) => x.id === id);
  if (!who) throw new Error(t("{id} may not call {name}, so cannot join.", { id, name: c.name }));
  if (c.participants.includes(id)) throw new Error(t("{name} is in the call already.", { name: who.name }));
  if (c.participants.length >= maxParticipants) throw new Error(t("The call is full."));
  await send(c, "control", P.controlAdd + id);
  c.asked.add(id);
  groupStatus(c, t("Asked {name} to join", { name: who.name }));
  renderGroup(c);
}

// onJoin: a device says a caller in a call there added us.
function onJoin(deviceId, r) {
  if (r.device !== deviceId || typeof r.call !== "string" || !r.call) return;
  if (cur && cur.device === deviceId && cur.joined === r.call) return; // in it already
  const fresh = !pendingJoin;
  pendingJoin = { device: deviceId, call: r.call, from: typeof r.from === "string" && r.from ? r.from : t("Someone"), at: Date.now() };
  renderJoin();
  if (fresh && !cur) $("join-yes").focus();
}

function dropJoin() {
  pendingJoin = null;
  renderJoin();
}

function joinView() {
  const p = pendingJoin;
  if (!p) return null;
  return { device: p.device, deviceName: name(devices.get(p.device)) || p.device, call: p.call, from: p.from, text: joinText(p) };
}

function joinText(p) {
  return t("{from} asks you to join the call with {name}", { from: p.from, name: name(devices.get(p.device)) || p.device });
}

function renderJoin() {
  const box = $("join");
  const p = pendingJoin;
  if (p && Date.now() - p.at > joinPromptMs) pendingJoin = null;
  if (!pendingJoin) {
    box.hidden = true;
    return;
  }
  $("join-text").textContent = joinText(p);
  $("join-hint").textContent = cur ? t("End your call first to join this one.") : t("Join to see and hear the screen with them.");
  $("join-yes").disabled = !!cur;
  $("join-yes").setAttribute("aria-label", t("Join the call with {name}", { name: name(devices.get(p.device)) || p.device }));
  box.hidden = false;
}

// acceptJoin places our own call into the call we were asked to join:
// the same as call(), with join set.
async function acceptJoin() {
  await ready;
  const p = pendingJoin;
  if (!p) throw new Error(t("Nobody has asked you to join a call."));
  if (cur) throw new Error(t("You are already in a call."));
  dropJoin();
  return placeCall(p.device, { join: p.call, from: p.from });
}
