// The audit log as the console reads it: one shape for the two logs (the
// user's own keys on /v1, their workspace's on /api/v1/workspaces), and each
// record said as a sentence a person reads ("You lowered the daily limit of
// CI Pipeline from 250 to 5").
import type { Api, AuditAction, AuditActor, AuditChange, AuditEvent, AuditReason, AuditValue, WorkspaceAuditEvent } from "./api";
import { fmtDateTime, fmtNumber } from "./format";
import { person, type Viewer } from "./people";

/** A record, whichever log it came from; changes by their /v1 field names. */
export interface Activity {
  id: string;
  time: string;
  action: AuditAction;
  actor: AuditActor;
  key: { prefix: string; id: string; name: string } | null;
  sourceIp: string | null;
  userAgent: string | null;
  changes: Record<string, AuditChange>;
  reason?: AuditReason;
}

export interface ActivityPage {
  events: Activity[];
  /** The cursor of the next (older) page; null on the last. */
  next: string | null;
}

export interface ActivitySource {
  kind: "personal" | "workspace";
  page(limit: number, cursor?: string): Promise<ActivityPage>;
  /** The emails of the members the log may name, by user id (what the API tells of them). */
  people(): Promise<Map<string, string>>;
}

// Every field of both records is named here, read or left out with the
// reason, as for keys (keysource.ts): a field the document adds or renames
// is a compile error until the view decides what to show of it.
export const v1AuditFields = {
  id: "read",
  time: "read",
  action: "read",
  actor: "read",
  key: "read",
  sourceIp: "read",
  userAgent: "read",
  changes: "read",
  reason: "read",
} as const satisfies Record<keyof AuditEvent, string>;

export const workspaceAuditFields = {
  id: "read",
  time: "read",
  action: "read",
  actor: "read",
  key: "read",
  source_ip: "read",
  user_agent: "read",
  changes: "read, each field by its /v1 name",
  reason: "read",
} as const satisfies Record<keyof WorkspaceAuditEvent, string>;

/** The workspace surface's snake_case field names, by their /v1 names. */
const snakeNames: Record<string, string> = {
  daily_limit: "dailyLimit",
  expires_at: "expiresAt",
  allowed_ips: "allowedIps",
  rotated_to: "rotatedTo",
  rotated_from: "rotatedFrom",
  leaked_url: "leakedUrl",
};

const fromWorkspace = (e: WorkspaceAuditEvent): Activity => ({
  id: e.id,
  time: e.time,
  action: e.action,
  actor: e.actor,
  key: e.key,
  sourceIp: e.source_ip,
  userAgent: e.user_agent,
  changes: Object.fromEntries(Object.entries(e.changes).map(([f, c]) => [snakeNames[f] ?? f, c])),
  reason: e.reason,
});

export function personalActivity(api: Api): ActivitySource {
  return {
    kind: "personal",
    page: async (limit, cursor) => {
      const p = await api.auditLog(limit, cursor);
      return { events: p.events, next: p.nextCursor };
    },
    // Only the user changes their own keys (with operators, GitHub and keygate).
    people: async () => new Map(),
  };
}

export function workspaceActivity(api: Api, ws: string): ActivitySource {
  return {
    kind: "workspace",
    page: async (limit, cursor) => {
      const p = await api.workspaceAuditLog(ws, limit, cursor);
      return { events: p.events.map(fromWorkspace), next: p.next_cursor };
    },
    // The workspace's keys name their creators, with the email their sign-in carried.
    people: async () => {
      const m = new Map<string, string>();
      for (const k of await api.listWorkspaceKeys(ws)) if (k.created_by_email) m.set(k.created_by, k.created_by_email);
      return m;
    },
  };
}

// ---- sentences

/** Who did it, at the start of a sentence; title: their id when the name hides it. */
export function actorName(a: AuditActor, me: Viewer, people: Map<string, string>): { text: string; title?: string } {
  switch (a.type) {
    case "user": {
      if (!a.id) return { text: "A member" };
      const p = person(a.id, people.get(a.id), me);
      // "You", "Another member (…)"; an email stays as it is written.
      return { text: p.text.includes("@") ? p.text : capitalize(p.text), title: p.title };
    }
    case "admin":
      return a.id ? { text: `An operator (${a.id})` } : { text: "An operator" };
    case "github":
      return { text: "GitHub secret scanning" };
    case "system":
      return { text: "keygate" };
    default:
      return { text: capitalize(String((a as { type: string }).type)) };
  }
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

const planNames: Record<string, string> = { free: "Free", pro: "Pro", team: "Team", enterprise: "Enterprise" };

/** A value of a field as a sentence shows it. */
function shown(field: string, v: AuditValue): string {
  if (v === null) return field === "expiresAt" ? "never" : "none";
  if (Array.isArray(v)) {
    if (field === "scopes") return v.length === 1 && v[0] === "*" ? "every scope" : v.join(", ");
    if (field === "allowedIps") return v.length ? v.join(", ") : "anywhere";
    return v.join(", ");
  }
  if (typeof v === "number") return fmtNumber(v);
  if (field === "expiresAt") return fmtDateTime(v);
  if (field === "tier") return planNames[v] ?? v;
  return v;
}

/** The order changes are told in: the fields a person reads first, first. */
const fieldOrder = ["name", "dailyLimit", "expiresAt", "scopes", "allowedIps", "status"];

/**
 * One changed field as a phrase. first: the phrase names the key (later
 * phrases of the same sentence say "its").
 */
function changePhrase(field: string, c: AuditChange, key: string, first: boolean): string {
  const of = (thing: string) => (first ? `the ${thing} of ${key}` : `its ${thing}`);
  const from = shown(field, c.from);
  const to = shown(field, c.to);
  switch (field) {
    case "name":
      return first ? `renamed ${from} to ${to}` : `renamed it to ${to}`;
    case "dailyLimit": {
      const verb = typeof c.from === "number" && typeof c.to === "number" && c.to < c.from ? "lowered" : "raised";
      return `${verb} ${of("daily limit")} from ${from} to ${to}`;
    }
    case "expiresAt":
      if (c.to === null) return `removed ${of("expiry")} (it was ${from})`;
      if (c.from === null) return `set ${of("expiry")} to ${to}`;
      return `moved ${of("expiry")} from ${from} to ${to}`;
    case "scopes":
      return `changed ${of("scopes")} from ${from} to ${to}`;
    case "allowedIps":
      if (Array.isArray(c.to) && c.to.length === 0) return `let ${first ? key : "it"} be used from anywhere (it was limited to ${from})`;
      return `limited ${first ? key : "it"} to ${to} (it was ${from === "anywhere" ? "usable from anywhere" : `limited to ${from}`})`;
    default:
      return `changed ${of(field)} from ${from} to ${to}`;
  }
}

/** Phrases joined as a person lists them: "a, b and c". */
function listed(parts: string[]): string {
  return parts.length < 2 ? (parts[0] ?? "") : `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
}

/** What a new key was made with, beyond its name: " with a daily limit of 250, limited to reports:read, usable only from 203.0.113.0/24". */
function createdWith(ch: Record<string, AuditChange>): string {
  const parts: string[] = [];
  if (typeof ch.dailyLimit?.to === "number") parts.push(` with a daily limit of ${fmtNumber(ch.dailyLimit.to)}`);
  const scopes = ch.scopes?.to;
  if (Array.isArray(scopes) && !(scopes.length === 1 && scopes[0] === "*")) parts.push(` limited to ${scopes.join(", ")}`);
  const nets = ch.allowedIps?.to;
  if (Array.isArray(nets) && nets.length) parts.push(` usable only from ${nets.join(", ")}`);
  if (typeof ch.expiresAt?.to === "string") parts.push(` expiring ${fmtDateTime(ch.expiresAt.to)}`);
  return parts.join(",");
}

/** The record as a sentence, its actor first (without the time and place, which the view shows apart). */
export function sentence(ev: Activity, me: Viewer, people: Map<string, string>): string {
  const who = actorName(ev.actor, me, people).text;
  const key = ev.key?.name ?? "a key";
  const ch = ev.changes;
  switch (ev.action) {
    case "key.created": {
      const from = ch.rotatedFrom?.to;
      const as = typeof from === "string" ? ` as the successor of ${from}` : "";
      return `${who} created ${key}${as}${createdWith(ch)}.`;
    }
    case "key.updated": {
      const fields = Object.keys(ch).sort((a, b) => rank(a) - rank(b));
      if (!fields.length) return `${who} edited ${key}.`;
      return `${who} ${listed(fields.map((f, i) => changePhrase(f, ch[f], key, i === 0)))}.`;
    }
    case "key.rotated": {
      const to = ch.rotatedTo?.to;
      const succ = typeof to === "string" ? `: its successor is ${to}` : "";
      const until = ch.expiresAt?.to;
      const grace = typeof until === "string" ? `; the old key works until ${fmtDateTime(until)}` : "; the old key stopped working at once";
      return `${who} rotated ${key}${succ}${grace}.`;
    }
    case "key.revoked":
      return ev.reason === "leaked" ? `${who} revoked ${key} because it was found in public code.` : `${who} revoked ${key}.`;
    case "key.leaked": {
      const url = ch.leakedUrl?.to;
      return `${who} found ${key} in public code${typeof url === "string" ? ` (at ${url})` : ""}.`;
    }
    case "key.suspended":
      return `${who} suspended ${key}: the plan no longer allows API keys.`;
    case "key.reactivated":
      return `${who} reactivated ${key}: the plan allows API keys again.`;
    case "owner.tier_changed": {
      const t = ch.tier;
      // from is null when keygate had not recorded a plan before.
      if (!t) return `${who} changed the plan.`;
      return t.from === null ? `${who} set the plan to ${shown("tier", t.to)}.` : `${who} changed the plan from ${shown("tier", t.from)} to ${shown("tier", t.to)}.`;
    }
    case "key.limit_reached":
      return `${key} reached its daily limit: its further requests were refused (429) until midnight UTC.`;
    case "key.expiring": {
      const at = ch.expiresAt?.to;
      return `${key} expires ${typeof at === "string" ? `on ${fmtDateTime(at)}` : "within 7 days"}: rotate it or make a new one before then.`;
    }
    default:
      return `${who}: ${String(ev.action)} on ${key}.`;
  }
}

const rank = (f: string) => {
  const i = fieldOrder.indexOf(f);
  return i < 0 ? fieldOrder.length : i;
};

/** The client of a request, short: "curl/8.5.0", or "a web browser" for the console and other browsers. */
export function clientName(ua: string | null): string | null {
  if (!ua) return null;
  if (/^Mozilla\//.test(ua)) return "a web browser";
  return ua.split(/\s/)[0].slice(0, 60);
}
