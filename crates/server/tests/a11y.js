// Accessibility checks run inside the page by tests/browser.rs (WebDriver
// "execute script"). Returns a list of problems, each a short sentence naming
// the element; an empty list passes. arguments[0] is "elder" (长辈模式, the
// MIIT 适老化 rules) or "normal".
const mode = arguments[0];
const problems = [];
const body = document.body;

// Rendered and not hidden (checkVisibility also sees into closed <details>).
function visible(el) {
  if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) return false;
  const r = el.getBoundingClientRect();
  const cs = getComputedStyle(el);
  return r.width > 0 && r.height > 0 && cs.visibility !== "hidden" && cs.display !== "none";
}
function name(el) {
  const cls = typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\s+/).join(".") : "";
  const text = (el.innerText || el.textContent || el.getAttribute("aria-label") || "").trim().replace(/\s+/g, " ").slice(0, 30);
  return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + cls + (text ? " «" + text + "»" : "");
}
function rgba(s) {
  const m = s.match(/rgba?\(([^)]+)\)/);
  if (!m) return [0, 0, 0, 0];
  const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
}
function over(top, bottom) {
  const a = top[3];
  return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]);
}
// The background a text sits on: composites ancestors' background colours.
function background(el) {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
  }
  let bg = [255, 255, 255, 1];
  for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
  return bg;
}
function luminance(c) {
  const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

// Language of the page.
if (document.documentElement.getAttribute("lang") !== "zh-CN") problems.push("html lang is " + document.documentElement.getAttribute("lang") + ", not zh-CN");
if (!document.title.trim()) problems.push("page has no title");
if (document.querySelectorAll("h1").length !== 1) problems.push("page has " + document.querySelectorAll("h1").length + " h1 headings");

// Text alternatives for images and SVG pictures.
for (const img of document.querySelectorAll("img")) if (img.getAttribute("alt") === null) problems.push("img without alt: " + img.src);
for (const svg of document.querySelectorAll("svg")) {
  const labelled = svg.getAttribute("aria-label") || svg.getAttribute("aria-labelledby") || svg.querySelector(":scope > title");
  if (!labelled && svg.getAttribute("aria-hidden") !== "true") problems.push("svg without a text alternative: " + name(svg));
}

// Every form control has a label; every link and button a name.
for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
  const labelled = (el.labels && el.labels.length) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") || el.getAttribute("title");
  if (!labelled) problems.push("form control without a label: " + name(el) + " name=" + el.getAttribute("name"));
}
for (const el of document.querySelectorAll("a[href], button")) {
  if (!visible(el)) continue;
  const text = (el.textContent || "").trim() || el.getAttribute("aria-label") || el.getAttribute("title");
  if (!text) problems.push("link or button without a name: " + el.outerHTML.slice(0, 80));
}
const ids = {};
for (const el of document.querySelectorAll("[id]")) { if (ids[el.id]) problems.push("duplicate id " + el.id); ids[el.id] = true; }

// Links in running text are underlined: colour is not the only cue.
for (const a of document.querySelectorAll("main :is(p, li, dd, td) a[href]")) {
  if (!visible(a) || a.classList.contains("button")) continue;
  const deco = getComputedStyle(a).textDecorationLine;
  if (!deco.includes("underline")) problems.push("link in text not underlined: " + name(a));
}

// Text contrast ≥ 4.5:1; in 长辈模式 also text ≥ 24px (18pt) with line spacing ≥ 1.3.
const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
const seen = new Set();
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const el = n.parentElement;
  if (!n.textContent.trim() || seen.has(el) || el.closest("svg, script, style, option, [hidden]")) continue;
  seen.add(el);
  if (!visible(el)) continue;
  const cs = getComputedStyle(el);
  const ratio = contrast(rgba(cs.color), background(el));
  if (ratio < 4.5) problems.push("contrast " + ratio.toFixed(2) + ":1 below 4.5: " + name(el));
  if (mode === "elder") {
    const size = parseFloat(cs.fontSize);
    if (size < 24) problems.push("font " + size + "px below 24px: " + name(el));
    const spacing = cs.lineHeight === "normal" ? 0 : parseFloat(cs.lineHeight) / size;
    if (spacing < 1.3) problems.push("line height " + cs.lineHeight + " below 1.3 at " + size + "px: " + name(el));
  }
}

if (mode === "elder") {
  // Tap targets at least 60×60 px.
  for (const el of document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary")) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 59.5 || r.height < 59.5) problems.push("tap target " + Math.round(r.width) + "×" + Math.round(r.height) + " below 60×60: " + name(el));
  }
  // Nothing floats over the content: no fixed or sticky elements, no floats, no pop-ups.
  for (const el of body.querySelectorAll("*")) {
    const cs = getComputedStyle(el);
    if (cs.position === "fixed" || cs.position === "sticky") problems.push("position " + cs.position + ": " + name(el));
    if (cs.cssFloat !== "none") problems.push("float " + cs.cssFloat + ": " + name(el));
  }
  for (const el of document.querySelectorAll("dialog[open], [role=dialog], [role=alertdialog]")) problems.push("pop-up: " + name(el));
}

// The layout reflows: no horizontal scrolling at this width.
const overflow = document.documentElement.scrollWidth - document.documentElement.clientWidth;
if (overflow > 1) {
  const wide = [...body.querySelectorAll("*")].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && visible(e)).slice(0, 3).map(name);
  problems.push("page scrolls sideways by " + overflow + "px at width " + document.documentElement.clientWidth + ": " + wide.join("; "));
}
return problems;
