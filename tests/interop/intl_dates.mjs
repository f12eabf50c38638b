// ICU's (CLDR's) full date and short time for each language, through Node's Intl (Node ships
// full ICU): what tests/it/i18n.rs checks agenda's own date messages against.
//
// Input (stdin, JSON): { "locales": { "en": "en-GB", ... }, "dates": ["2024-01-01", ...],
//   "times": ["09:05", ...] }
// Output: { "icu": "<ICU version>", "cldr": "<CLDR version>",
//   "en": { "dates": [...], "times": [...] }, ... }
import { readFileSync } from "node:fs";

const input = JSON.parse(readFileSync(0, "utf8"));
const out = { icu: process.versions.icu, cldr: process.versions.cldr };
for (const [lang, locale] of Object.entries(input.locales)) {
  const date = new Intl.DateTimeFormat(locale, { dateStyle: "full", timeZone: "UTC" });
  const time = new Intl.DateTimeFormat(locale, { timeStyle: "short", timeZone: "UTC" });
  out[lang] = {
    dates: input.dates.map((d) => date.format(new Date(`${d}T12:00:00Z`))),
    times: input.times.map((t) => time.format(new Date(`2024-01-01T${t}:00Z`))),
  };
}
process.stdout.write(JSON.stringify(out));
