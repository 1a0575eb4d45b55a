// The dialogs of the key list: create, edit, rotate, revoke, and the one that
// shows a new key once.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { KeyRow, NewKeyInput, RotateInput } from "./keysource";
import type { UpdateKeyRequest } from "./api";
import {
  AccessFields,
  accessChanges,
  accessOf,
  isFieldError,
  networkSummary,
  newKeyAccess,
  scopeSummary,
  type AccessDraft,
  type ScopeCatalogue,
} from "./access";
import type { Tier } from "./auth";
import type { KeyLimits } from "./config";
import { fieldError, type FieldError, type FormField } from "./formerrors";
import { dateInputValue, endOfDayUTC, fmtDateTime, fmtNumber, isoDay, tierName } from "./format";
import { ErrorBanner, Modal, useAction } from "./ui";

function Actions(props: { busy: boolean; submit: string; onCancel: () => void; danger?: boolean }) {
  return (
    <div class="dialog-actions">
      <button type="button" class="secondary" onClick={props.onCancel} disabled={props.busy}>
        Cancel
      </button>
      <button type="submit" class={props.danger ? "danger" : "primary"} disabled={props.busy}>
        {props.busy ? "Working…" : props.submit}
      </button>
    </div>
  );
}

/**
 * A form's submit with its errors: one about a field is shown next to that
 * field (and the field gets the focus), any other in the form's banner.
 */
function useForm() {
  const a = useAction();
  const [invalid, setInvalid] = useState<FieldError | null>(null);
  const form = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (invalid) form.current?.querySelector<HTMLElement>(`[name=${invalid.field}]:not(:disabled)`)?.focus();
  }, [invalid]);
  return {
    form,
    busy: a.busy,
    /** The error for the banner: one that names no field of the form. */
    error: invalid ? null : a.error,
    /** Runs the submit unless check finds a field at fault. */
    submit(check: () => FieldError | null, fn: () => Promise<void>) {
      const bad = check();
      setInvalid(bad);
      if (bad) return;
      void a.run(async () => {
        try {
          await fn();
        } catch (e) {
          const fe = fieldError(e);
          if (fe) setInvalid(fe);
          throw e;
        }
      });
    },
    /** The attributes of a field's input, its hint's id and its message. */
    field(name: FormField) {
      const bad = invalid?.field === name;
      const id = `${name}-field`;
      const errId = `${name}-error`;
      const hintId = `${name}-hint`;
      return {
        id,
        hintId,
        errId,
        bad,
        input: {
          id,
          name,
          "aria-invalid": bad ? ("true" as const) : undefined,
          "aria-describedby": bad ? `${errId} ${hintId}` : hintId,
        },
        message: bad ? (
          <p class="field-error" id={errId} data-testid={`${name}-error`}>
            {invalid!.message}
          </p>
        ) : null,
      };
    },
  };
}

/** The daily limit a tier may set, or undefined when the tier may set none (free). */
function capOf(limits: KeyLimits, tier: Tier): number | undefined {
  return tier === "free" ? undefined : limits.tierCaps[tier];
}

/** Checks a daily limit as typed; empty is fine when the API fills in its default. */
function checkLimit(s: string, cap: number | undefined, tier: Tier, emptyOK: boolean): FieldError | null {
  const v = s.trim();
  if (v === "") return emptyOK ? null : { field: "dailyLimit", message: "Give the key a daily limit." };
  const n = Number(v);
  const range = cap ? `from 1 to ${fmtNumber(cap)}` : "of at least 1";
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) {
    return { field: "dailyLimit", message: `The daily limit must be a whole number ${range}.` };
  }
  if (cap && n > cap) {
    return { field: "dailyLimit", message: `The daily limit may be at most ${fmtNumber(cap)} on your ${tierName(tier)} plan; a higher plan raises it.` };
  }
  return null;
}

function checkName(s: string): FieldError | null {
  return s.trim() === "" ? { field: "name", message: "Give the key a name, such as the script or pipeline that uses it." } : null;
}

function parseLimit(s: string): number | undefined {
  const v = s.trim();
  return v === "" ? undefined : Number(v);
}

/** A labelled form field: its label, a hint beside it, the control, and its error. */
function Field(props: { label: string; f: { id: string; hintId: string; message: ComponentChildren }; hint?: ComponentChildren; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={props.f.id}>{props.label}</label>
      {props.hint && (
        <span class="hint" id={props.f.hintId}>
          {props.hint}
        </span>
      )}
      {props.children}
      {props.f.message}
    </div>
  );
}

const networksHint = "one per line: an IPv4 or IPv6 address or CIDR range, at most 20; empty: from anywhere";

export function CreateKeyDialog(props: {
  onCreate: (input: NewKeyInput) => Promise<void>;
  onClose: () => void;
  limits: KeyLimits;
  tier: Tier;
  catalogue: ScopeCatalogue;
  /** Whether the key can be edited later (the workspace API cannot). */
  editable: boolean;
}) {
  const { defaultDailyLimit, maxKeyLifetimeDays } = props.limits;
  const cap = capOf(props.limits, props.tier);
  const [name, setName] = useState("");
  const [limit, setLimit] = useState("");
  const [expires, setExpires] = useState("");
  const [access, setAccess] = useState<AccessDraft>(newKeyAccess);
  const f = useForm();
  const nameF = f.field("name");
  const limitF = f.field("dailyLimit");
  const expiresF = f.field("expiresAt");
  return (
    <Modal title="Create an API key" onClose={props.onClose} testId="create-dialog">
      <form
        ref={f.form}
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          // Full access from anywhere is what the API gives when the fields are absent.
          const a = accessChanges(access, { scopes: ["*"], allowedIps: [] });
          f.submit(
            () => checkName(name) ?? checkLimit(limit, cap, props.tier, true) ?? (isFieldError(a) ? a : null),
            () =>
              props.onCreate({
                name,
                dailyLimit: parseLimit(limit),
                expiresAt: expires ? endOfDayUTC(expires) : undefined,
                ...(isFieldError(a) ? {} : a),
              }),
          );
        }}
      >
        <Field label="Name" hint="up to 100 characters" f={nameF}>
          <input {...nameF.input} required maxLength={100} autoFocus value={name} placeholder="CI pipeline" onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field
          label="Daily limit"
          hint={
            <>
              requests a day{cap && <>, up to {fmtNumber(cap)} on your {tierName(props.tier)} plan</>}; {fmtNumber(defaultDailyLimit)} when left empty
            </>
          }
          f={limitF}
        >
          <input {...limitF.input} type="number" min={1} max={cap} step={1} inputMode="numeric" value={limit} placeholder={String(defaultDailyLimit)} onInput={(e) => setLimit(e.currentTarget.value)} />
        </Field>
        <Field label="Expires" hint="optional; at the end of that day (UTC)" f={expiresF}>
          <input {...expiresF.input} type="date" min={isoDay(1)} max={isoDay(maxKeyLifetimeDays - 1)} value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </Field>
        <AccessFields
          draft={access}
          onChange={setAccess}
          catalogue={props.catalogue}
          scopesF={f.field("scopes")}
          networksF={f.field("allowedIps")}
          scopesHint="what the key may call"
          networksHint={networksHint}
        />
        {!props.editable && (
          <p class="muted note" data-testid="not-editable">
            Workspace keys cannot be edited once made (the workspace API has no PATCH). To change one's scopes or networks, rotate
            it and choose them for its successor.
          </p>
        )}
        <ErrorBanner error={f.error} />
        <Actions busy={f.busy} submit="Create key" onCancel={props.onClose} />
      </form>
    </Modal>
  );
}

export function EditKeyDialog(props: {
  row: KeyRow;
  onSave: (changes: UpdateKeyRequest) => Promise<void>;
  onClose: () => void;
  limits: KeyLimits;
  tier: Tier;
  catalogue: ScopeCatalogue;
}) {
  const { row } = props;
  const cap = capOf(props.limits, props.tier);
  const [name, setName] = useState(row.name);
  const [limit, setLimit] = useState(String(row.dailyLimit));
  const [expires, setExpires] = useState(dateInputValue(row.expiresAt));
  const [access, setAccess] = useState<AccessDraft>(() => accessOf(row));
  const f = useForm();
  const nameF = f.field("name");
  const limitF = f.field("dailyLimit");
  const expiresF = f.field("expiresAt");
  return (
    <Modal title={`Edit ${row.name}`} onClose={props.onClose} testId="edit-dialog">
      <form
        ref={f.form}
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const changes: UpdateKeyRequest = {};
          if (name !== row.name) changes.name = name;
          const l = parseLimit(limit);
          if (l !== undefined && l !== row.dailyLimit) changes.dailyLimit = l;
          if (expires !== dateInputValue(row.expiresAt)) changes.expiresAt = expires ? endOfDayUTC(expires) : null;
          const a = accessChanges(access, row);
          if (!isFieldError(a)) Object.assign(changes, a);
          // A limit above the cap is the API's to refuse only when it is a
          // change: a key above the cap (set before a downgrade) may keep it.
          const limitCheck = () => (changes.dailyLimit === undefined && limit.trim() !== "" ? null : checkLimit(limit, cap, props.tier, false));
          f.submit(
            () => checkName(name) ?? limitCheck() ?? (isFieldError(a) ? a : null),
            () => (Object.keys(changes).length ? props.onSave(changes) : Promise.resolve(props.onClose())),
          );
        }}
      >
        <p class="muted">
          <code>{row.prefix}</code>
        </p>
        <Field label="Name" hint="up to 100 characters" f={nameF}>
          <input {...nameF.input} required maxLength={100} autoFocus value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field
          label="Daily limit"
          hint={
            <>
              applies from the next request{cap && <>; up to {fmtNumber(cap)} on your {tierName(props.tier)} plan</>}
            </>
          }
          f={limitF}
        >
          <input {...limitF.input} type="number" min={1} max={cap} step={1} inputMode="numeric" required value={limit} onInput={(e) => setLimit(e.currentTarget.value)} />
        </Field>
        <Field label="Expires" hint="empty: never" f={expiresF}>
          <input {...expiresF.input} type="date" min={isoDay(1)} max={isoDay(props.limits.maxKeyLifetimeDays - 1)} value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </Field>
        <AccessFields
          draft={access}
          onChange={setAccess}
          catalogue={props.catalogue}
          scopesF={f.field("scopes")}
          networksF={f.field("allowedIps")}
          scopesHint="fewer apply from the next request; more can take up to 6 minutes"
          networksHint={`applies from the next request; ${networksHint}`}
        />
        <ErrorBanner error={f.error} />
        <Actions busy={f.busy} submit="Save changes" onCancel={props.onClose} />
      </form>
    </Modal>
  );
}

const graces = [
  { s: 0, label: "Stop the old key now" },
  { s: 300, label: "5 minutes" },
  { s: 3600, label: "1 hour" },
  { s: 86400, label: "24 hours" },
];

export function RotateDialog(props: {
  row: KeyRow;
  onRotate: (input: RotateInput) => Promise<void>;
  onClose: () => void;
  catalogue: ScopeCatalogue;
  /** Whether the key can be edited (else rotating is the way to change its access). */
  editable: boolean;
}) {
  const { row } = props;
  const [grace, setGrace] = useState(3600);
  const [keep, setKeep] = useState(true);
  const [access, setAccess] = useState<AccessDraft>(() => accessOf(row));
  const f = useForm();
  const graceF = f.field("grace");
  const networks = networkSummary(row.allowedIps);
  return (
    <Modal title={`Rotate ${row.name}`} onClose={props.onClose} testId="rotate-dialog">
      <form
        ref={f.form}
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          // Absent, the successor keeps the old key's scopes and networks (the contract).
          const a = keep ? {} : accessChanges(access, row);
          f.submit(
            () => (isFieldError(a) ? a : null),
            () => props.onRotate({ gracePeriodSeconds: grace, ...(isFieldError(a) ? {} : a) }),
          );
        }}
      >
        <p>
          A new key replaces <code>{row.prefix}</code> with the same name and daily limit. Both keys share one daily budget while
          the old one still works.
        </p>
        <Field label="Old key keeps working for" hint="then it gets 401" f={graceF}>
          <select {...graceF.input} autoFocus value={String(grace)} onChange={(e) => setGrace(Number(e.currentTarget.value))}>
            {graces.map((g) => (
              <option key={g.s} value={String(g.s)}>
                {g.label}
              </option>
            ))}
          </select>
        </Field>
        <div class="field check keep">
          <input type="checkbox" id="keep-access" name="keepAccess" checked={keep} aria-describedby="keep-access-now" onChange={(e) => setKeep(e.currentTarget.checked)} />
          <label for="keep-access">Keep its scopes and networks as they are</label>
          <span class="hint" id="keep-access-now" data-testid="current-access">
            {scopeSummary(row.scopes)}
            {networks ? `; ${networks[0].toLowerCase()}${networks.slice(1)}` : "; from anywhere"}
            {props.editable ? "" : ". Untick to choose new ones for the successor: workspace keys cannot be edited"}
          </span>
        </div>
        {!keep && (
          <AccessFields
            draft={access}
            onChange={setAccess}
            catalogue={props.catalogue}
            scopesF={f.field("scopes")}
            networksF={f.field("allowedIps")}
            scopesHint="of the new key"
            networksHint={`of the new key; ${networksHint}`}
          />
        )}
        <ErrorBanner error={f.error} />
        <Actions busy={f.busy} submit="Rotate key" onCancel={props.onClose} />
      </form>
    </Modal>
  );
}

export function RevokeDialog(props: { row: KeyRow; onRevoke: () => Promise<void>; onClose: () => void }) {
  const a = useAction();
  return (
    <Modal title={`Revoke ${props.row.name}?`} onClose={props.onClose} testId="revoke-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void a.run(props.onRevoke);
        }}
      >
        <p>
          Requests with <code>{props.row.prefix}…</code> fail from the very next one. This cannot be undone; the key stays in
          the list as revoked.
        </p>
        <ErrorBanner error={a.error} />
        <Actions busy={a.busy} submit="Revoke key" onCancel={props.onClose} danger />
      </form>
    </Modal>
  );
}

/**
 * The full key, shown this once. Leaving without "I have saved it" (Escape)
 * asks first: the key cannot be shown again.
 */
export function ShownOnceDialog(props: { title: string; name: string; apiKey: string; note?: string; onClose: () => void }) {
  const [copied, setCopied] = useState<"" | "yes" | "no">("");
  const [asking, setAsking] = useState(false);
  const back = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) back.current?.focus();
  }, [asking]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.apiKey);
      setCopied("yes");
    } catch {
      const input = document.getElementById("new-key") as HTMLInputElement | null;
      input?.select();
      setCopied("no");
    }
  };
  return (
    <Modal title={props.title} onClose={props.onClose} onEscape={() => setAsking(!asking)} wide testId="shown-once">
      <p class="banner warn" role="note">
        <strong>Copy this key now: you will not see it again.</strong> keygate keeps only a hash of it; after you close this
        window only its prefix is shown.
      </p>
      <label for="new-key">{props.name}</label>
      <div class="copy-row">
        <input id="new-key" class="secret" readOnly value={props.apiKey} onFocus={(e) => e.currentTarget.select()} spellcheck={false} />
        <button type="button" class="primary" onClick={copy}>
          Copy
        </button>
      </div>
      <p class="muted" role="status">
        {copied === "yes" ? "Copied to the clipboard." : copied === "no" ? "Copying is blocked here: the key is selected, press Ctrl+C." : ""}
      </p>
      {props.note && <p class="muted">{props.note}</p>}
      {asking ? (
        <div class="confirm-close" role="group" aria-labelledby="confirm-close-q" data-testid="confirm-close">
          <p id="confirm-close-q">
            <strong>Close without saving the key?</strong> It cannot be shown again: you would have to rotate the key or
            create another.
          </p>
          <div class="dialog-actions">
            <button type="button" class="secondary" ref={back} onClick={() => setAsking(false)}>
              Back to the key
            </button>
            <button type="button" class="danger" onClick={props.onClose}>
              Close without saving
            </button>
          </div>
        </div>
      ) : (
        <div class="dialog-actions">
          <button type="button" class="primary" onClick={props.onClose}>
            I have saved it
          </button>
        </div>
      )}
    </Modal>
  );
}

export function rotatedNote(oldRow: KeyRow, grace: number): string {
  if (grace === 0) return `The old key ${oldRow.prefix} has stopped working.`;
  const until = fmtDateTime(new Date(Date.now() + grace * 1000).toISOString());
  return `The old key ${oldRow.prefix} keeps working until ${until}; until then the two share one daily budget.`;
}
