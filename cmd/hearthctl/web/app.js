// The Hearth web caller: lists the screens this caller may call, places
// signed calls over MQTT (WebSockets) and shows the call. The browser
// offers, the device answers, ICE is trickled both ways (docs/web-caller.md).
//
// window.hearth is the same in code, for tests (cmd/hearthd/browser_test.go).

import * as P from "./protocol.js";

const $ = (id) => document.getElementById(id);

const answerText = {
  auto: "Answers by itself",
  rings: "Will ring first",
  asleep: "Asleep: only forced calls",
  busy: "Busy",
  none: "Cannot take calls now",
};

const phaseText = {
  calling: (n) => `Calling ${n}…`,
  announcing: (n) => `${n} is showing your name…`,
  ringing: (n) => `${n} is ringing…`,
  connecting: (n) => `Connecting to ${n}…`,
  active: (n) => `In a call with ${n}`,
};

// How long to wait for any reply from the device before giving up.
const replyTimeoutMs = 30000;

// Remote people in one call (proto.MaxParticipants); the resident is the
// fourth.
const maxParticipants = 3;

// How long an invitation to join stays on screen if nothing else removes
// it (the call ending shows in the device's availability first).
const joinPromptMs = 10 * 60 * 1000;

let cfg = null;
let key = null;
let client = null;
let connected = false;
const devices = new Map(); // id -> {id, modes, callers, availability, state}
const cards = new Map(); // id -> <li>
let cur = null; // the call in progress
let last = null; // the call before, for stats() after it ended
let pendingJoin = null; // {device, call, from, at}: someone asked us to join

let readyResolve, readyReject;
const ready = new Promise((res, rej) => { readyResolve = res; readyReject = rej; });

window.hearth = {
  ready,
  config: () => cfg && { id: cfg.id, name: cfg.name, ws: cfg.ws },
  connected: () => connected,
  devices: () => [...devices.values()].filter((d) => d.modes.length > 0).map(view),
  call: (device, opts = {}) => placeCall(device, opts),
  hangup: () => hangup(),
  control: (what) => control(what),
  extend: () => control("extend"),
  stats: () => stats(),
  add: (callerId) => add(callerId),
  join: () => acceptJoin(),
  pendingJoin: () => joinView(),
};

start().catch((err) => {
  $("me").textContent = "This page could not start.";
  setLink(`Error: ${err.message}`);
  readyReject(err);
});

async function start() {
  const res = await fetch("config.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`config.json: ${res.status}`);
  cfg = await res.json();
  try {
    key = await P.importKey(cfg.key);
  } catch (err) {
    throw new Error(`this browser cannot sign calls (WebCrypto Ed25519): ${err.message}`);
  }
  $("me").textContent = `Calling as ${cfg.name}`;
  document.title = `Hearth – ${cfg.name}`;
  render();

  client = mqtt.connect(cfg.ws, {
    clientId: `hearth-web-${cfg.id}-${P.randomID("").slice(0, 8)}`,
    clean: true,
    reconnectPeriod: 2000,
    connectTimeout: 10000,
  });
  client.on("connect", () => {
    client.subscribe([P.allowlistFilter, P.availabilityFilter, P.stateFilter, P.callOutFilter(cfg.id)], { qos: 1 }, (err) => {
      if (err) {
        setLink(`Cannot listen for screens: ${err.message}`);
        return;
      }
      connected = true;
      setLink("Connected");
      readyResolve();
    });
  });
  client.on("reconnect", () => setLink("Connecting to the Hearth service…"));
  client.on("offline", () => { connected = false; setLink("Cannot reach the Hearth service. Trying again…"); });
  client.on("error", (err) => setLink(`Connection problem: ${err.message}`));
  client.on("message", onMessage);
  setInterval(tick, 250);
}

function setLink(text) {
  $("link").textContent = text;
}

function onMessage(topic, payload) {
  const parts = topic.split("/");
  const id = parts[3];
  let msg = null;
  if (payload.length > 0) {
    try {
      msg = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return;
    }
  }
  if (parts[4] === "call" && parts[5] === "out") {
    if (msg && msg.type === "join") onJoin(id, msg);
    else if (msg) onReply(msg);
    return;
  }
  const d = devices.get(id) || { id, modes: [], callers: [], availability: null, state: null };
  devices.set(id, d);
  switch (parts[4]) {
    case "allowlist": {
      const callers = msg && Array.isArray(msg.callers) ? msg.callers.filter((c) => c && typeof c.id === "string") : [];
      const me = callers.find((c) => c.id === cfg.id);
      d.modes = me && Array.isArray(me.modes) ? me.modes : [];
      // Everyone the screen takes calls from: whom a host may add, and
      // names for the ids in a call's participants.
      d.callers = callers.map((c) => ({ id: c.id, name: c.name || c.id }));
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
      d.state = msg ? msg.state : null;
      break;
    default:
      return;
  }
  render();
}

// defaultMode is what the plain Call button places: a ringing call when the
// caller may place one.
function defaultMode(d) {
  return d.modes.includes("signalled") ? "signalled" : "forced";
}

function view(d) {
  const answers = (d.availability && d.availability.answer) || {};
  const online = d.state === "ready";
  const answer = online ? answers[defaultMode(d)] || "unknown" : "offline";
  return {
    id: d.id,
    name: name(d),
    online,
    state: d.state || "unknown",
    modes: [...d.modes],
    answer,
    answers: { ...answers },
    label: online ? answerLabel(answer, d.availability) : "Offline",
    dndUntil: (d.availability && d.availability.dnd_until) || null,
  };
}

// answerLabel says what this caller will meet, and until when the screen
// keeps do-not-disturb: "Do not disturb until 14:30 — only forced calls".
function answerLabel(answer, av) {
  const text = answerText[answer] || "Not known yet";
  const until = av && av.dnd_until ? new Date(av.dnd_until) : null;
  if (!until || Number.isNaN(until.getTime())) return text;
  if (answer === "asleep") return `Do not disturb until ${clockText(until)} — only forced calls`;
  return `${text} · do not disturb until ${clockText(until)}`;
}

// clockText is a time as "14:30", or "Tue 14:30" when it is not today.
function clockText(t) {
  const hm = t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  if (t.toDateString() === new Date().toDateString()) return hm;
  return `${t.toLocaleDateString([], { weekday: "short" })} ${hm}`;
}

function name(d) {
  return (d && d.availability && d.availability.name) || (d && d.id) || "";
}

function render() {
  const list = $("devices");
  const shown = [...devices.values()].filter((d) => d.modes.length > 0)
    .sort((a, b) => name(a).localeCompare(name(b)));
  $("none").hidden = shown.length > 0 || !cfg;
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
      cards.set(d.id, li);
    }
    list.appendChild(li); // keeps the order sorted
    const v = view(d);
    li.querySelector(".name").textContent = v.name;
    const on = li.querySelector(".online");
    on.textContent = v.online ? "Online" : "Offline";
    on.className = `online ${v.online ? "yes" : "no"}`;
    const ans = li.querySelector(".answer");
    ans.textContent = v.online ? v.label : "Calls cannot reach it now";
    ans.className = `answer ${v.answer}`;
    const mayForce = d.modes.includes("forced");
    const maySignal = d.modes.includes("signalled");
    const inCall = cur !== null;
    const callBtn = li.querySelector(".call");
    callBtn.hidden = !maySignal;
    callBtn.disabled = inCall || !v.online || ["busy", "none", "asleep"].includes(v.answer);
    callBtn.setAttribute("aria-label", `Call ${v.name}`);
    const forced = li.querySelector(".forced");
    forced.hidden = !mayForce;
    if (mayForce && !maySignal) forced.open = true;
    const fa = v.answers.forced;
    li.querySelector(".call-forced").disabled = inCall || !v.online || fa === "busy" || fa === "none";
  }
  renderJoin();
  if (cur) renderGroup(cur);
}

async function uiCall(id, forced, li) {
  const reason = li.querySelector(".reason").value.trim();
  const limitS = Number(li.querySelector(".limit").value) || 0;
  if (forced && !reason) {
    notice("Please write the reason for the care visit: the screen shows it.");
    li.querySelector(".reason").focus();
    return;
  }
  try {
    await placeCall(id, { forced, reason, limitS });
  } catch (err) {
    if (!err.shown) notice(err.message);
  }
}

function notice(text) {
  const n = $("notice");
  n.textContent = text;
  n.hidden = !text;
}

// placeCall opens camera and microphone, offers, and publishes the signed
// invite. It resolves once the invite is on its way; the call's progress
// shows in stats().state.
async function placeCall(deviceId, opts = {}) {
  await ready;
  if (cur) throw new Error("You are already in a call.");
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
    for (const t of c.stream.getTracks()) pc.addTrack(t, c.stream);
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
      if (pc.connectionState === "failed") end(c, "failed", "The connection failed.");
      if (pc.connectionState === "connected" && !c.phase) setState(c, "active");
      if (pc.connectionState === "disconnected") $("call-state").textContent = "The connection is interrupted. Waiting…";
    };
    watchFirstFrame(c);
    await pc.setLocalDescription(await pc.createOffer());
    const inv = await P.makeInvite(key, {
      call: c.id, device: deviceId, caller: cfg.id, callerName: cfg.name, mode,
      reason: opts.reason || "", join: c.joined, limitS: opts.limitS || 0, offer: pc.localDescription.sdp,
    });
    c.t0 = performance.now();
    c.lastReply = Date.now();
    await publish(P.callInTopic(deviceId), inv);
    release();
  } catch (err) {
    await end(c, "failed", `The call could not start: ${err.message}`);
    err.shown = true;
    throw err;
  }
  return { call: c.id, device: deviceId, mode };
}

// send queues a signed signal behind the invite and earlier signals, so the
// device gets them in order.
function send(c, type, data = "") {
  c.out = c.out.then(async () => {
    const s = await P.makeSignal(key, { type, call: c.id, device: c.device, caller: cfg.id, data });
    await publish(P.callInTopic(c.device), s);
  }).catch((err) => console.warn(`hearth: ${type}: ${err.message}`));
  return c.out;
}

function publish(topic, msg) {
  return new Promise((resolve, reject) => {
    client.publish(topic, JSON.stringify(msg), { qos: 1 }, (err) => (err ? reject(err) : resolve()));
  });
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
        end(c, "failed", `The screen's answer did not work: ${err.message}`, true);
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
      end(c, "busy", c.joined ? `The call with ${c.name} is full: three people are in it already.`
        : `${c.name} is in another call. Please try again later.`);
      break;
    case "refused":
      end(c, "refused", c.joined && r.reason === "no such call" ? `The call with ${c.name} has ended already.`
        : r.reason === P.refusedDND ? `${c.name} is set to do not disturb: only forced calls (care visits) get through now.`
        : `${c.name} did not take the call: ${r.reason || "no reason given"}.`, false, r.reason || "");
      break;
    case "hangup":
      end(c, "ended", `${c.name} ended the call${r.reason ? ` (${r.reason})` : ""}.`, false, r.reason || "");
      break;
    case "state":
      if (typeof r.camera === "boolean") c.camera = r.camera;
      if (typeof r.mic === "boolean") c.mic = r.mic;
      if (r.ends) c.ends = new Date(r.ends);
      if (Array.isArray(r.participants)) onParticipants(c, r.participants.filter((x) => typeof x === "string"));
      if (r.phase === "ended") {
        end(c, "ended", `The call with ${c.name} ended${r.reason ? ` (${r.reason})` : ""}.`, false, r.reason || "");
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
  $("call-state").textContent = c.joined && state === "calling" ? `Joining the call with ${c.name}…`
    : f ? f(c.name) : state;
  renderGroup(c);
}

function showCall(c) {
  $("call-title").textContent = `Call with ${c.name}`;
  $("home").hidden = true; // one thing at a time
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
  cam.textContent = c.camera === false ? "Camera on" : "Camera off";
  cam.setAttribute("aria-pressed", String(c.camera === false));
  mic.textContent = c.mic === false ? "Mic on" : "Mic off";
  mic.setAttribute("aria-pressed", String(c.mic === false));
  const notes = [];
  if (c.camera === false) notes.push("The screen's camera is off");
  if (c.mic === false) notes.push("the screen's microphone is off");
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
  if (c.stream) for (const t of c.stream.getTracks()) t.stop();
  $("remote").srcObject = null;
  $("local").srcObject = null;
  $("group-status").textContent = "";
  $("participants").hidden = true;
  $("add").hidden = true;
  $("add").open = false;
  last = c;
  if (cur === c) cur = null;
  $("call").hidden = true;
  $("home").hidden = false;
  notice(text);
  render();
}

async function hangup() {
  const c = cur;
  if (!c) return;
  await end(c, "ended", `You ended the call with ${c.name}.`, true, "hung up");
}

async function control(what) {
  const c = cur;
  if (!c || !c.out) throw new Error("not in a call");
  await send(c, "control", what);
}

$("end").addEventListener("click", () => hangup());
$("extend").addEventListener("click", () => control("extend").catch((e) => notice(e.message)));
$("camera").addEventListener("click", () => {
  if (cur) control(cur.camera === false ? "camera_on" : "camera_off");
});
$("mic").addEventListener("click", () => {
  if (cur) control(cur.mic === false ? "mic_on" : "mic_off");
});

// tick shows the time left, notices the first decoded frame when
// requestVideoFrameCallback is not there, and gives up on a silent device.
let ticking = false;
async function tick() {
  if (pendingJoin) renderJoin(); // an old invitation to join expires
  const c = cur;
  if (!c || ticking) return;
  ticking = true;
  try {
    if (c.state === "calling" && c.lastReply && Date.now() - c.lastReply > replyTimeoutMs) {
      await end(c, "no_answer", `${c.name} did not answer.`, true, "no answer");
      return;
    }
    if (c.pc && c.firstFrameMs === null) await collect(c);
    const t = $("call-time");
    if (c.ends) {
      const left = Math.max(0, Math.round((c.ends - Date.now()) / 60000));
      t.textContent = `${left} minute${left === 1 ? "" : "s"} left`;
      t.classList.toggle("soon", left <= 5);
    } else {
      t.textContent = "";
    }
    if (t.dataset.notes) t.textContent += (t.textContent ? " · " : "") + t.dataset.notes;
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

// callerName is what a device's allowlist calls caller id.
function callerName(deviceId, id) {
  if (id === cfg.id) return cfg.name;
  const d = devices.get(deviceId);
  const who = d && d.callers.find((x) => x.id === id);
  return (who && who.name) || id;
}

// onParticipants takes the caller ids of a state reply and says who came
// and who left.
function onParticipants(c, ids) {
  const before = c.participants;
  c.participants = ids;
  for (const id of ids) {
    if (id !== cfg.id && !before.includes(id) && before.length > 0) {
      groupStatus(c, `${callerName(c.device, id)} joined the call.`);
    }
    c.asked.delete(id);
  }
  for (const id of before) {
    if (id !== cfg.id && !ids.includes(id)) groupStatus(c, `${callerName(c.device, id)} left the call.`);
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
  const names = c.participants.map((id) => (id === cfg.id ? `${cfg.name} (you)` : callerName(c.device, id)));
  const p = $("participants");
  p.textContent = `In the call: ${names.join(", ")}`;
  p.hidden = names.length === 0;

  const box = $("add");
  const d = devices.get(c.device);
  const others = d ? d.callers.filter((x) => x.id !== cfg.id) : [];
  const show = !c.ended && !c.joined && c.state === "active" && others.length > 0;
  box.hidden = !show;
  if (!show) return;
  const full = c.participants.length >= maxParticipants;
  const hint = full ? `The call is full: up to ${maxParticipants} people can be in it with the screen.`
    : `Up to ${maxParticipants} people can be in the call with the screen. They are asked on their own page.`;
  const items = others.map((x) => {
    const inCall = c.participants.includes(x.id);
    const asked = c.asked.has(x.id);
    return { id: x.id, name: x.name, inCall, asked, disabled: inCall || full };
  });
  // Rebuilt only when something changed, so a focused button keeps focus.
  const sig = JSON.stringify([hint, items]);
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
    b.textContent = x.inCall ? `${x.name} (in the call)` : x.asked ? `${x.name} (asked)` : x.name;
    b.setAttribute("aria-label", x.inCall ? `${x.name} is in the call` : x.asked ? `Ask ${x.name} again to join` : `Ask ${x.name} to join`);
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
  if (c.joined) throw new Error("Only the person who started the call can add people.");
  if (id === cfg.id) throw new Error("You are in the call already.");
  const d = devices.get(c.device);
  const who = d && d.callers.find((x) => x.id === id);
  if (!who) throw new Error(`${id} may not call ${c.name}, so cannot join.`);
  if (c.participants.includes(id)) throw new Error(`${who.name} is in the call already.`);
  if (c.participants.length >= maxParticipants) throw new Error("The call is full.");
  await send(c, "control", P.controlAdd + id);
  c.asked.add(id);
  groupStatus(c, `Asked ${who.name} to join`);
  renderGroup(c);
}

// onJoin: a device says a caller in a call there added us.
function onJoin(deviceId, r) {
  if (r.device !== deviceId || typeof r.call !== "string" || !r.call) return;
  if (cur && cur.device === deviceId && cur.joined === r.call) return; // in it already
  const fresh = !pendingJoin;
  pendingJoin = { device: deviceId, call: r.call, from: typeof r.from === "string" && r.from ? r.from : "Someone", at: Date.now() };
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
  return `${p.from} asks you to join the call with ${name(devices.get(p.device)) || p.device}`;
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
  $("join-hint").textContent = cur ? "End your call first to join this one." : "Join to see and hear the screen with them.";
  $("join-yes").disabled = !!cur;
  $("join-yes").setAttribute("aria-label", `Join the call with ${name(devices.get(p.device)) || p.device}`);
  box.hidden = false;
}

// acceptJoin places our own call into the call we were asked to join:
// the same as call(), with join set.
async function acceptJoin() {
  await ready;
  const p = pendingJoin;
  if (!p) throw new Error("Nobody has asked you to join a call.");
  if (cur) throw new Error("You are already in a call.");
  dropJoin();
  return placeCall(p.device, { join: p.call, from: p.from });
}

$("join-yes").addEventListener("click", () => acceptJoin().catch((err) => { if (!err.shown) notice(err.message); }));
$("join-no").addEventListener("click", () => dropJoin());
