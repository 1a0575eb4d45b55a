// A key's requests per day as an SVG bar chart, with its daily limit.
import type { DayUsage } from "./api";
import { dayLabel, fmtNumber } from "./format";

const W = 640;
const H = 200;
const pad = { top: 16, right: 12, bottom: 28, left: 44 };

/** Rounds up to a readable axis maximum (1, 2, 2.5, 5 × 10^n). */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function UsageChart(props: { name: string; history: DayUsage[]; limit: number }) {
  const { history, limit } = props;
  const peak = Math.max(0, ...history.map((d) => d.used));
  const max = niceMax(Math.max(peak, limit));
  const iw = W - pad.left - pad.right;
  const ih = H - pad.top - pad.bottom;
  const step = iw / Math.max(1, history.length);
  const bw = Math.max(2, step * 0.7);
  const y = (v: number) => pad.top + ih - (v / max) * ih;
  const total = history.reduce((s, d) => s + d.used, 0);
  const label = `Requests per day with ${props.name} over the last ${history.length} days: ${fmtNumber(total)} in all, at most ${fmtNumber(peak)} in a day; daily limit ${fmtNumber(limit)}.`;
  const ticks = [0, max / 2, max];
  const labelled = new Set([0, Math.floor((history.length - 1) / 2), history.length - 1]);

  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} data-testid="usage-chart">
        {ticks.map((t) => (
          <g key={t}>
            <line class="grid" x1={pad.left} x2={W - pad.right} y1={y(t)} y2={y(t)} />
            <text class="axis" x={pad.left - 6} y={y(t) + 4} text-anchor="end">
              {fmtNumber(t)}
            </text>
          </g>
        ))}
        {history.map((d, i) => {
          const x = pad.left + i * step + (step - bw) / 2;
          const over = d.used >= limit && limit > 0;
          return (
            <g key={d.date}>
              <rect class={over ? "day full" : "day"} x={x} y={y(d.used)} width={bw} height={Math.max(0, pad.top + ih - y(d.used))} rx={1.5}>
                <title>
                  {dayLabel(d.date)}: {fmtNumber(d.used)} requests
                </title>
              </rect>
              {labelled.has(i) && (
                <text class="axis" x={x + bw / 2} y={H - 8} text-anchor="middle">
                  {i === history.length - 1 ? "Today" : dayLabel(d.date)}
                </text>
              )}
            </g>
          );
        })}
        {limit > 0 && (
          <g>
            <line class="limit" x1={pad.left} x2={W - pad.right} y1={y(limit)} y2={y(limit)} />
            <text class="limit-label" x={W - pad.right} y={y(limit) - 5} text-anchor="end">
              Daily limit {fmtNumber(limit)}
            </text>
          </g>
        )}
      </svg>
      <figcaption>
        {fmtNumber(total)} requests in the last {history.length} days · busiest day {fmtNumber(peak)}
      </figcaption>
    </figure>
  );
}
