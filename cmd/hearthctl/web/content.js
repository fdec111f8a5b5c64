// What families and carers put on a screen: send a photo or a message to
// one or several screens (signed items, docs/protocol.md "Content items"),
// see what a screen shows on a day and change or remove one's own items,
// book calls (signed bookings, "Booking"), and read a screen's activity in
// words. app.js owns the connection and the screens; this file gets them
// through core.

const maxSide = 1920; // a photo's longest side after scaling in the browser
const dayMs = 86400000;

// button makes a <button> of class cls saying text; type "button" unless
// it submits its form.
function button(cls, text, type = "button") {
  const b = document.createElement("button");
  b.type = type;
  b.className = cls;
  b.textContent = text;
  return b;
}

// buttonRow puts buttons side by side (class "buttons").
function buttonRow(...buttons) {
  const row = document.createElement("div");
  row.className = "buttons";
  row.append(...buttons);
  return row;
}

export function initContent(core) {
  const { $, P, T, t } = core;
  const sent = new Map(); // "device/id" -> {device, id, rev, kind, text, start, end}
  const booked = new Map(); // "device/id" -> {device, id, rev, at, lengthS, reason, cancel}
  const sel = { shows: "", book: "", activity: "", send: new Set(), sendTouched: false };
  let photo = null; // {bytes, width, height, url, size, name}
  let photoBusy = null; // the promise of the photo being prepared
  let lastSendResult = []; // [{device, id}] of the last Send

  const L = () => core.lang();
  const may = (d, m) => d.modes.includes(m) || (m === "send" && d.modes.includes("admin")) || (m === "book" && d.modes.includes("forced"));
  const dev = (id) => core.devices.get(id);
  const senders = () => core.reachable().filter((d) => may(d, "send"));
  const bookers = () => core.reachable().filter((d) => may(d, "book"));

  // ---- Photos: scaled in the browser, EXIF orientation applied ----

  async function preparePhoto(blob, name = "") {
    let bmp;
    try {
      bmp = await createImageBitmap(blob, { imageOrientation: "from-image" });
    } catch {
      throw new Error(t("This file is not a photo this browser can open. Choose a JPEG, PNG or WebP photo."));
    }
    let side = maxSide;
    for (;;) {
      const scale = Math.min(1, side / Math.max(bmp.width, bmp.height));
      const w = Math.max(1, Math.round(bmp.width * scale));
      const h = Math.max(1, Math.round(bmp.height * scale));
      const canvas = document.createElement("canvas");
      canvas.width = w;
      canvas.height = h;
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff"; // a transparent PNG on white, as JPEG has no alpha
      ctx.fillRect(0, 0, w, h);
      ctx.drawImage(bmp, 0, 0, w, h);
      for (const q of [0.9, 0.82, 0.72, 0.6]) {
        const out = await new Promise((r) => canvas.toBlob(r, "image/jpeg", q));
        if (out && out.size <= P.maxInlinePhoto) {
          bmp.close();
          const bytes = new Uint8Array(await out.arrayBuffer());
          return { bytes, width: w, height: h, size: bytes.length, url: URL.createObjectURL(out), name };
        }
      }
      side = Math.round(side * 0.75);
      if (side < 320) {
        bmp.close();
        throw new Error(t("This photo cannot be made small enough to send."));
      }
    }
  }

  async function takeFile(input) {
    const f = input.files && input.files[0];
    if (!f) return;
    $("send-photo-info").textContent = t("Preparing the photo…");
    photoBusy = preparePhoto(f, f.name);
    try {
      const p = await photoBusy;
      if (photo) URL.revokeObjectURL(photo.url);
      photo = p;
      $("send-photo-info").textContent = t("{name}: {w} × {h} pixels, {kb} KB to send", { name: f.name, w: p.width, h: p.height, kb: Math.round(p.size / 1024) });
    } catch (err) {
      photo = null;
      $("send-photo-info").textContent = err.message;
    } finally {
      photoBusy = null;
      renderPreview();
    }
  }

  // ---- Sending ----

  // windowOf works out when an item is shown on screen d: from now or from
  // a wall time on the screen's clock, for days or until a wall time.
  function windowOf(d, f, now) {
    const w = core.where(d);
    const start = f.later ? T.fromWall(f.start, w) : now;
    if (!start || Number.isNaN(start.getTime())) throw new Error(t("Choose the day and time it is shown from."));
    let end;
    if (f.forDays) {
      const n = Number(f.days);
      if (!Number.isInteger(n) || n < 1 || n > 3660) throw new Error(t("Choose a number of days from 1 to 3660."));
      end = new Date(start.getTime() + n * dayMs);
    } else {
      end = T.fromWall(f.until, w);
      if (!end) throw new Error(t("Choose the day and time it is shown until."));
    }
    if (end <= start) throw new Error(t("It must end after it starts."));
    if (end <= now) throw new Error(t("That time is over already."));
    return { start, end };
  }

  function formValues() {
    return {
      kind: $("send-kind-message").checked ? "message" : "photo",
      text: $("send-text").value,
      later: $("send-later").checked,
      start: $("send-start").value,
      forDays: $("send-for-days").checked,
      days: $("send-days").value,
      until: $("send-until").value,
      devices: [...sel.send].filter((id) => senders().some((d) => d.id === id)),
    };
  }

  // publishItems signs one item per screen and publishes it retained.
  async function publishItems({ kind, text, devices, windows, ph }) {
    const me = core.me();
    const signer = core.signer();
    if (!me || !signer) throw new Error(t("Not logged in."));
    text = (text || "").trim();
    if (kind === "message" && !text) throw new Error(t("Write the message."));
    if (kind === "photo" && !ph) throw new Error(t("Choose a photo first."));
    if (text.length > P.maxText) throw new Error(t("The text is too long (at most {n} characters).", { n: P.maxText }));
    if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text)) throw new Error(t("The text has characters the screen cannot show."));
    if (devices.length === 0) throw new Error(t("Choose at least one screen."));
    for (const id of devices) {
      const d = dev(id);
      if (!d || !may(d, "send")) throw new Error(t("You may not send to {name}.", { name: core.name(d) || id }));
    }
    const out = [];
    const created = new Date();
    for (const [i, id] of devices.entries()) {
      try {
        if (!core.connected()) throw core.notConnected();
        const { start, end } = windows.get(id);
        const signed = await P.makeItem(signer.key, {
          id: P.randomID(kind === "photo" ? "p-" : "m-"), device: id, rev: 1, sender: me.id, kind, text,
          from: core.myName().slice(0, P.maxFrom), start, end, created, photo: ph ? { data: ph.bytes } : null,
        });
        core.watchActivity(id);
        await publishSigned(signed);
        sent.set(`${id}/${signed.id}`, { device: id, id: signed.id, rev: 1, kind, text, start, end });
        out.push({ device: id, id: signed.id, rev: 1 });
      } catch (err) {
        // Not connected: the lines say so for this screen and the rest,
        // next to those it did reach.
        if (err.notConnected) {
          lastSendResult = [...out, ...devices.slice(i).map((device) => ({ device, id: "", notSent: true, kind, text }))];
          renderSendResult();
        }
        throw err;
      }
    }
    return out;
  }

  async function publishSigned(item) {
    await core.publish(P.contentTopic(item.device, item.id), item, { retain: true });
  }

  async function uiSend(e) {
    e.preventDefault();
    const err = $("send-error");
    err.textContent = "";
    // Said at once, without waiting for a photo being prepared.
    if (!core.connected()) {
      notSent();
      return;
    }
    const btn = $("send-submit");
    btn.disabled = true;
    try {
      if (photoBusy) await photoBusy;
      const f = formValues();
      const now = new Date();
      const windows = new Map();
      for (const id of f.devices) windows.set(id, windowOf(dev(id), f, now));
      const res = await publishItems({ kind: f.kind, text: f.text, devices: f.devices, windows, ph: f.kind === "photo" ? photo : null });
      lastSendResult = res;
      $("send-text").value = "";
      if (photo) URL.revokeObjectURL(photo.url);
      photo = null;
      $("send-photo-info").textContent = "";
      $("send-file").value = "";
      $("send-camera").value = "";
      renderPreview();
      renderSendResult();
    } catch (x) {
      // Not connected: #send-result says it (publishItems).
      if (!x.notConnected) err.textContent = x.message;
    } finally {
      btn.disabled = false;
    }
  }

  // notSent says, under the form, that nothing went to the chosen screens
  // because the page is not connected.
  function notSent() {
    const f = formValues();
    const devices = f.devices.length ? f.devices : [""];
    lastSendResult = devices.map((device) => ({ device, id: "", notSent: true, kind: f.kind, text: f.text.trim() }));
    renderSendResult();
  }

  // hook: hearth.send({kind, text, devices, start?, days?, until?, photo?})
  async function hookSend(o = {}) {
    const kind = o.kind === "message" ? "message" : "photo";
    if (!core.connected()) {
      lastSendResult = (o.devices && o.devices.length ? o.devices : [""]).map((device) => ({ device, id: "", notSent: true, kind, text: String(o.text || "").trim() }));
      renderSendResult();
      throw core.notConnected();
    }
    let ph = null;
    if (kind === "photo") {
      let blob = o.photo;
      if (typeof blob === "string") blob = new Blob([P.unbase64(blob)], { type: "image/jpeg" });
      if (!(blob instanceof Blob)) throw new Error("hearth.send: photo must be a Blob, a File or base64 JPEG");
      ph = await preparePhoto(blob);
    }
    const now = new Date();
    const start = o.start ? new Date(o.start) : now;
    const windows = new Map();
    for (const id of o.devices || []) {
      let end;
      if (o.until) end = new Date(o.until);
      else end = new Date(start.getTime() + (o.days || 7) * dayMs);
      if (!(end > start) || end <= now) throw new Error(t("It must end after it starts."));
      windows.set(id, { start, end });
    }
    const res = await publishItems({ kind, text: o.text, devices: o.devices || [], windows, ph });
    lastSendResult = res;
    renderSendResult();
    return res;
  }

  // ---- Following what the screen made of it ----

  const refusalWords = [
    [/^unsigned item/, () => t("the screen takes only signed items")],
    [/unknown sender$/, () => t("the screen does not know you: ask your organisation to add you")],
    [/bad signature$/, () => t("the signature does not match the key the organisation has for you")],
    [/not allowed to send$/, () => t("you may not send to this screen")],
    [/no allowlist$/, () => t("the screen is not set up yet")],
    [/item belongs to (.+)$/, (m) => t("it belongs to {who}", { who: m[1] })],
    [/stale revision/, () => t("a newer version is on the screen already")],
    [/expired$/, () => t("its time was already over")],
    [/truncated/, () => t("the photo arrived damaged")],
    [/booked by another caller$/, () => t("another carer booked it")],
    [/only carers may book$/, () => t("only carers may book calls")],
  ];

  function refusalText(reason) {
    const r = String(reason || "");
    for (const [re, f] of refusalWords) {
      const m = re.exec(r);
      if (m) return f(m);
    }
    return r;
  }

  function itemState(d, id, rev) {
    const inv = d && d.inventory;
    const it = inv && Array.isArray(inv.items) ? inv.items.find((x) => x.id === id) : null;
    if (it && it.rev >= rev) return { state: it.state, reason: it.reason || "", item: it };
    const refused = inv && Array.isArray(inv.refused) ? inv.refused.slice().reverse().find((r) => r.id === id && (!r.rev || r.rev === rev)) : null;
    if (refused) return { state: "refused", reason: refused.reason };
    for (const ev of d ? d.activity.values() : []) {
      if (ev.type === "input_refused" && ev.item === id) return { state: "refused", reason: ev.reason || "" };
    }
    return { state: "sending", reason: "" };
  }

  function sendStatus(device, id) {
    const s = sent.get(`${device}/${id}`);
    const d = dev(device);
    if (!s) return { state: "unknown", text: "" };
    const st = itemState(d, id, s.rev);
    const name = core.name(d) || device;
    const w = core.where(d);
    let text;
    switch (st.state) {
      case "ready":
      case "pending": {
        const start = st.item && st.item.start ? new Date(st.item.start) : s.start;
        const end = st.item && st.item.end ? new Date(st.item.end) : s.end;
        const prep = st.state === "pending" ? ` ${t("(the screen is still preparing the photo)")}` : "";
        text = start > new Date() ? t("On {name} from {when}", { name, when: T.when(start, w, L()) })
          : t("On {name} now, until {when}", { name, when: T.when(end, w, L()) });
        text += prep;
        break;
      }
      case "refused":
        text = t("{name} refused it: {reason}", { name, reason: refusalText(st.reason) });
        break;
      case "deleted":
        text = t("Removed from {name}", { name });
        break;
      default: {
        const online = d && core.devices.get(device) && (d.stateMsg && (d.stateMsg.state === "ready" || d.stateMsg.state === "alert"));
        text = online ? t("Sent. Waiting for {name} to confirm…", { name })
          : t("Sent. {name} is offline: it gets it when it is back.", { name });
      }
    }
    return { state: st.state, text, reason: st.reason };
  }

  function renderSendResult() {
    const ul = $("send-result");
    const rows = lastSendResult.map((r) => ({
      ...r,
      s: !r.notSent ? sendStatus(r.device, r.id) : {
        state: "not-sent",
        text: lastSendResult.length > 1 ? t("Not sent to {name}: not connected to the Hearth service", { name: core.name(dev(r.device)) || r.device })
          : t("Not sent: not connected to the Hearth service"),
      },
    }));
    const sig = JSON.stringify(rows.map((r) => [r.device, r.id, r.s.text]));
    if (ul.dataset.sig === sig) return;
    ul.dataset.sig = sig;
    ul.replaceChildren(...rows.map((r) => {
      const li = document.createElement("li");
      if (r.device) li.dataset.device = r.device;
      if (r.id) li.dataset.item = r.id;
      li.dataset.state = r.s.state;
      li.className = `result ${r.s.state}`;
      li.textContent = r.s.text;
      return li;
    }));
    // Which of the things sent the lines are about, once another is being
    // written: "Photo 'Ella's bike':".
    const first = !rows.length ? null : rows[0].notSent ? rows[0] : sent.get(`${rows[0].device}/${rows[0].id}`);
    const text = first && first.text ? (first.text.length > 40 ? `${first.text.slice(0, 40).trim()}...` : first.text) : "";
    $("send-result-what").textContent = first ? `${first.kind === "photo" ? t("Photo") : t("Message")}${text ? ` '${text}'` : ""}:` : "";
  }

  // ---- The send form: screens, window, preview ----

  function renderSendForm() {
    const list = $("send-screens-list");
    const ds = senders();
    if (!sel.sendTouched && ds.length === 1) sel.send = new Set([ds[0].id]);
    const sig = JSON.stringify([ds.map((d) => [d.id, core.name(d)]), [...sel.send], L()]);
    if (list.dataset.sig !== sig) {
      list.dataset.sig = sig;
      const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.value : "";
      list.replaceChildren(...ds.map((d) => {
        const lab = document.createElement("label");
        lab.className = "opt";
        const cb = document.createElement("input");
        cb.type = "checkbox";
        cb.name = "screen";
        cb.value = d.id;
        cb.checked = sel.send.has(d.id);
        cb.addEventListener("change", () => {
          sel.sendTouched = true;
          if (cb.checked) sel.send.add(d.id);
          else sel.send.delete(d.id);
          renderSendForm();
          renderPreview();
        });
        lab.append(cb, ` ${core.name(d)}`);
        return lab;
      }));
      if (ds.length === 0) {
        const p = document.createElement("p");
        p.className = "hint";
        p.textContent = core.connected() ? t("You may not send to any screen yet.") : t("Your screens show here once connected.");
        list.append(p);
      }
      if (focused) {
        const cb = list.querySelector(`input[value="${CSS.escape(focused)}"]`);
        if (cb) cb.focus();
      }
    }
    const photoKind = !$("send-kind-message").checked;
    $("send-photo-box").hidden = !photoKind;
    $("send-text-label").textContent = photoKind ? t("Caption (optional)") : t("Your message");
    $("send-start").disabled = !$("send-later").checked;
    $("send-days").disabled = !$("send-for-days").checked;
    $("send-until").disabled = !$("send-for-until").checked;
    // Default times: the first chosen screen's clock, next full hour.
    const first = dev([...sel.send][0]) || ds[0];
    const w = core.where(first);
    const nextHour = new Date(Math.ceil(Date.now() / 3600000) * 3600000);
    if (!$("send-start").value) $("send-start").value = T.wallValue(nextHour, w);
    if (!$("send-until").value) $("send-until").value = T.wallValue(new Date(nextHour.getTime() + 7 * dayMs), w);
    // When it is shown, in words and in the screens' time.
    const f = formValues();
    let text = "";
    try {
      const parts = [];
      for (const id of f.devices.length ? f.devices : []) {
        const d = dev(id);
        const { start, end } = windowOf(d, f, new Date());
        const wd = core.where(d);
        parts.push(t("On {name}: {from} to {to} (its time, {zone})", {
          name: core.name(d), from: f.later ? T.when(start, wd, L()) : t("now"), to: T.when(end, wd, L()), zone: T.zoneLabel(wd) || "?",
        }));
      }
      text = parts.join(" · ");
    } catch (x) {
      text = x.message;
    }
    $("send-window").textContent = text;
    renderSendResult();
  }

  // renderPreview draws the item as the first chosen screen lays it out
  // (ui/views.go): a portrait or square photo at full height on the left
  // with the caption and "From NAME" beside it, a wider one above a
  // caption band, a message as large text under "From NAME"; the clock
  // at the top right shows the screen's time when the item starts.
  function renderPreview() {
    const box = $("send-preview");
    const f = formValues();
    const d = dev(f.devices[0]) || senders()[0];
    const w = core.where(d);
    let start = new Date();
    try {
      if (d) start = windowOf(d, f, new Date()).start;
    } catch {
      // keep now
    }
    const text = f.text.trim();
    const from = t("From {name}", { name: core.myName() });
    const sig = JSON.stringify([f.kind, text, from, photo && photo.url, d && d.id, start.getTime(), L()]);
    if (box.dataset.sig === sig) return;
    box.dataset.sig = sig;
    const el = (tag, cls, txt) => {
      const x = document.createElement(tag);
      if (cls) x.className = cls;
      if (txt !== undefined) x.textContent = txt;
      return x;
    };
    const scr = el("div", "screen");
    const clock = el("div", "pv-clock");
    clock.append(el("b", "", T.clock(start, w, L())), el("span", "", T.dateLine(start, w, L())));
    let label;
    if (f.kind === "message") {
      scr.classList.add("pv-message");
      const head = el("div", "pv-head");
      head.append(el("p", "pv-from", from), el("p", "pv-when", T.when(start, w, L())));
      scr.append(head, clock, el("p", "pv-body", text || t("Your message appears here.")));
      label = t("Preview: the message {text}, from {name}", { text: text || "…", name: core.myName() });
    } else if (photo) {
      const side = photo.width / photo.height <= 1.24;
      scr.classList.add(side ? "pv-side" : "pv-band");
      const img = el("img", "pv-photo");
      img.src = photo.url;
      img.alt = "";
      const words = el("div", "pv-words");
      if (text) words.append(el("p", "pv-caption", text));
      words.append(el("p", "pv-from", from));
      scr.append(img, words, clock);
      label = t("Preview: your photo {layout}, with {text}", {
        layout: side ? t("at the left, the words beside it") : t("at the top, the words below it"),
        text: text ? `"${text}"` : t("no caption"),
      });
    } else {
      scr.classList.add("pv-empty");
      scr.append(clock, el("p", "pv-body", t("Choose a photo to see how it will look.")));
      label = t("No photo chosen yet");
    }
    box.setAttribute("aria-label", label);
    box.removeAttribute("aria-labelledby");
    const caption = el("p", "hint pv-note", d ? t("As {name} will show it", { name: core.name(d) }) : "");
    box.replaceChildren(scr, caption);
  }

  // ---- What a screen shows on a day ----

  function nextDay(key) {
    const [y, m, dd] = key.split("-").map(Number);
    const x = new Date(Date.UTC(y, m - 1, dd + 1));
    return `${x.getUTCFullYear()}-${String(x.getUTCMonth() + 1).padStart(2, "0")}-${String(x.getUTCDate()).padStart(2, "0")}`;
  }

  function shownAt(d, id) {
    let at = null;
    for (const ev of d.activity.values()) {
      if (ev.type === "item_shown" && ev.item === id) {
        const x = new Date(ev.time);
        if (!at || x > at) at = x;
      }
    }
    return at;
  }

  function mayChange(d, it) {
    const me = core.me();
    if (!me || !may(d, "send")) return false;
    if (d.modes.includes("admin")) return true;
    return !it.sender || it.sender === me.id;
  }

  // shows lists the items whose window covers the screen's day (date
  // "YYYY-MM-DD" on the screen's clock; default today there).
  function shows(device, date) {
    core.watchActivity(device);
    const d = dev(device);
    if (!d || !d.inventory || !Array.isArray(d.inventory.items)) return [];
    const w = core.where(d);
    const key = date || T.dayKey(new Date(), w);
    const from = T.fromWall(key, w);
    const to = T.fromWall(nextDay(key), w);
    const me = core.me();
    return d.inventory.items
      .filter((it) => it.state !== "deleted" && it.state !== "refused" && it.start && it.end)
      .filter((it) => new Date(it.start) < to && new Date(it.end) > from)
      .sort((a, b) => new Date(a.start) - new Date(b.start))
      .map((it) => {
        const shown = shownAt(d, it.id);
        return {
          id: it.id, rev: it.rev, kind: it.kind, text: it.text || "", from: it.from || "", sender: it.sender || "",
          start: it.start, end: it.end, state: it.state, shown: shown ? shown.toISOString() : null,
          mine: !!me && it.sender === me.id, mayChange: mayChange(d, it),
        };
      });
  }

  function renderShows() {
    const select = $("shows-device");
    fillSelect(select, senders(), "shows");
    const d = dev(sel.shows);
    if (d) core.watchActivity(d.id);
    const list = $("shows-list");
    const note = $("shows-note");
    const dateIn = $("shows-date");
    if (!d) {
      list.replaceChildren();
      $("shows-empty").hidden = true;
      note.textContent = core.connected() ? t("You may not send to any screen yet.") : t("Your screens show here once connected.");
      return;
    }
    const w = core.where(d);
    if (!dateIn.value) dateIn.value = T.dayKey(new Date(), w);
    const items = shows(d.id, dateIn.value);
    const day = T.fmt(T.fromWall(dateIn.value, w) || new Date(), w, L(), { weekday: "long", day: "numeric", month: "long" });
    note.textContent = !d.inventory ? t("{name} has not reported what it holds yet.", { name: core.name(d) })
      : items.length === 0 ? ""
      : items.length === 1 ? t("1 thing on {name} on {day} (times are the screen's, {zone}).", { name: core.name(d), day, zone: T.zoneLabel(w) || "?" })
      : t("{n} things on {name} on {day} (times are the screen's, {zone}).", { n: items.length, name: core.name(d), day, zone: T.zoneLabel(w) || "?" });
    $("shows-empty").hidden = !d.inventory || items.length > 0;
    $("shows-empty").textContent = t("Nothing is on {name} on {day}.", { name: core.name(d), day });
    const sig = JSON.stringify([items, L(), d.id, editing, confirming]);
    if (list.dataset.sig === sig) return;
    list.dataset.sig = sig;
    const focusedItem = document.activeElement && list.contains(document.activeElement) ? document.activeElement.closest("li")?.dataset.item : "";
    const focusedCls = focusedItem ? document.activeElement.className : "";
    list.replaceChildren(...items.map((it) => itemRow(d, it, w)));
    if (focusedItem) {
      const x = list.querySelector(`li[data-item="${CSS.escape(focusedItem)}"] .${CSS.escape(focusedCls.split(" ")[0] || "edit")}`);
      if (x) x.focus();
    }
  }

  let editing = ""; // "device/id" of the item whose window is being edited
  let confirming = ""; // "device/id" of the item whose removal is being confirmed

  // removeConfirm asks once more, in the page (no browser dialog).
  function removeConfirm(d, it) {
    const box = document.createElement("div");
    box.className = "confirm";
    box.setAttribute("role", "group");
    const q = document.createElement("p");
    q.textContent = t("Remove this from {name}? It disappears from the screen.", { name: core.name(d) });
    q.id = `confirm-${it.id}`;
    box.setAttribute("aria-labelledby", q.id);
    const yes = button("remove-confirm danger", t("Yes, remove it"));
    const no = button("remove-cancel secondary", t("Keep it"));
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        await removeItem(d.id, it.id);
        confirming = "";
        $("shows-status").textContent = t("Removed. {name} takes it off the screen.", { name: core.name(d) });
      } catch (x) {
        $("shows-status").textContent = x.message;
      } finally {
        yes.disabled = false;
      }
    });
    no.addEventListener("click", () => {
      confirming = "";
      renderShows();
    });
    box.append(q, buttonRow(yes, no));
    return box;
  }

  function itemRow(d, it, w) {
    const li = document.createElement("li");
    li.className = `item ${it.kind}`;
    li.dataset.item = it.id;
    const p = (cls, text) => {
      const x = document.createElement("p");
      x.className = cls;
      x.textContent = text;
      return x;
    };
    const short = it.text.length > 140 ? `${it.text.slice(0, 139)}…` : it.text;
    const what = it.kind === "photo" ? (short ? t("Photo: {text}", { text: short }) : t("Photo without a caption")) : t("Message: {text}", { text: short });
    li.append(p("what", what));
    li.append(p("from", it.from ? t("From {name}", { name: it.from }) + (it.mine ? ` ${t("(you)")}` : "") : ""));
    li.append(p("window", t("On the screen {from} – {to}", { from: T.when(new Date(it.start), w, L()), to: T.when(new Date(it.end), w, L()) })));
    li.append(p("shown", it.shown ? t("Shown {when}", { when: T.when(new Date(it.shown), w, L()) })
      : it.state === "pending" ? t("The screen is still preparing it") : t("Not shown yet")));
    if (it.mayChange) {
      const eb = button("edit secondary", t("Change dates"));
      eb.setAttribute("aria-label", `${t("Change dates")}: ${what}`);
      eb.addEventListener("click", () => {
        editing = `${d.id}/${it.id}`;
        renderShows();
        const s = $("shows-list").querySelector(`li[data-item="${CSS.escape(it.id)}"] .edit-start`);
        if (s) s.focus();
      });
      const rb = button("remove danger", t("Remove"));
      rb.setAttribute("aria-label", `${t("Remove")}: ${what}`);
      rb.addEventListener("click", () => {
        confirming = `${d.id}/${it.id}`;
        editing = "";
        renderShows();
        const c = $("shows-list").querySelector(`li[data-item="${CSS.escape(it.id)}"] .remove-confirm`);
        if (c) c.focus();
      });
      li.append(buttonRow(eb, rb));
      if (editing === `${d.id}/${it.id}`) li.append(editForm(d, it, w));
      if (confirming === `${d.id}/${it.id}`) li.append(removeConfirm(d, it));
    }
    return li;
  }

  function editForm(d, it, w) {
    const form = document.createElement("form");
    form.className = "edit-form";
    form.noValidate = true;
    const field = (cls, label, value) => {
      const id = `${cls}-${it.id}`;
      const div = document.createElement("div");
      div.className = "field";
      const l = document.createElement("label");
      l.htmlFor = id;
      l.textContent = label;
      const x = document.createElement("input");
      x.type = "datetime-local";
      x.id = id;
      x.className = cls;
      x.value = T.wallValue(new Date(value), w);
      div.append(l, x);
      return div;
    };
    const err = document.createElement("p");
    err.setAttribute("role", "alert");
    err.className = "edit-error";
    const save = button("edit-save", t("Save the dates"), "submit");
    const cancel = button("edit-cancel secondary", t("Cancel"));
    cancel.addEventListener("click", () => {
      editing = "";
      renderShows();
    });
    form.append(field("edit-start", t("Shown from"), it.start), field("edit-end", t("Shown until"), it.end), err);
    form.append(buttonRow(save, cancel));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      save.disabled = true;
      try {
        const start = T.fromWall(form.querySelector(".edit-start").value, w);
        const end = T.fromWall(form.querySelector(".edit-end").value, w);
        await editItem(d.id, it.id, { start, end });
        editing = "";
        $("shows-status").textContent = t("Saved. {name} shows it {from} – {to}.", { name: core.name(d), from: T.when(start, w, L()), to: T.when(end, w, L()) });
        renderShows();
      } catch (x) {
        err.textContent = x.message;
      } finally {
        save.disabled = false;
      }
    });
    return form;
  }

  function heldItem(d, id) {
    const it = d && d.inventory && Array.isArray(d.inventory.items) ? d.inventory.items.find((x) => x.id === id) : null;
    if (!it) throw new Error(t("{name} does not hold that item.", { name: core.name(d) }));
    if (!mayChange(d, it)) throw new Error(t("Only the person who sent it, or an administrator, may change it."));
    return it;
  }

  // editItem sends a new revision with another window: the item as the
  // broker keeps it (its photo included), signed again by me.
  async function editItem(device, id, { start, end }) {
    const d = dev(device);
    const held = heldItem(d, id);
    start = start instanceof Date ? start : new Date(start || held.start);
    end = end instanceof Date ? end : new Date(end || held.end);
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) throw new Error(t("Choose the day and time it is shown from."));
    if (end <= start) throw new Error(t("It must end after it starts."));
    if (end <= new Date()) throw new Error(t("That time is over already."));
    const orig = await core.subscribeOnce(P.contentTopic(device, id));
    if (!orig || orig.deleted || orig.id !== id) {
      throw new Error(t("The service no longer has this item's photo or text, so it cannot be changed. Send it again instead."));
    }
    const me = core.me();
    const mine = sent.get(`${device}/${id}`);
    const rev = Math.max(Number(held.rev) || 0, Number(orig.rev) || 0, mine ? mine.rev : 0) + 1;
    const item = await P.makeItem(core.signer().key, {
      id, device, rev, sender: me.id, kind: orig.kind, text: orig.text || "", from: core.myName(),
      start, end, created: orig.created ? new Date(orig.created) : new Date(), photo: orig.photo || null,
    });
    await publishSigned(item);
    sent.set(`${device}/${id}`, { device, id, rev, kind: orig.kind, text: orig.text || "", start, end });
    return { id, rev };
  }

  // removeItem publishes a signed tombstone in the item's place, so the
  // broker forgets the photo too.
  async function removeItem(device, id) {
    const d = dev(device);
    const held = heldItem(d, id);
    // Above what the screen holds and what this page sent last (an edit the
    // screen has not confirmed yet): an equal rev would be a duplicate.
    const mine = sent.get(`${device}/${id}`);
    const rev = Math.max(Number(held.rev) || 0, mine ? mine.rev : 0) + 1;
    const ts = await P.makeTombstone(core.signer().key, { id, device, rev, sender: core.me().id });
    await publishSigned(ts);
    sent.set(`${device}/${id}`, { device, id, rev, kind: held.kind, text: held.text || "", deleted: true });
    return { id, rev };
  }

  // ---- Booked calls ----

  function bookings(device) {
    const d = dev(device);
    const list = d && d.inventory && Array.isArray(d.inventory.bookings) ? d.inventory.bookings : [];
    return list.filter((b) => b && b.id && b.at).slice().sort((a, b) => new Date(a.at) - new Date(b.at));
  }

  // bookingLine is the screen card's line about booked calls today.
  function bookingLine(d) {
    const w = core.where(d);
    const today = T.dayKey(new Date(), w);
    const todays = bookings(d.id).filter((b) => T.dayKey(new Date(b.at), w) === today && new Date(b.at).getTime() + b.length_s * 1000 > Date.now());
    if (todays.length === 0) return "";
    return t("Booked calls today: {list}", {
      list: todays.map((b) => `${T.clock(new Date(b.at), w, L())} ${core.callerName(d.id, b.caller)}`).join(", "),
    });
  }

  async function book(device, { at, lengthS, reason }) {
    const d = dev(device);
    if (!d || !may(d, "book")) throw new Error(t("Only carers may book calls to {name}.", { name: core.name(d) || device }));
    at = at instanceof Date ? at : new Date(at);
    if (Number.isNaN(at.getTime())) throw new Error(t("Choose the day and time of the call."));
    lengthS = Number(lengthS) || 900;
    if (lengthS < 1 || lengthS > 14400) throw new Error(t("A booked call lasts from 1 second to 4 hours."));
    if (at.getTime() + lengthS * 1000 <= Date.now()) throw new Error(t("That time is over already."));
    if (at.getTime() - Date.now() > 31 * dayMs) throw new Error(t("A call can be booked at most 31 days ahead."));
    reason = (reason || "").trim();
    if (reason.length > 200) throw new Error(t("The reason is too long (at most 200 characters)."));
    const id = P.randomID("bk-");
    core.watchActivity(device);
    const b = await P.makeBooking(core.signer().key, { id, device, caller: core.me().id, at, lengthS, reason });
    await core.publish(P.bookingTopic(device), b);
    booked.set(`${device}/${id}`, { device, id, rev: b.rev, at, lengthS, reason });
    return { id, rev: b.rev };
  }

  async function cancelBooking(device, id) {
    const d = dev(device);
    const held = bookings(device).find((b) => b.id === id);
    if (held && held.caller !== core.me().id) throw new Error(t("Only the carer who booked it may cancel it."));
    if (!d) throw new Error(t("No such screen."));
    const b = await P.makeBooking(core.signer().key, { id, device, caller: core.me().id, cancel: true });
    await core.publish(P.bookingTopic(device), b);
    booked.set(`${device}/${id}`, { device, id, rev: b.rev, cancel: true });
    return { id, rev: b.rev };
  }

  function bookingStatus(device, id) {
    const s = booked.get(`${device}/${id}`);
    const d = dev(device);
    if (!s || !d) return "";
    const name = core.name(d);
    const w = core.where(d);
    for (const ev of d.activity.values()) {
      if (ev.item !== id) continue;
      if (ev.type === "input_refused" && (!s.cancel)) return t("{name} refused the booking: {reason}", { name, reason: refusalText(ev.reason) });
      if (ev.type === "booking_cancelled" && s.cancel) return t("The booked call is cancelled on {name}.", { name });
    }
    const held = bookings(device).find((b) => b.id === id);
    if (!s.cancel && held) return t("Booked: {name} shows it from two hours before {when}.", { name, when: T.when(new Date(held.at), w, L()) });
    if (s.cancel && !held) return t("The booked call is cancelled on {name}.", { name });
    return t("Sent. Waiting for {name} to confirm…", { name });
  }

  let lastBooking = null;

  function renderBook() {
    fillSelect($("book-device"), bookers(), "book");
    const d = dev(sel.book);
    const w = core.where(d);
    const at = $("book-at");
    if (!at.value) at.value = T.wallValue(new Date(Math.ceil((Date.now() + 1800000) / 1800000) * 1800000), w);
    $("book-zone").textContent = d ? t("Times are {name}'s own ({zone}).", { name: core.name(d), zone: T.zoneLabel(w) || "?" }) : "";
    $("book-result").textContent = lastBooking ? bookingStatus(lastBooking.device, lastBooking.id) : "";
    const list = $("book-list");
    const items = d ? bookings(d.id) : [];
    const me = core.me();
    const sig = JSON.stringify([items, L(), d && d.id]);
    if (list.dataset.sig === sig) return;
    list.dataset.sig = sig;
    const today = d ? T.dayKey(new Date(), w) : "";
    list.replaceChildren(...(items.length ? items.map((b) => {
      const li = document.createElement("li");
      li.className = "booking";
      li.dataset.booking = b.id;
      const at = new Date(b.at);
      const day = T.dayKey(at, w) === today ? t("Today") : T.fmt(at, w, L(), { weekday: "short", day: "numeric", month: "short" });
      const mins = Math.round(b.length_s / 60);
      const p = document.createElement("p");
      p.textContent = t("{day} {time}, {n} min, {who}", { day, time: T.clock(at, w, L()), n: mins, who: core.callerName(d.id, b.caller) }) + (b.reason ? `: ${b.reason}` : "");
      li.append(p);
      if (me && b.caller === me.id) {
        const c = button("cancel secondary", t("Cancel the call"));
        c.setAttribute("aria-label", `${t("Cancel the call")}: ${p.textContent}`);
        c.addEventListener("click", async () => {
          try {
            await cancelBooking(d.id, b.id);
            lastBooking = { device: d.id, id: b.id };
            renderBook();
          } catch (x) {
            $("book-error").textContent = x.message;
          }
        });
        li.append(c);
      }
      return li;
    }) : [Object.assign(document.createElement("li"), { className: "hint", textContent: d ? t("No calls booked.") : "" })]));
  }

  async function uiBook(e) {
    e.preventDefault();
    $("book-error").textContent = "";
    const d = dev(sel.book);
    try {
      if (!d) throw new Error(t("Choose a screen."));
      const at = T.fromWall($("book-at").value, core.where(d));
      if (!at) throw new Error(t("Choose the day and time of the call."));
      const r = await book(d.id, { at, lengthS: Number($("book-length").value), reason: $("book-reason").value });
      lastBooking = { device: d.id, id: r.id };
      $("book-reason").value = "";
      renderBook();
    } catch (x) {
      $("book-error").textContent = x.message;
    }
  }

  // ---- Activity in words ----

  function minutes(ms) {
    const m = Math.round((ms || 0) / 60000);
    return m < 1 ? t("under a minute") : t("{n} min", { n: m });
  }

  function activityText(d, ev) {
    const who = ev.caller ? core.callerName(d.id, ev.caller) : "";
    const kind = ev.item_kind === "photo" ? t("Photo") : ev.item_kind === "message" ? t("Message") : "";
    const what = ev.item_text ? `${kind || t("Item")} '${ev.item_text}'` : kind || t("Item {id}", { id: ev.item || "?" });
    const w = core.where(d);
    switch (ev.type) {
      case "item_shown":
        return t("{what} shown", { what });
      case "item_expired":
        return t("{what} ended: its time was over", { what });
      case "item_removed":
        return t("{what} removed", { what });
      case "call_answered":
        return t("Call from {who} answered", { who });
      case "call_ended":
        return t("Call from {who}, {len}", { who, len: minutes(ev.duration_ms) });
      case "call_missed":
        return ev.reason ? t("Missed call from {who}: {reason}", { who, reason: ev.reason }) : t("Missed call from {who}", { who });
      case "call_refused":
        return t("Call from {who} refused: {reason}", { who: who || t("someone unknown"), reason: ev.reason || "" }) + (ev.count > 1 ? ` (×${ev.count})` : "");
      case "control_refused":
        return t("{who} could not change the call: {reason}", { who, reason: ev.reason || "" });
      case "input_refused":
        if (kind || ev.item_text) return t("{kind} refused: {reason}", { kind: ev.item_text ? what : kind, reason: refusalText(ev.reason) });
        if (ev.item && /^bk-/.test(ev.item)) return t("Booking refused: {reason}", { reason: refusalText(ev.reason) });
        return t("Something sent was refused: {reason}", { reason: refusalText(ev.reason) });
      case "booking_kept": {
        const m = /^(\S+) for \S+?(?:: (.*))?$/.exec(ev.reason || "");
        const at = m ? new Date(m[1]) : null;
        const when = at && !Number.isNaN(at.getTime()) ? T.when(at, w, L()) : "";
        return t("Call booked by {who} for {when}", { who, when }) + (m && m[2] ? `: ${m[2]}` : "");
      }
      case "booking_cancelled":
        return t("Booked call cancelled by {who}", { who });
      case "devices_changed":
        return t("Camera or microphone changed: {reason}", { reason: ev.reason || "" });
      case "admin_applied":
        return t("Changed by the organisation: {reason}", { reason: ev.reason || "" });
      case "provisioned":
        return t("Set up by the organisation");
      case "gap":
        return t("{n} older events were lost", { n: ev.dropped || 0 });
      default:
        return ev.reason ? `${ev.type}: ${ev.reason}` : ev.type;
    }
  }

  function activity(device) {
    core.watchActivity(device);
    const d = dev(device);
    if (!d) return [];
    const w = core.where(d);
    return [...d.activity.values()]
      .sort((a, b) => new Date(b.time) - new Date(a.time) || (b.seq || 0) - (a.seq || 0))
      .map((ev) => ({ id: ev.id, time: ev.time, type: ev.type, item: ev.item || "", when: T.when(new Date(ev.time), w, L()), text: activityText(d, ev) }));
  }

  function renderActivity() {
    const ds = core.reachable().filter((d) => may(d, "send") || d.activity.size > 0);
    fillSelect($("activity-device"), ds, "activity");
    const d = dev(sel.activity);
    if (d) core.watchActivity(d.id);
    const evs = d ? activity(d.id).slice(0, 200) : [];
    const list = $("activity-list");
    const sig = JSON.stringify([evs.map((e) => [e.id, e.text, e.when]), L()]);
    const empty = $("activity-empty");
    empty.hidden = evs.length > 0;
    empty.textContent = d ? t("Nothing has happened on {name} yet, or you may not see its activity.", { name: core.name(d) }) : "";
    if (list.dataset.sig === sig) return;
    list.dataset.sig = sig;
    list.replaceChildren(...evs.map((e) => {
      const li = document.createElement("li");
      li.dataset.activity = e.id;
      li.className = `ev ${e.type}`;
      const tm = document.createElement("time");
      tm.dateTime = e.time;
      tm.textContent = e.when;
      li.append(tm, ` ${e.text}`);
      return li;
    }));
  }

  // ---- Selects of screens, shared by the views ----

  function fillSelect(select, ds, key) {
    if (!ds.some((d) => d.id === sel[key])) sel[key] = ds.length ? ds[0].id : "";
    const sig = JSON.stringify([ds.map((d) => [d.id, core.name(d)]), sel[key]]);
    if (select.dataset.sig !== sig) {
      select.dataset.sig = sig;
      select.replaceChildren(...ds.map((d) => {
        const o = document.createElement("option");
        o.value = d.id;
        o.textContent = core.name(d);
        return o;
      }));
      select.value = sel[key];
    }
    select.disabled = ds.length === 0;
  }

  function select(v, device) {
    if (v === "send") {
      sel.send = new Set([device]);
      sel.sendTouched = true;
    } else if (v in sel) {
      sel[v] = device;
    }
  }

  // ---- Wiring ----

  $("send-form").addEventListener("submit", uiSend);
  $("send-file").addEventListener("change", () => takeFile($("send-file")));
  $("send-camera").addEventListener("change", () => takeFile($("send-camera")));
  for (const id of ["send-kind-photo", "send-kind-message", "send-now", "send-later", "send-for-days", "send-for-until"]) {
    $(id).addEventListener("change", () => {
      renderSendForm();
      renderPreview();
    });
  }
  for (const id of ["send-text", "send-start", "send-days", "send-until"]) {
    $(id).addEventListener("input", () => {
      renderSendForm();
      renderPreview();
    });
  }
  $("shows-device").addEventListener("change", () => {
    sel.shows = $("shows-device").value;
    $("shows-date").value = "";
    renderShows();
  });
  $("shows-date").addEventListener("change", () => renderShows());
  $("book-device").addEventListener("change", () => {
    sel.book = $("book-device").value;
    renderBook();
  });
  $("book-form").addEventListener("submit", uiBook);
  $("activity-device").addEventListener("change", () => {
    sel.activity = $("activity-device").value;
    renderActivity();
  });

  function render() {
    if (!core.me()) return;
    if (!$("send").hidden) {
      renderSendForm();
      renderPreview();
    }
    if (!$("shows").hidden) renderShows();
    if (!$("book").hidden) renderBook();
    if (!$("activity").hidden) renderActivity();
  }

  return {
    render,
    select,
    bookingLine,
    onInventory: () => {},
    onActivity: () => {},
    hooks: {
      send: hookSend,
      sendStatus,
      inventory: (device) => {
        const d = dev(device);
        return d && d.inventory ? JSON.parse(JSON.stringify(d.inventory)) : null;
      },
      shows,
      editItem: (device, id, w = {}) => editItem(device, id, w),
      removeItem,
      book,
      cancelBooking,
      bookings,
      bookingStatus,
      activity,
      photo: () => (photo ? { width: photo.width, height: photo.height, size: photo.size } : null),
    },
  };
}
