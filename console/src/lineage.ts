// Rotation as the key list shows it. A rotated key keeps working through its
// grace period, and the two keys draw on one daily budget (the contract:
// rotating never grants a fresh quota), so the list shows that budget once,
// on the newest key, and says it is shared.
import type { KeyRow } from "./keysource";

/** Whether the key may still be used (suspended keys come back with the tier). */
export const isLive = (r: KeyRow) => r.status === "active" || r.status === "suspended";

/** When a rotated key that still works stops: its grace period's end, else null. */
export function graceEnd(r: KeyRow, now: number): number | null {
  if (r.status !== "active" || !r.rotatedTo || !r.expiresAt) return null;
  const end = Date.parse(r.expiresAt);
  return end > now ? end : null;
}

/** How a key's daily budget is shared with the other live keys of its lineage. */
export interface SharedBudget {
  /** The prefix of the key whose card shows the budget: the lineage's newest live key. */
  holder: string;
  /** On the holder: the prefixes of the older keys still in their grace period. */
  sharedWith: string[];
}

/** Per prefix, the budget it shares; keys that share with no live key are absent. */
export function sharedBudgets(rows: KeyRow[], now: number): Map<string, SharedBudget> {
  const byPrefix = new Map(rows.map((r) => [r.prefix, r]));
  const groups = new Map<string, string[]>();
  for (const r of rows) {
    if (graceEnd(r, now) === null) continue;
    let head = r;
    for (let hops = 0; head.rotatedTo && hops < rows.length; hops++) {
      const next = byPrefix.get(head.rotatedTo);
      if (!next || !isLive(next)) break;
      head = next;
    }
    if (head === r) continue;
    groups.set(head.prefix, [...(groups.get(head.prefix) ?? []), r.prefix]);
  }
  const out = new Map<string, SharedBudget>();
  for (const [holder, olds] of groups) {
    out.set(holder, { holder, sharedWith: olds });
    for (const p of olds) out.set(p, { holder, sharedWith: [] });
  }
  return out;
}

/**
 * The rows in list order (newest first), except that a key in its grace
 * period follows the successor whose card shows their shared budget.
 */
export function budgetOrder(rows: KeyRow[], budgets: Map<string, SharedBudget>): KeyRow[] {
  const follows = (r: KeyRow) => {
    const b = budgets.get(r.prefix);
    return b && b.holder !== r.prefix ? b.holder : undefined;
  };
  const after = new Map<string, KeyRow[]>();
  for (const r of rows) {
    const holder = follows(r);
    if (holder) after.set(holder, [...(after.get(holder) ?? []), r]);
  }
  return rows.flatMap((r) => (follows(r) ? [] : [r, ...(after.get(r.prefix) ?? [])]));
}
