// A list of keys (the user's own, or their workspace's) with today's usage,
// a 30-day chart per key, and the actions the list's API allows.
import { useEffect, useState } from "preact/hooks";
import type { KeyUsage } from "./api";
import type { KeyLimits } from "./config";
import type { Issued, KeyRow, KeySource } from "./keysource";
import { CreateKeyDialog, EditKeyDialog, RevokeDialog, RotateDialog, ShownOnceDialog, rotatedNote } from "./dialogs";
import { UsageChart } from "./chart";
import { fmtDate, fmtDateTime, fmtNumber } from "./format";
import { ErrorBanner, StatusBadge, UsageBar } from "./ui";

const HISTORY_DAYS = 30;

type Dialog =
  | { kind: "create" }
  | { kind: "edit"; row: KeyRow }
  | { kind: "rotate"; row: KeyRow }
  | { kind: "revoke"; row: KeyRow }
  | { kind: "shown"; title: string; issued: Issued; note?: string };

export interface KeysViewProps {
  source: KeySource;
  title: string;
  intro: string;
  /** Why the user may not create or rotate keys; empty when they may. */
  cannotCreate?: string;
  /** The signed-in user's sub, to say "you" in "created by". */
  me: string;
  limits: KeyLimits;
}

export function KeysView(props: KeysViewProps) {
  const { source } = props;
  const [rows, setRows] = useState<KeyRow[] | null>(null);
  const [usage, setUsage] = useState<Map<string, KeyUsage>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [chart, setChart] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

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

  const close = () => setDialog(null);
  const canCreate = !props.cannotCreate;
  const active = rows?.filter((r) => r.status === "active").length ?? 0;

  return (
    <section class="keys" aria-labelledby="keys-title" aria-busy={loading}>
      <div class="section-head">
        <div>
          <h1 id="keys-title">{props.title}</h1>
          <p class="muted">{props.intro}</p>
        </div>
        <div class="head-actions">
          <button type="button" class="secondary" onClick={() => void load()} disabled={loading}>
            Refresh
          </button>
          <button type="button" class="primary" onClick={() => setDialog({ kind: "create" })} disabled={!canCreate} aria-describedby={canCreate ? undefined : "cannot-create"}>
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
            {rows.map((row) => (
              <KeyItem
                key={row.prefix}
                row={row}
                usage={usage.get(row.prefix)}
                me={props.me}
                showChart={chart === row.prefix}
                canRotate={canCreate}
                editable={source.editable}
                onChart={() => setChart(chart === row.prefix ? null : row.prefix)}
                onEdit={() => setDialog({ kind: "edit", row })}
                onRotate={() => setDialog({ kind: "rotate", row })}
                onRevoke={() => setDialog({ kind: "revoke", row })}
              />
            ))}
          </ul>
        </>
      )}

      {dialog?.kind === "create" && (
        <CreateKeyDialog
          limits={props.limits}
          onClose={close}
          onCreate={async (input) => {
            const issued = await source.create(input);
            setDialog({ kind: "shown", title: "Your new API key", issued });
            void load(issued.row);
          }}
        />
      )}
      {dialog?.kind === "edit" && (
        <EditKeyDialog
          row={dialog.row}
          limits={props.limits}
          onClose={close}
          onSave={async (changes) => {
            await source.update(dialog.row, changes);
            close();
            void load();
          }}
        />
      )}
      {dialog?.kind === "rotate" && (
        <RotateDialog
          row={dialog.row}
          onClose={close}
          onRotate={async (grace) => {
            const issued = await source.rotate(dialog.row, grace);
            setDialog({ kind: "shown", title: "The successor key", issued, note: rotatedNote(dialog.row, grace) });
            void load(issued.row);
          }}
        />
      )}
      {dialog?.kind === "revoke" && (
        <RevokeDialog
          row={dialog.row}
          onClose={close}
          onRevoke={async () => {
            await source.revoke(dialog.row);
            close();
            void load();
          }}
        />
      )}
      {dialog?.kind === "shown" && (
        <ShownOnceDialog title={dialog.title} name={dialog.issued.row.name} apiKey={dialog.issued.key} note={dialog.note} onClose={close} />
      )}
    </section>
  );
}

function KeyItem(props: {
  row: KeyRow;
  usage?: KeyUsage;
  me: string;
  showChart: boolean;
  canRotate: boolean;
  editable: boolean;
  onChart: () => void;
  onEdit: () => void;
  onRotate: () => void;
  onRevoke: () => void;
}) {
  const { row, usage } = props;
  const live = row.status === "active" || row.status === "suspended";
  const chartId = `chart-${row.prefix}`;
  return (
    <li class={`key status-${row.status}`} data-prefix={row.prefix} data-status={row.status}>
      <div class="key-head">
        <h3 class="key-name">{row.name}</h3>
        <StatusBadge status={row.status} />
        <code class="prefix" title="The key's prefix, its public identifier">
          {row.prefix}
        </code>
      </div>
      <div class="key-usage">
        <span class="label">Used today</span>
        <UsageBar used={usage?.used} limit={row.dailyLimit} />
      </div>
      <dl class="key-facts">
        <div>
          <dt>Daily limit</dt>
          <dd data-testid="daily-limit">{fmtNumber(row.dailyLimit)}</dd>
        </div>
        <div>
          <dt>Last used</dt>
          <dd>{fmtDateTime(row.lastUsedAt)}</dd>
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
        {row.createdBy && (
          <div>
            <dt>Created by</dt>
            <dd>{row.createdBy === props.me ? "you" : row.createdBy}</dd>
          </div>
        )}
      </dl>
      {row.rotatedTo && <p class="muted note">Rotated: replaced by {row.rotatedTo}.</p>}
      {row.revokedReason === "leaked" && <p class="note danger-text">Revoked because it was found in public code.</p>}
      {row.status === "suspended" && <p class="note">Suspended: your plan no longer allows API keys. It works again when you upgrade.</p>}
      <div class="key-actions">
        {usage?.history && (
          <button type="button" class="secondary" aria-expanded={props.showChart} aria-controls={chartId} onClick={props.onChart}>
            {props.showChart ? "Hide usage" : "Usage, 30 days"}
          </button>
        )}
        {live && props.editable && (
          <button type="button" class="secondary" onClick={props.onEdit}>
            Edit
          </button>
        )}
        {row.status === "active" && props.canRotate && !row.rotatedTo && (
          <button type="button" class="secondary" onClick={props.onRotate}>
            Rotate
          </button>
        )}
        {live && (
          <button type="button" class="danger-outline" onClick={props.onRevoke}>
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
