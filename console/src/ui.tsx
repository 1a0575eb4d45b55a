// Small building blocks shared by the views.
import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import type { KeyStatus } from "./api";
import { fmtNumber } from "./format";

/** A modal dialog (the native <dialog>: focus stays inside, Escape closes it). */
export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean; testId?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      class={props.wide ? "modal wide" : "modal"}
      aria-labelledby={id}
      data-testid={props.testId}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <h2 id={id}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

/** The message of an error, as the person should read it. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error && err.message) return err.message;
  return "Something went wrong.";
}

export function ErrorBanner(props: { error: unknown; onDismiss?: () => void }) {
  if (!props.error) return null;
  return (
    <div class="banner error" role="alert">
      <span>{errorMessage(props.error)}</span>
      {props.onDismiss && (
        <button type="button" class="link" onClick={props.onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}

/** Runs an async action with a busy flag and its error kept for display. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, setError };
}

const statusText: Record<KeyStatus, string> = {
  active: "Active",
  suspended: "Suspended",
  expired: "Expired",
  revoked: "Revoked",
};

export function StatusBadge(props: { status: KeyStatus }) {
  return <span class={`badge status-${props.status}`}>{statusText[props.status] ?? props.status}</span>;
}

/** Used today against the daily limit, as a bar with its numbers. */
export function UsageBar(props: { used?: number; limit: number }) {
  if (props.used === undefined) {
    return <span class="muted used" data-testid="used-today">—</span>;
  }
  const pct = props.limit > 0 ? Math.min(100, (props.used / props.limit) * 100) : 0;
  const level = pct >= 100 ? "full" : pct >= 80 ? "high" : "ok";
  return (
    <div class="usage">
      <div
        class={`bar ${level}`}
        role="progressbar"
        aria-label="Used today"
        aria-valuemin={0}
        aria-valuemax={props.limit}
        aria-valuenow={props.used}
      >
        <span style={{ width: `${pct}%` }} />
      </div>
      <span class="used" data-testid="used-today">
        {fmtNumber(props.used)} of {fmtNumber(props.limit)}
      </span>
    </div>
  );
}
