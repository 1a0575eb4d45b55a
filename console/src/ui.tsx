// Small building blocks shared by the views.
import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import type { KeyStatus } from "./api";
import { fmtClock, fmtNumber, fmtTimeLeft } from "./format";

/**
 * A modal dialog (the native <dialog>: focus stays inside it). Escape asks
 * onEscape when given (a dialog that would lose something asks first), else
 * closes. The view that opened it puts the focus back when it closes.
 */
export function Modal(props: {
  title: string;
  onClose: () => void;
  onEscape?: () => void;
  children: ComponentChildren;
  wide?: boolean;
  testId?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const unmounting = useRef(false);
  const id = useId();
  const escape = () => (props.onEscape ?? props.onClose)();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => {
      unmounting.current = true;
      d?.close();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class={props.wide ? "modal wide" : "modal"}
      aria-labelledby={id}
      data-testid={props.testId}
      // Escape is handled here, on keydown, so that the browser never turns
      // it into a close the page did not decide (Chromium closes a dialog on
      // a second Escape without user activation even when cancel is
      // prevented).
      onKeyDown={(e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          escape();
        }
      }}
      onCancel={(e) => {
        e.preventDefault();
        escape();
      }}
      onClose={() => {
        // Closed by the browser, not by this component: keep it on screen
        // and let the dialog decide, as for Escape.
        if (!unmounting.current && ref.current?.isConnected) {
          ref.current.showModal();
          escape();
        }
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

/** The time now, again every `everyMs` while the component is shown. */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

const statusText: Record<KeyStatus, string> = {
  active: "Active",
  suspended: "Suspended",
  expired: "Expired",
  revoked: "Revoked",
};

/**
 * A key's status. A rotated key that still works shows its grace period and
 * when it stops, not the "Active" of its successor.
 */
export function StatusBadge(props: { status: KeyStatus; graceEnd?: number | null; now: number }) {
  if (props.graceEnd) {
    const left = props.graceEnd - props.now;
    return (
      <span class="status-grace">
        <span class="badge status-grace" data-testid="status">
          Grace period — stops at {fmtClock(props.graceEnd, props.now)}
        </span>{" "}
        <span class="muted small" data-testid="grace-left">
          {fmtTimeLeft(left)} left
        </span>
      </span>
    );
  }
  return (
    <span class={`badge status-${props.status}`} data-testid="status">
      {statusText[props.status] ?? props.status}
    </span>
  );
}

/** Used today against the daily limit, as a bar with its numbers. */
export function UsageBar(props: { used?: number; limit: number; label: string }) {
  if (props.used === undefined) {
    return (
      <span class="muted used" data-testid="used-today">
        —
      </span>
    );
  }
  const pct = props.limit > 0 ? Math.min(100, (props.used / props.limit) * 100) : 0;
  const level = pct >= 100 ? "full" : pct >= 80 ? "high" : "ok";
  return (
    <div class="usage">
      <div
        class={`bar ${level}`}
        role="progressbar"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={props.limit}
        aria-valuenow={props.used}
        aria-valuetext={`${fmtNumber(props.used)} of ${fmtNumber(props.limit)} requests`}
      >
        <span style={{ width: `${pct}%` }} />
      </div>
      <span class="used" data-testid="used-today">
        {fmtNumber(props.used)} of {fmtNumber(props.limit)}
      </span>
    </div>
  );
}
