// Keyboard check, part one (tests/browser.rs): numbers every element that
// should be reachable with Tab and records, for each element focused from now
// on, whether it shows a focus ring. The test then presses Tab enough times
// and reads window.__focusLog. Returns the number of elements to reach.
const sel = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex='-1'])";
const targets = [...document.querySelectorAll(sel)].filter(e =>
  !e.disabled && e.checkVisibility({ visibilityProperty: true }));
targets.forEach((e, i) => e.setAttribute("data-kb", String(i)));
window.__focusLog = [];
document.addEventListener("focusin", ev => {
  const e = ev.target;
  const label = e.tagName.toLowerCase() + " «" + (e.textContent || e.getAttribute("aria-label") || "").trim().slice(0, 30) + "»";
  const entry = { idx: e.getAttribute("data-kb"), ring: hasRing(e), label: label };
  window.__focusLog.push(entry);
  // Under load Chromium can dispatch focusin before :focus-visible settles
  // (seen once in CI); look again on the next frame while it still has focus.
  if (!entry.ring) requestAnimationFrame(() => {
    if (document.activeElement === e) entry.ring = hasRing(e);
  });
}, true);
function hasRing(e) {
  const cs = getComputedStyle(e);
  const ring = (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2) || cs.boxShadow !== "none";
  return ring && e.matches(":focus-visible");
}
if (document.activeElement) document.activeElement.blur();
window.scrollTo(0, 0);
return targets.length;
