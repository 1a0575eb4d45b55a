// The API names the field at fault in its own words ("Field 'dailyLimit' may
// be at most 10000 on the pro tier"); a form shows the same fact next to its
// field, in the form's words ("The daily limit may be at most 10,000 on the
// Pro plan"). Errors that name no field of the form stay as the API wrote them.
import { ApiError } from "./api";
import { fmtDateTime, fmtNumber } from "./format";

/** The fields of the key forms. */
export type FormField = "name" | "dailyLimit" | "expiresAt" | "grace";

/** The API's field names on both surfaces, as the forms call them. */
const wireNames: Record<string, FormField> = {
  name: "name",
  dailyLimit: "dailyLimit",
  daily_limit: "dailyLimit",
  expiresAt: "expiresAt",
  expires_at: "expiresAt",
  gracePeriodSeconds: "grace",
  grace_period_seconds: "grace",
};

const subjects: Record<FormField, string> = {
  name: "The name",
  dailyLimit: "The daily limit",
  expiresAt: "The expiry date",
  grace: "The grace period",
};

export interface FieldError {
  field: FormField;
  message: string;
}

/** The form field an API error is about, with its message in the form's words; null if none. */
export function fieldError(err: unknown): FieldError | null {
  if (!(err instanceof ApiError)) return null;
  const m = /^Field '([^']+)' ([\s\S]*)$/.exec(err.message);
  const field = m && wireNames[m[1]];
  if (!m || !field) return null;
  return { field, message: `${subjects[field]} ${inFormWords(m[2])}` };
}

function inFormWords(rest: string): string {
  return rest
    .replace(/\b(the|your) (free|pro|team|enterprise) tier\b/gi, (_, the: string, t: string) => `${the} ${t[0].toUpperCase()}${t.slice(1).toLowerCase()} plan`)
    .replace(/a higher tier raises the cap/g, "a higher plan raises it")
    .replace(/\(got ([^)]*)\)/g, "(you entered $1)")
    .replace(/(?<![\d:T.-])\d{4,}(?![\d:T-]|\.\d)/g, (n) => fmtNumber(Number(n)))
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, (iso) => fmtDateTime(iso));
}
