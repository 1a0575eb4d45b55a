// A list of keys (the user's own, or their workspace's) with today's usage,
// a 30-day chart per key, and the actions the list's API allows.
import { useEffect, useRef, useState } from "preact/hooks";
import type { KeyUsage } from "./api";
import type { Tier } from "./auth";
import type { KeyLimits } from "./config";
import type { Issued, KeyRow, KeySource } from "./keysource";
import { CreateKeyDialog, EditKeyDialog, RevokeDialog, RotateDialog, ShownOnceDialog, rotatedNote } from "./dialogs";
import { UsageChart } from "./chart";
import { fmtClock, fmtDate, fmtDateTime, fmtNumber } from "./format";
import { budgetOrder, graceEnd, isLive, sharedBudgets, type SharedBudget } from "./lineage";
import { ErrorBanner, StatusBadge, UsageBar, useNow } from "./ui";
import { AccessLine, type ScopeCatalogue } from "./access";
import { person, type Viewer } from "./people";

const HISTORY_DAYS = 30;

type Dialog =
  | { kind: "create" }
  | { kind: "edit"; row: KeyRow }
  | { kind: "rotate"; row: KeyRow }
  | { kind: "revoke"; row: KeyRow }
  | { kind: "shown"; title: string; issued: Issued; note?: string };

/** The signed-in user, to say "you" for the keys they made. */
export interface Me extends Viewer {
  tier: Tier;
}

export interface KeysViewProps {
  source: KeySource;
  title: string;
  intro: string;
  /** Why the user may not create or rotate keys; empty when they may. */
  cannotCreate?: string;
  me: Me;
  limits: KeyLimits;
}

/** Whether the focus can go to el: still on the page, shown and enabled. */
function focusable(el: HTMLElement | null | undefined): el is HTMLElement {
  return !!el && el.isConnected && !(el as HTMLButtonElement).disabled && el.getClientRects().length > 0;
}

/** The heading of a key's card (focusable from script). */
function cardHeading(prefix: string): HTMLElement | null {
  return document.getElementById(`key-name-${prefix}`);
}

export function KeysView(props: KeysViewProps) {
  const { source } = props;
  const [rows, setRows] = useState<KeyRow[] | null>(null);
  const [usage, setUsage] = useState<Map<string, KeyUsage>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [chart, setChart] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [catalogue, setCatalogue] = useState<ScopeCatalogue>({ scopes: null, error: null });
  const now = useNow(30_000);
  const heading = useRef<HTMLHeadingElement>(null);
  // Where the focus goes when the dialogs close: the control that opened
  // them, or when that is gone (a revoked key has no Revoke button) the card
  // it acted on, or the page's heading.
  const returnTo = useRef<(() => HTMLElement | null) | null>(null);

  const load = async (mustShow?: KeyRow) => {
    setLoading(true);
    try {
      const [list, u] = await Promise.all([source.list(), source.usage(HISTORY_DAYS)]);
      // The list reads an index that may lag a write by a moment: a key just
      // made is shown even if the list does not have it yet.
      if (mustShow && !list.some((r) => r.prefix === mustShow.prefix)) list.unshift(mustShow);
      setRows(list);
      setUsage(new Map(u.keys.map((k) => [k.prefix, k])));
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    setRows(null);
    void load();
  }, [source]);

  /** The deployment's scopes, which the create, edit and rotate forms offer: fetched when one first opens. */
  const loadScopes = () => {
    if (catalogue.scopes) return;
    setCatalogue({ scopes: null, error: null });
    source.scopes().then(
      (scopes) => setCatalogue({ scopes, error: null }),
      (error: unknown) => setCatalogue({ scopes: null, error }),
    );
  };

  useEffect(() => {
    if (dialog !== null || !returnTo.current) return;
    const target = returnTo.current();
    returnTo.current = null;
    (focusable(target) ? target : heading.current)?.focus();
  }, [dialog]);

  /** Opens a dialog from the control e came from; afterwards, the focus returns there, else to fallback. */
  const open = (d: Dialog, e: Event, fallback?: () => HTMLElement | null) => {
    const opener = e.currentTarget as HTMLElement;
    returnTo.current = () => (focusable(opener) ? opener : (fallback?.() ?? null));
    if (d.kind === "create" || d.kind === "edit" || d.kind === "rotate") loadScopes();
    setDialog(d);
  };
  const close = () => setDialog(null);
  const canCreate = !props.cannotCreate;
  const active = rows?.filter((r) => r.status === "active").length ?? 0;
  const budgets = sharedBudgets(rows ?? [], now);
  const names = new Map<string, number>();
  for (const r of rows ?? []) names.set(r.name, (names.get(r.name) ?? 0) + 1);

  return (
    <section class="keys" aria-labelledby="keys-title" aria-busy={loading}>
      <div class="section-head">
        <div>
          <h1 id="keys-title" tabIndex={-1} ref={heading}>
            {props.title}
          </h1>
          <p class="muted">{props.intro}</p>
        </div>
        <div class="head-actions">
          <button type="button" class="secondary" onClick={() => void load()} disabled={loading}>
            Refresh
          </button>
          <button
            type="button"
            class="primary"
            onClick={(e) => open({ kind: "create" }, e)}
            disabled={!canCreate}
            aria-describedby={canCreate ? undefined : "cannot-create"}
          >
            Create API key
          </button>
        </div>
      </div>

      {!canCreate && (
        <div class="banner upgrade" id="cannot-create" data-testid="upgrade">
          <strong>API keys need the Pro tier or above.</strong> {props.cannotCreate}
        </div>
      )}
      <ErrorBanner error={error} onDismiss={() => setError(null)} />

      {rows === null ? (
        loading && <p class="muted">Loading keys…</p>
      ) : rows.length === 0 ? (
        <div class="empty">
          <p>No API keys yet.</p>
          {canCreate && <p class="muted">Create one for a script or a CI pipeline; it is shown once, then only its prefix.</p>}
        </div>
      ) : (
        <>
          <p class="muted count">
            {active} active of {rows.length} {rows.length === 1 ? "key" : "keys"}
          </p>
          <ul class="key-list">
            {budgetOrder(rows, budgets).map((row) => (
              <KeyItem
                key={row.prefix}
                row={row}
                who={(names.get(row.name) ?? 0) > 1 ? `${row.name} (${row.prefix})` : row.name}
                usage={usage.get(row.prefix)}
                budget={budgets.get(row.prefix)}
                now={now}
                me={props.me}
                showChart={chart === row.prefix}
                canRotate={canCreate}
                editable={source.editable}
                onChart={() => setChart(chart === row.prefix ? null : row.prefix)}
                onEdit={(e) => open({ kind: "edit", row }, e, () => cardHeading(row.prefix))}
                onRotate={(e) => open({ kind: "rotate", row }, e, () => cardHeading(row.prefix))}
                onRevoke={(e) => open({ kind: "revoke", row }, e, () => cardHeading(row.prefix))}
              />
            ))}
          </ul>
        </>
      )}

      {dialog?.kind === "create" && (
        <CreateKeyDialog
          limits={props.limits}
          tier={props.me.tier}
          catalogue={catalogue}
          editable={source.editable}
          onClose={close}
          onCreate={async (input) => {
            const issued = await source.create(input);
            await load(issued.row);
            setDialog({ kind: "shown", title: "Your new API key", issued });
          }}
        />
      )}
      {dialog?.kind === "edit" && (
        <EditKeyDialog
          row={dialog.row}
          limits={props.limits}
          tier={props.me.tier}
          catalogue={catalogue}
          onClose={close}
          onSave={async (changes) => {
            await source.update(dialog.row, changes);
            await load();
            close();
          }}
        />
      )}
      {dialog?.kind === "rotate" && (
        <RotateDialog
          row={dialog.row}
          catalogue={catalogue}
          editable={source.editable}
          onClose={close}
          onRotate={async (input) => {
            const grace = input.gracePeriodSeconds;
            const issued = await source.rotate(dialog.row, input);
            await load(issued.row);
            // A rotated key has no Rotate button any more: the focus goes to
            // the card of its successor, the key just shown.
            returnTo.current = () => cardHeading(issued.row.prefix);
            setDialog({ kind: "shown", title: "The successor key", issued, note: rotatedNote(dialog.row, grace) });
          }}
        />
      )}
      {dialog?.kind === "revoke" && (
        <RevokeDialog
          row={dialog.row}
          onClose={close}
          onRevoke={async () => {
            await source.revoke(dialog.row);
            await load();
            close();
          }}
        />
      )}
      {dialog?.kind === "shown" && (
        <ShownOnceDialog title={dialog.title} name={dialog.issued.row.name} apiKey={dialog.issued.key} note={dialog.note} onClose={close} />
      )}
    </section>
  );
}

function LeakNote(props: { row: KeyRow }) {
  const { row } = props;
  const url = row.leak?.url;
  const where = url ? (
    <>
      {" "}
      at{" "}
      {/^https:\/\//.test(url) ? (
        <a href={url} target="_blank" rel="noreferrer">
          {url}
        </a>
      ) : (
        <code>{url}</code>
      )}
    </>
  ) : null;
  const when = row.leak?.at ? ` on ${fmtDateTime(row.leak.at)}` : "";
  return (
    <p class="note danger-text" data-testid="leaked">
      {row.revokedReason === "leaked" ? "Revoked because it was found in public code" : `GitHub found this key in public code${when}; revoke or rotate it now`}
      {where}.
    </p>
  );
}

function KeyItem(props: {
  row: KeyRow;
  /** The key's name for screen readers, with its prefix when another key has the same name. */
  who: string;
  usage?: KeyUsage;
  budget?: SharedBudget;
  now: number;
  me: Me;
  showChart: boolean;
  canRotate: boolean;
  editable: boolean;
  onChart: () => void;
  onEdit: (e: Event) => void;
  onRotate: (e: Event) => void;
  onRevoke: (e: Event) => void;
}) {
  const { row, usage, budget, who } = props;
  const live = isLive(row);
  const grace = graceEnd(row, props.now);
  const chartId = `chart-${row.prefix}`;
  // A rotated key in its grace period draws on its successor's budget, which
  // that key's card shows once for both.
  const sharedElsewhere = budget && budget.holder !== row.prefix ? budget.holder : undefined;
  const sharers = budget?.holder === row.prefix ? budget.sharedWith : [];
  const by = row.createdBy && person(row.createdBy.sub, row.createdBy.email, props.me);
  return (
    <li class={`key status-${row.status}${grace ? " in-grace" : ""}`} data-prefix={row.prefix} data-status={row.status}>
      <div class="key-head">
        <h3 class="key-name" id={`key-name-${row.prefix}`} tabIndex={-1}>
          {row.name}
        </h3>
        <StatusBadge status={row.status} graceEnd={grace} now={props.now} />
        <code class="prefix" title="The key's prefix, its public identifier">
          {row.prefix}
        </code>
      </div>
      <div class="key-usage">
        <span class="label">{sharers.length ? "Used today, shared" : "Used today"}</span>
        {sharedElsewhere ? (
          <span class="muted shared-note" data-testid="shared-budget">
            Counts toward the daily budget it shares with its successor <code>{sharedElsewhere}</code>, shown above.
          </span>
        ) : (
          <UsageBar
            used={usage?.used}
            limit={row.dailyLimit}
            label={sharers.length ? `Used today by ${who} and the key it replaced (one shared budget)` : `Used today by ${who}`}
          />
        )}
      </div>
      {sharers.length > 0 && (
        <p class="muted note" data-testid="shared-budget">
          One daily budget, shared with the key it replaced (<code>{sharers.join(", ")}</code>) until its grace period
          ends: requests with either key count here.
        </p>
      )}
      <dl class="key-facts">
        <div>
          <dt>Daily limit</dt>
          <dd data-testid="daily-limit">
            {fmtNumber(row.dailyLimit)}
            {budget && <span class="muted">, shared</span>}
          </dd>
        </div>
        <div>
          <dt>Last used</dt>
          <dd data-testid="last-used">{fmtDateTime(row.lastUsedAt)}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{fmtDate(row.createdAt)}</dd>
        </div>
        {row.status === "revoked" ? (
          <div>
            <dt>Revoked</dt>
            <dd>{fmtDateTime(row.revokedAt, "Yes")}</dd>
          </div>
        ) : (
          <div>
            <dt>{row.status === "expired" ? "Expired" : "Expires"}</dt>
            <dd>{fmtDateTime(row.expiresAt)}</dd>
          </div>
        )}
        {by && (
          <div>
            <dt>Created by</dt>
            <dd data-testid="created-by" title={by.title}>
              {by.text}
            </dd>
          </div>
        )}
      </dl>
      <AccessLine row={row} />
      {row.rotatedTo && (
        <p class="muted note">
          Rotated: replaced by <code>{row.rotatedTo}</code>
          {grace ? `; it keeps working until ${fmtClock(grace, props.now)}.` : "."}
        </p>
      )}
      {row.leak && <LeakNote row={row} />}
      {row.status === "suspended" && <p class="note">Suspended: your plan no longer allows API keys. It works again when you upgrade.</p>}
      <div class="key-actions">
        {usage?.history && !sharedElsewhere && (
          <button
            type="button"
            class="secondary"
            aria-expanded={props.showChart}
            aria-controls={chartId}
            aria-label={`${props.showChart ? "Hide usage" : "Usage, 30 days"}: ${who}`}
            onClick={props.onChart}
          >
            {props.showChart ? "Hide usage" : "Usage, 30 days"}
          </button>
        )}
        {live && props.editable && (
          <button type="button" class="secondary" aria-label={`Edit ${who}`} onClick={props.onEdit}>
            Edit
          </button>
        )}
        {row.status === "active" && props.canRotate && !row.rotatedTo && (
          <button type="button" class="secondary" aria-label={`Rotate ${who}`} onClick={props.onRotate}>
            Rotate
          </button>
        )}
        {live && (
          <button type="button" class="danger-outline" aria-label={`Revoke ${who}`} onClick={props.onRevoke}>
            Revoke
          </button>
        )}
      </div>
      {props.showChart && usage?.history && (
        <div id={chartId}>
          <UsageChart name={row.name} history={usage.history} limit={row.dailyLimit} />
        </div>
      )}
    </li>
  );
}
