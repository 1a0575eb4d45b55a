// The dialogs of the key list: create, edit, rotate, revoke, and the one that
// shows a new key once.
import { useState } from "preact/hooks";
import type { KeyRow, NewKeyInput } from "./keysource";
import type { UpdateKeyRequest } from "./api";
import type { KeyLimits } from "./config";
import { dateInputValue, endOfDayUTC, fmtDateTime, isoDay } from "./format";
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

function parseLimit(s: string): number | undefined {
  const v = s.trim();
  return v === "" ? undefined : Number(v);
}

export function CreateKeyDialog(props: { onCreate: (input: NewKeyInput) => Promise<void>; onClose: () => void; limits: KeyLimits }) {
  const { defaultDailyLimit, maxKeyLifetimeDays } = props.limits;
  const [name, setName] = useState("");
  const [limit, setLimit] = useState("");
  const [expires, setExpires] = useState("");
  const a = useAction();
  return (
    <Modal title="Create an API key" onClose={props.onClose} testId="create-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void a.run(() =>
            props.onCreate({
              name,
              dailyLimit: parseLimit(limit),
              expiresAt: expires ? endOfDayUTC(expires) : undefined,
            }),
          );
        }}
      >
        <label>
          Name
          <input name="name" required maxLength={100} autoFocus value={name} placeholder="CI pipeline" onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Daily limit <span class="hint">requests a day; {defaultDailyLimit} when left empty</span>
          <input name="dailyLimit" type="number" min={1} step={1} inputMode="numeric" value={limit} placeholder={String(defaultDailyLimit)} onInput={(e) => setLimit(e.currentTarget.value)} />
        </label>
        <label>
          Expires <span class="hint">optional; at the end of that day (UTC)</span>
          <input name="expiresAt" type="date" min={isoDay(1)} max={isoDay(maxKeyLifetimeDays - 1)} value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </label>
        <ErrorBanner error={a.error} />
        <Actions busy={a.busy} submit="Create key" onCancel={props.onClose} />
      </form>
    </Modal>
  );
}

export function EditKeyDialog(props: { row: KeyRow; onSave: (changes: UpdateKeyRequest) => Promise<void>; onClose: () => void; limits: KeyLimits }) {
  const { row } = props;
  const [name, setName] = useState(row.name);
  const [limit, setLimit] = useState(String(row.dailyLimit));
  const [expires, setExpires] = useState(dateInputValue(row.expiresAt));
  const a = useAction();
  return (
    <Modal title={`Edit ${row.name}`} onClose={props.onClose} testId="edit-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const changes: UpdateKeyRequest = {};
          if (name !== row.name) changes.name = name;
          const l = parseLimit(limit);
          if (l !== undefined && l !== row.dailyLimit) changes.dailyLimit = l;
          if (expires !== dateInputValue(row.expiresAt)) changes.expiresAt = expires ? endOfDayUTC(expires) : null;
          void a.run(() => (Object.keys(changes).length ? props.onSave(changes) : Promise.resolve(props.onClose())));
        }}
      >
        <p class="muted">
          <code>{row.prefix}</code>
        </p>
        <label>
          Name
          <input name="name" required maxLength={100} autoFocus value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Daily limit <span class="hint">applies from the next request</span>
          <input name="dailyLimit" type="number" min={1} step={1} inputMode="numeric" required value={limit} onInput={(e) => setLimit(e.currentTarget.value)} />
        </label>
        <label>
          Expires <span class="hint">empty: never</span>
          <input name="expiresAt" type="date" min={isoDay(1)} max={isoDay(props.limits.maxKeyLifetimeDays - 1)} value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </label>
        <ErrorBanner error={a.error} />
        <Actions busy={a.busy} submit="Save changes" onCancel={props.onClose} />
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

export function RotateDialog(props: { row: KeyRow; onRotate: (grace: number) => Promise<void>; onClose: () => void }) {
  const [grace, setGrace] = useState(3600);
  const a = useAction();
  return (
    <Modal title={`Rotate ${props.row.name}`} onClose={props.onClose} testId="rotate-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void a.run(() => props.onRotate(grace));
        }}
      >
        <p>
          A new key replaces <code>{props.row.prefix}</code> with the same name and daily limit. Both keys share one daily
          budget while the old one still works.
        </p>
        <label>
          Old key keeps working for
          <select name="grace" autoFocus value={String(grace)} onChange={(e) => setGrace(Number(e.currentTarget.value))}>
            {graces.map((g) => (
              <option key={g.s} value={String(g.s)}>
                {g.label}
              </option>
            ))}
          </select>
        </label>
        <ErrorBanner error={a.error} />
        <Actions busy={a.busy} submit="Rotate key" onCancel={props.onClose} />
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

export function ShownOnceDialog(props: { title: string; name: string; apiKey: string; note?: string; onClose: () => void }) {
  const [copied, setCopied] = useState<"" | "yes" | "no">("");
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
    <Modal title={props.title} onClose={props.onClose} wide testId="shown-once">
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
      <div class="dialog-actions">
        <button type="button" class="primary" onClick={props.onClose}>
          I have saved it
        </button>
      </div>
    </Modal>
  );
}

export function rotatedNote(oldRow: KeyRow, grace: number): string {
  if (grace === 0) return `The old key ${oldRow.prefix} has stopped working.`;
  const until = fmtDateTime(new Date(Date.now() + grace * 1000).toISOString());
  return `The old key ${oldRow.prefix} keeps working until ${until}.`;
}
