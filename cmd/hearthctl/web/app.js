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
  asleep: "Asleep",
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

let cfg = null;
let key = null;
let client = null;
let connected = false;
const devices = new Map(); // id -> {id, modes, availability, state}
const cards = new Map(); // id -> <li>
let cur = null; // the call in progress
let last = null; // the call before, for stats() after it ended

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
    if (msg) onReply(msg);
    return;
  }
  const d = devices.get(id) || { id, modes: [], availability: null, state: null };
  devices.set(id, d);
  switch (parts[4]) {
    case "allowlist": {
      const me = msg && Array.isArray(msg.callers) ? msg.callers.find((c) => c.id === cfg.id) : null;
      d.modes = me && Array.isArray(me.modes) ? me.modes : [];
      break;
    }
    case "availability":
      d.availability = msg;
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
    label: online ? answerText[answer] || "Not known yet" : "Offline",
  };
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
  const d = devices.get(deviceId) || { id: deviceId, modes: [] };
  const mode = opts.mode || (opts.forced ? "forced" : d.modes.length ? defaultMode(d) : "signalled");
  const c = {
    id: P.randomID(), device: deviceId, name: name(d) || deviceId, mode,
    carer: d.modes.includes("forced"),
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
      reason: opts.reason || "", limitS: opts.limitS || 0, offer: pc.localDescription.sdp,
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
      end(c, "busy", `${c.name} is in another call. Please try again later.`);
      break;
    case "refused":
      end(c, "refused", `${c.name} did not take the call: ${r.reason || "no reason given"}.`, false, r.reason || "");
      break;
    case "hangup":
      end(c, "ended", `${c.name} ended the call${r.reason ? ` (${r.reason})` : ""}.`, false, r.reason || "");
      break;
    case "state":
      if (typeof r.camera === "boolean") c.camera = r.camera;
      if (typeof r.mic === "boolean") c.mic = r.mic;
      if (r.ends) c.ends = new Date(r.ends);
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
  $("call-state").textContent = f ? f(c.name) : state;
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
  if (!c) return { state: "idle" };
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
    ...(media || {}),
  };
}
