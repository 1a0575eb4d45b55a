// The API names the field at fault in its own words ("Field 'dailyLimit' may
// be at most 10000 on the pro tier"); a form shows the same fact next to its
// field, in the form's words ("The daily limit may be at most 10,000 on the
// Pro plan"). Errors that name no field of the form stay as the API wrote them.
import { ApiError } from "./api";
import { fmtDateTime, fmtNumber } from "./format";
import { networkFaultMessage, type NetworkFault } from "./networks";

/** The fields of the key forms. */
export type FormField = "name" | "dailyLimit" | "expiresAt" | "grace" | "scopes" | "allowedIps";

/** The API's field names on both surfaces, as the forms call them. */
const wireNames: Record<string, FormField> = {
  name: "name",
  dailyLimit: "dailyLimit",
  daily_limit: "dailyLimit",
  expiresAt: "expiresAt",
  expires_at: "expiresAt",
  gracePeriodSeconds: "grace",
  grace_period_seconds: "grace",
  scopes: "scopes",
  allowedIps: "allowedIps",
  allowed_ips: "allowedIps",
};

const subjects: Record<FormField, string> = {
  name: "The name",
  dailyLimit: "The daily limit",
  expiresAt: "The expiry date",
  grace: "The grace period",
  scopes: "The scopes",
  allowedIps: "The networks",
};

/**
 * Messages about the scopes and networks, said as the form says them: the
 * API writes for a JSON body ("Field 'scopes' must list at least one scope,
 * or ["*"] ..."), the form has a Full access checkbox and a list of lines.
 */
const rewrites: Partial<Record<FormField, [RegExp, string][]>> = {
  scopes: [
    [/^must list at least one scope[\s\S]*$/, "Choose at least one scope, or Full access."],
    [/^holds "\*"[\s\S]*$/, "Choose either Full access or some scopes, not both."],
    [/^names ("[^"]*"), which is not a scope of this API[\s\S]*$/, "$1 is not a scope of this API any more; reload the page to see its scopes."],
    [/^names ("[^"]*") twice\.$/, "$1 is chosen twice."],
  ],
  allowedIps: [
    [/^may list at most (\d+) networks \(got (\d+)\)\.$/, "List at most $1 networks; you entered $2."],
    [/^lists (\S+) twice\.$/, "$1 is already in the list."],
  ],
};

/** The API's words for what is wrong with one network it was given (shared/keys parseNetwork). */
const networkFaults: [RegExp, NetworkFault][] = [
  [/^is not an IPv4 or IPv6 address or CIDR prefix\b/, "invalid"],
  [/^has a zone\b/, "zone"],
  [/^is an IPv4-mapped IPv6 /, "mapped"],
  [/^has host bits set; the network is (\S+)\.$/, "hostBits"],
];

/** The API's message about an entry of allowedIps ("\"10.0.0.1/8\" has host bits set; ..."), in the form's words. */
function networkEntryError(rest: string): string | null {
  const m = /^("(?:[^"\\]|\\.)*") ([\s\S]*)$/.exec(rest);
  if (!m) return null;
  let entry: string;
  try {
    entry = JSON.parse(m[1]) as string;
  } catch {
    entry = m[1].slice(1, -1);
  }
  for (const [re, fault] of networkFaults) {
    const f = re.exec(m[2]);
    if (f) return networkFaultMessage(entry, fault, f[1]);
  }
  return null;
}

export interface FieldError {
  field: FormField;
  message: string;
}

/** The form field an API error is about, with its message in the form's words; null if none. */
export function fieldError(err: unknown): FieldError | null {
  if (!(err instanceof ApiError)) return null;
  // "Field 'x' may be ..." or, naming an entry of a list, "Field 'x': "entry" is ...".
  const m = /^Field '([^']+)'(: | )([\s\S]*)$/.exec(err.message);
  const field = m && wireNames[m[1]];
  if (!m || !field) return null;
  const [, , sep, rest] = m;
  const entry = field === "allowedIps" && sep === ": " ? networkEntryError(rest) : null;
  if (entry) return { field, message: entry };
  for (const [re, to] of rewrites[field] ?? []) {
    if (re.test(rest)) return { field, message: rest.replace(re, to) };
  }
  return { field, message: `${subjects[field]}${sep === ": " ? ": " : " "}${inFormWords(rest)}` };
}

function inFormWords(rest: string): string {
  return rest
    .replace(/\b(the|your) (free|pro|team|enterprise) tier\b/gi, (_, the: string, t: string) => `${the} ${t[0].toUpperCase()}${t.slice(1).toLowerCase()} plan`)
    .replace(/a higher tier raises the cap/g, "a higher plan raises it")
    .replace(/\(got ([^)]*)\)/g, "(you entered $1)")
    .replace(/(?<![\d:T.-])\d{4,}(?![\d:T-]|\.\d)/g, (n) => fmtNumber(Number(n)))
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, (iso) => fmtDateTime(iso));
}
