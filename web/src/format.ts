// Numbers and dates in the user's locale (the browser's).
const num = new Intl.NumberFormat(undefined);
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const time = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const rel = typeof Intl.RelativeTimeFormat === 'function' ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;
const km = new Intl.NumberFormat(undefined, { style: 'unit', unit: 'kilometer', maximumFractionDigits: 1 });

export const fmtNum = (n: number) => num.format(n);
export const fmtDateTime = (iso: string) => dateTime.format(new Date(iso));
export const fmtTime = (iso: string) => time.format(new Date(iso));
export const fmtKm = (d: number | null) => (d === null ? '—' : km.format(d));
export const fmtSigned = (n: number) => (n > 0 ? `+${num.format(n)}` : num.format(n));

/** "12 minutes ago" style age, in the user's language. */
export function fmtAge(iso: string, now = Date.now()): string {
  const s = Math.round((Date.parse(iso) - now) / 1000);
  const abs = Math.abs(s);
  if (!rel) return dateTime.format(new Date(iso));
  if (abs < 60) return rel.format(s, 'second');
  if (abs < 3600) return rel.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return rel.format(Math.round(s / 3600), 'hour');
  return rel.format(Math.round(s / 86400), 'day');
}
