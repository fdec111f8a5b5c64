// The page's words in English, Swedish, Finnish and German. The English
// text is the key; {name} marks a value put in. A missing translation
// falls back to English, so nothing is ever blank.

import { sv, fi, de } from "./strings.js";

const dicts = { en: null, sv, fi, de };
export const langs = Object.keys(dicts);
let current = "en";

export function lang() {
  return current;
}

export function setLang(l) {
  current = dicts[l] !== undefined ? l : "en";
}

// pickLang chooses the saved choice, else the first of the browser's
// languages the page speaks, else English.
export function pickLang(saved, preferred) {
  if (saved && dicts[saved] !== undefined) return saved;
  for (const p of preferred || []) {
    const base = String(p || "").toLowerCase().split("-")[0];
    if (dicts[base] !== undefined) return base;
  }
  return "en";
}

export function t(key, vars) {
  const d = dicts[current];
  let s = (d && d[key]) || key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] !== undefined ? String(vars[k]) : m));
  return s;
}

// translatePage translates the elements marked data-i18n (their text) and
// data-i18n-aria-label (their label), remembering the English.
export function translatePage(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    if (el.dataset.en === undefined) el.dataset.en = el.textContent.trim();
    el.textContent = t(el.dataset.en);
  }
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    if (el.dataset.enLabel === undefined) el.dataset.enLabel = el.getAttribute("aria-label") || "";
    el.setAttribute("aria-label", t(el.dataset.enLabel));
  }
}
