// Formatting for people: dates in the reader's locale and time zone.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const number = new Intl.NumberFormat();

export const fmtNumber = (n: number) => number.format(n);

export function fmtDateTime(iso: string | null | undefined, none = "Never"): string {
  if (!iso) return none;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

export function fmtDate(iso: string | null | undefined, none = "Never"): string {
  if (!iso) return none;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateOnly.format(d);
}

/** A date input's value (YYYY-MM-DD) as the end of that day in UTC, RFC 3339. */
export function endOfDayUTC(date: string): string {
  return `${date}T23:59:59Z`;
}

/** The YYYY-MM-DD of an RFC 3339 time (UTC), for a date input. */
export function dateInputValue(iso: string | null): string {
  return iso ? iso.slice(0, 10) : "";
}

/** YYYY-MM-DD of today plus days, UTC. */
export function isoDay(plusDays = 0): string {
  return new Date(Date.now() + plusDays * 86_400_000).toISOString().slice(0, 10);
}

/** A short day label for a chart axis, e.g. "Nov 3". */
export function dayLabel(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  return d.toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
}
