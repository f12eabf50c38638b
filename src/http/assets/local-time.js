// agenda pages: adds the viewer's own time after each time shown in a session's zone (after
// the whole start-end range), when the two differ. Optional: every page is complete without it.
// In the page's language: its lang attribute for the date, its data-your-time for the label.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const root = document.documentElement;
  const opts = { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short" };
  const viewer = new Intl.DateTimeFormat(root.lang || undefined, opts);
  const label = root.dataset.yourTime || "your time:";
  for (const el of document.querySelectorAll("time[data-local]")) {
    const when = new Date(el.getAttribute("datetime"));
    const offset = el.getAttribute("datetime").slice(-6);
    const mine = -when.getTimezoneOffset();
    const sign = mine < 0 ? "-" : "+";
    const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
    if (Number.isNaN(when.getTime()) || offset === sign + pad(mine / 60) + ":" + pad(mine % 60)) continue;
    const span = document.createElement("span");
    span.className = "local";
    span.textContent = " (" + label + " " + viewer.format(when) + ")";
    (el.closest(".when") || el).after(span);
  }
});
