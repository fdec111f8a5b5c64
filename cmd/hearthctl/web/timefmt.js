// Times as a screen shows them: in the screen's own time zone (its
// availability's IANA "zone", else its "utc_offset_s"), not the browser's.
// A daughter in Berlin reads "do not disturb until 14:30" as her mother's
// clock in Helsinki says it.

// where: {zone: "Europe/Helsinki" | "", offsetS: 7200 | null}. Without
// either, the browser's own zone.
export function whereOf(av) {
  const zone = av && typeof av.zone === "string" && validZone(av.zone) ? av.zone : "";
  const offsetS = av && Number.isFinite(av.utc_offset_s) ? av.utc_offset_s : null;
  return { zone, offsetS };
}

const zoneOK = new Map();
export function validZone(z) {
  if (!zoneOK.has(z)) {
    try {
      new Intl.DateTimeFormat("en", { timeZone: z });
      zoneOK.set(z, true);
    } catch {
      zoneOK.set(z, false);
    }
  }
  return zoneOK.get(z);
}

// fmt formats date with Intl options in the screen's zone.
export function fmt(date, where, lang, opts) {
  if (where && where.zone) return new Intl.DateTimeFormat(lang, { ...opts, timeZone: where.zone }).format(date);
  if (where && where.offsetS !== null && where.offsetS !== undefined) {
    return new Intl.DateTimeFormat(lang, { ...opts, timeZone: "UTC" }).format(new Date(date.getTime() + where.offsetS * 1000));
  }
  return new Intl.DateTimeFormat(lang, opts).format(date);
}

// parts returns the wall clock of date on the screen: {y, mo, d, h, mi}.
export function parts(date, where) {
  const p = {};
  const opts = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  let f;
  let t = date;
  if (where && where.zone) f = new Intl.DateTimeFormat("en-GB", { ...opts, timeZone: where.zone });
  else if (where && where.offsetS !== null && where.offsetS !== undefined) {
    f = new Intl.DateTimeFormat("en-GB", { ...opts, timeZone: "UTC" });
    t = new Date(date.getTime() + where.offsetS * 1000);
  } else f = new Intl.DateTimeFormat("en-GB", opts);
  for (const x of f.formatToParts(t)) p[x.type] = x.value;
  return { y: +p.year, mo: +p.month, d: +p.day, h: +p.hour % 24, mi: +p.minute };
}

const pad = (n) => String(n).padStart(2, "0");

// dayKey is the screen's date of an instant: "2026-12-07".
export function dayKey(date, where) {
  const p = parts(date, where);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}`;
}

// wallValue is the value of an input type=datetime-local showing date on
// the screen's clock.
export function wallValue(date, where) {
  const p = parts(date, where);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}`;
}

// fromWall turns the screen's wall clock ("2026-12-07T10:00" or
// "2026-12-07") into an instant. A time that a change of clocks skips or
// repeats takes the offset in force just before.
export function fromWall(value, where) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(value || "");
  if (!m) return null;
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0));
  if (!where || (!where.zone && (where.offsetS === null || where.offsetS === undefined))) {
    return new Date(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0));
  }
  if (!where.zone) return new Date(guess - where.offsetS * 1000);
  let t = guess - offsetAt(guess, where.zone);
  t = guess - offsetAt(t, where.zone);
  return new Date(t);
}

// offsetAt is the zone's offset from UTC at instant ms, in ms.
function offsetAt(ms, zone) {
  const p = parts(new Date(ms), { zone });
  return Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi) - Math.floor(ms / 60000) * 60000;
}

// clock is "14:30" on the screen's clock.
export function clock(date, where, lang) {
  return fmt(date, where, lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

// when is "14:30" today, "Tue 14:30" within the week around now, else
// "Tue 17 Dec 14:30": always the screen's clock.
export function when(date, where, lang, now = new Date()) {
  const hm = clock(date, where, lang);
  if (dayKey(date, where) === dayKey(now, where)) return hm;
  const days = Math.abs(date - now) / 86400000;
  const opts = days < 6 ? { weekday: "short" } : { weekday: "short", day: "numeric", month: "short" };
  return `${fmt(date, where, lang, opts)} ${hm}`;
}

// zoneLabel names the screen's zone for a hint: "Europe/Helsinki" or "UTC+02:00".
export function zoneLabel(where) {
  if (where.zone) return where.zone;
  if (where.offsetS === null || where.offsetS === undefined) return "";
  const s = where.offsetS;
  const a = Math.abs(s);
  return `UTC${s < 0 ? "-" : "+"}${pad(Math.floor(a / 3600))}:${pad(Math.floor((a % 3600) / 60))}`;
}

// The screen's own words for its date line (ui/locale.go), so the preview
// reads as the screen does: "Monday 7 December", "måndag 7 december",
// "maanantai 7. joulukuuta", "Montag, 7. Dezember". Not Intl: its English
// is the American "Monday, December 7", and its words vary by browser.
const dateWords = {
  en: {
    days: ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
    months: ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
    line: (w, d, m) => `${w} ${d} ${m}`,
  },
  sv: {
    days: ["söndag", "måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag"],
    months: ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"],
    line: (w, d, m) => `${w} ${d} ${m}`,
  },
  fi: {
    days: ["sunnuntai", "maanantai", "tiistai", "keskiviikko", "torstai", "perjantai", "lauantai"],
    months: ["tammikuuta", "helmikuuta", "maaliskuuta", "huhtikuuta", "toukokuuta", "kesäkuuta",
      "heinäkuuta", "elokuuta", "syyskuuta", "lokakuuta", "marraskuuta", "joulukuuta"],
    line: (w, d, m) => `${w} ${d}. ${m}`,
  },
  de: {
    days: ["Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"],
    months: ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"],
    line: (w, d, m) => `${w}, ${d}. ${m}`,
  },
};

// dateLine is the weekday and date under the screen's clock, on the
// screen's clock, as the screen writes it in lang.
export function dateLine(date, where, lang) {
  const words = dateWords[lang] || dateWords.en;
  const p = parts(date, where);
  const wd = new Date(Date.UTC(p.y, p.mo - 1, p.d)).getUTCDay();
  return words.line(words.days[wd], p.d, words.months[p.mo - 1]);
}
