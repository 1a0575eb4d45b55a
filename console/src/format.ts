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

const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
const dayAndTime = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });

/** A moment soon: "11:50" today, "Dec 6, 11:50" on another day (the reader's time zone). */
export function fmtClock(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  return d.toDateString() === new Date(now).toDateString() ? timeOnly.format(d) : dayAndTime.format(d);
}

/** A duration ahead, roughly: "under a minute", "58 min", "1 h 5 min", "23 h". */
export function fmtTimeLeft(ms: number): string {
  const min = Math.floor(ms / 60_000);
  if (min < 1) return "under a minute";
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  const m = min % 60;
  return h >= 10 || m === 0 ? `${h} h` : `${h} h ${m} min`;
}

const tierNames = { free: "Free", pro: "Pro", team: "Team", enterprise: "Enterprise" } as const;

/** A tier as the plans are called: "Pro". */
export const tierName = (t: keyof typeof tierNames) => tierNames[t];
