// What a key may call and from where: its scopes (["*"] is full access) and
// its allowed networks ([] is anywhere), as the cards say them and as the
// create, edit and rotate forms choose them.
import type { ComponentChildren } from "preact";
import type { Scope } from "./api";
import type { FieldError } from "./formerrors";
import type { AccessInput, KeyRow } from "./keysource";
import { parseNetworks } from "./networks";

/** Every scope: the key acts as its owner (key management aside). */
export const allScopes = "*";

export const isFullAccess = (scopes: string[]) => scopes.length === 1 && scopes[0] === allScopes;

/** "Full access", "Read-only: reports:read" when every scope only reads, else "Limited to: …". */
export function scopeSummary(scopes: string[]): string {
  if (isFullAccess(scopes)) return "Full access";
  const names = scopes.join(", ");
  return scopes.every((s) => s.endsWith(":read")) ? `Read-only: ${names}` : `Limited to: ${names}`;
}

/** "Only from 203.0.113.0/24, …", or null for a key usable from anywhere. */
export function networkSummary(allowedIps: string[]): string | null {
  return allowedIps.length ? `Only from ${allowedIps.join(", ")}` : null;
}

/** The line of a key card that says what it may call and from where. */
export function AccessLine(props: { row: KeyRow }) {
  const { scopes, allowedIps } = props.row;
  const networks = networkSummary(allowedIps);
  return (
    <ul class={`access${isFullAccess(scopes) ? "" : " limited"}`} data-testid="access" aria-label="Access">
      <li data-testid="scopes">{scopeSummary(scopes)}</li>
      {networks && <li data-testid="networks">{networks}</li>}
    </ul>
  );
}

/** The scopes and networks as a form holds them while the person edits. */
export interface AccessDraft {
  full: boolean;
  /** The scopes ticked, used when full is off. */
  chosen: string[];
  /** The networks field as typed. */
  networks: string;
}

export const newKeyAccess: AccessDraft = { full: true, chosen: [], networks: "" };

/** A draft holding a key's current scopes and networks. */
export function accessOf(row: KeyRow): AccessDraft {
  const full = isFullAccess(row.scopes);
  return { full, chosen: full ? [] : [...row.scopes], networks: row.allowedIps.join("\n") };
}

/** The scopes and networks of a draft as the API takes them, or the field at fault. */
export function readAccess(d: AccessDraft): { ok: true; scopes: string[]; allowedIps: string[] } | { ok: false; error: FieldError } {
  if (!d.full && d.chosen.length === 0) {
    return { ok: false, error: { field: "scopes", message: "Choose at least one scope, or Full access." } };
  }
  const n = parseNetworks(d.networks);
  if (!n.ok) return { ok: false, error: { field: "allowedIps", message: n.message } };
  return { ok: true, scopes: d.full ? [allScopes] : [...d.chosen].sort(), allowedIps: n.entries.map((e) => e.canonical) };
}

/**
 * What a form sends: only what differs from the key's current access (for a
 * new key, from full access from anywhere, which the API applies when the
 * fields are absent).
 */
export function accessChanges(d: AccessDraft, current: { scopes: string[]; allowedIps: string[] }): AccessInput | FieldError {
  const a = readAccess(d);
  if (!a.ok) return a.error;
  const out: AccessInput = {};
  if (a.scopes.join(" ") !== [...current.scopes].sort().join(" ")) out.scopes = a.scopes;
  if (a.allowedIps.join(",") !== current.allowedIps.join(",")) out.allowedIps = a.allowedIps;
  return out;
}

export const isFieldError = (v: AccessInput | FieldError): v is FieldError => "field" in v && "message" in v;

/** The deployment's scopes as the forms have them: loading, loaded, or failed. */
export interface ScopeCatalogue {
  scopes: Scope[] | null;
  error: unknown;
}

/** A field's ids, state and attributes, as the dialogs' useForm gives them. */
interface FieldProps {
  id: string;
  hintId: string;
  errId: string;
  bad: boolean;
  message: ComponentChildren;
  input: object;
}

/**
 * The scopes (a fieldset of checkboxes: Full access, then each scope with what
 * it is for and its routes) and the networks (a textarea, one per line).
 */
export function AccessFields(props: {
  draft: AccessDraft;
  onChange: (d: AccessDraft) => void;
  catalogue: ScopeCatalogue;
  scopesF: FieldProps;
  networksF: FieldProps;
  /** Said under the scopes' legend, e.g. when a change takes effect. */
  scopesHint: string;
  networksHint: string;
}) {
  const { draft, catalogue, scopesF, networksF } = props;
  const set = (p: Partial<AccessDraft>) => props.onChange({ ...draft, ...p });
  // A scope the key has that the deployment no longer lists is still shown,
  // ticked, so it is not dropped unseen (and while the list loads, the key's own).
  const known = catalogue.scopes ?? [];
  const stale = draft.chosen.filter((c) => !known.some((s) => s.name === c));
  const rows: { name: string; about: string; routes: string[] }[] = [
    ...known.map((s) => ({ name: s.name, about: s.description, routes: s.routes })),
    ...stale.map((name) => ({ name, about: catalogue.scopes ? "no longer a scope of this API" : "", routes: [] })),
  ];
  return (
    <>
      <fieldset class="field scopes" id={scopesF.id} aria-describedby={scopesF.bad ? `${scopesF.errId} ${scopesF.hintId}` : scopesF.hintId} data-testid="scopes-field">
        <legend>Scopes</legend>
        <p class="hint" id={scopesF.hintId}>
          {props.scopesHint}
        </p>
        <div class="check">
          <input
            type="checkbox"
            id="scope-all"
            name="scopes"
            value={allScopes}
            checked={draft.full}
            aria-describedby="scope-all-about"
            onChange={(e) => set({ full: e.currentTarget.checked })}
          />
          <label for="scope-all">Full access</label>
          <span class="hint" id="scope-all-about">
            every scope, including ones added later; untick to choose
          </span>
        </div>
        {rows.length > 0 && (
          <ul class="scope-list">
            {rows.map((s, i) => (
              <li class="check" key={s.name}>
                <input
                  type="checkbox"
                  id={`scope-${i}`}
                  name="scopes"
                  value={s.name}
                  disabled={draft.full}
                  checked={!draft.full && draft.chosen.includes(s.name)}
                  aria-describedby={`scope-${i}-about`}
                  onChange={(e) =>
                    set({ chosen: e.currentTarget.checked ? [...draft.chosen, s.name] : draft.chosen.filter((c) => c !== s.name) })
                  }
                />
                <label for={`scope-${i}`}>
                  <code>{s.name}</code>
                </label>
                <span class="hint" id={`scope-${i}-about`}>
                  {s.about}
                  {s.about && s.routes.length > 0 && " · "}
                  {s.routes.map((r, j) => (
                    <span class="route" key={r}>
                      {j > 0 && ", "}
                      {r}
                    </span>
                  ))}
                </span>
              </li>
            ))}
          </ul>
        )}
        {catalogue.scopes === null &&
          (catalogue.error ? (
            <p class="hint" role="status">
              Could not load this API's scopes ({catalogue.error instanceof Error ? catalogue.error.message : "unknown error"}); Full access
              still works.
            </p>
          ) : (
            <p class="hint" role="status">
              Loading this API's scopes…
            </p>
          ))}
        {scopesF.message}
      </fieldset>
      <div class="field">
        <label for={networksF.id}>Allowed networks</label>
        <span class="hint" id={networksF.hintId}>
          {props.networksHint}
        </span>
        <textarea
          {...networksF.input}
          rows={3}
          spellcheck={false}
          autoComplete="off"
          autoCapitalize="off"
          placeholder={"Empty: from anywhere. For example\n203.0.113.0/24\n2001:db8::/32"}
          value={draft.networks}
          onInput={(e) => set({ networks: e.currentTarget.value })}
        />
        {networksF.message}
      </div>
    </>
  );
}
