// A key's requests per day as an SVG bar chart, with its daily limit.
//
// The SVG is drawn at the size it is shown (one unit = one CSS pixel, from a
// ResizeObserver), so its text is as large on a phone as on a desktop instead
// of shrinking with the picture. The limit's value sits on the axis, left of
// the bars, and its name in the legend below, so no label covers a bar.
import { useEffect, useRef, useState } from "preact/hooks";
import type { DayUsage } from "./api";
import { dayLabel, fmtNumber } from "./format";

const H = 200;
const FONT = 12; // px, the axis text
const pad = { top: 10, right: 8, bottom: 24 };

/** Rounds up to a readable axis maximum (1, 2, 2.5, 5 × 10^n). */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** The width the element is shown at, following its changes. */
function useWidth<T extends Element>(initial: number) {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(initial);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(([entry]) => setWidth(Math.max(200, Math.floor(entry.contentRect.width))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width] as const;
}

export function UsageChart(props: { name: string; history: DayUsage[]; limit: number }) {
  const { history, limit } = props;
  const [ref, W] = useWidth<HTMLDivElement>(640);
  const peak = Math.max(0, ...history.map((d) => d.used));
  const max = niceMax(Math.max(peak, limit));
  const narrow = W < 480;

  // The axis labels decide the left margin: the widest one at ~0.62 em a character.
  const grid = [0, max / 2, max];
  const axisText = [...grid, limit].map(fmtNumber);
  const left = Math.ceil(Math.max(...axisText.map((t) => t.length)) * FONT * 0.62) + 10;
  const iw = W - left - pad.right;
  const ih = H - pad.top - pad.bottom;
  const step = iw / Math.max(1, history.length);
  const bw = Math.max(2, step * 0.7);
  const y = (v: number) => pad.top + ih - (v / max) * ih;
  const total = history.reduce((s, d) => s + d.used, 0);
  const label = `Requests per day with ${props.name} over the last ${history.length} days: ${fmtNumber(total)} in all, at most ${fmtNumber(peak)} in a day; daily limit ${fmtNumber(limit)}.`;
  // A grid value's label gives way to the limit's where they would touch.
  const gridLabels = grid.filter((t) => limit <= 0 || Math.abs(y(t) - y(limit)) >= FONT + 2);
  const last = history.length - 1;
  const labelled = new Set(narrow ? [0, last] : [0, Math.floor(last / 2), last]);

  return (
    <figure class="chart">
      <div ref={ref} class="chart-area">
        <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} data-testid="usage-chart">
          {grid.map((t) => (
            <line key={t} class="grid" x1={left} x2={W - pad.right} y1={y(t)} y2={y(t)} />
          ))}
          {gridLabels.map((t) => (
            <text key={t} class="axis" x={left - 6} y={y(t) + FONT / 3} text-anchor="end">
              {fmtNumber(t)}
            </text>
          ))}
          {history.map((d, i) => {
            const x = left + i * step + (step - bw) / 2;
            const over = d.used >= limit && limit > 0;
            return (
              <g key={d.date}>
                <rect class={over ? "day full" : "day"} x={x} y={y(d.used)} width={bw} height={Math.max(0, pad.top + ih - y(d.used))} rx={1.5}>
                  <title>
                    {dayLabel(d.date)}: {fmtNumber(d.used)} requests
                  </title>
                </rect>
                {labelled.has(i) && (
                  <text class="axis" x={Math.min(Math.max(x + bw / 2, left + 18), W - pad.right - 18)} y={H - 6} text-anchor="middle">
                    {i === last ? "Today" : dayLabel(d.date)}
                  </text>
                )}
              </g>
            );
          })}
          {limit > 0 && (
            <g>
              <line class="limit" x1={left} x2={W - pad.right} y1={y(limit)} y2={y(limit)} />
              <text class="axis limit-value" x={left - 6} y={y(limit) + FONT / 3} text-anchor="end">
                {fmtNumber(limit)}
              </text>
            </g>
          )}
        </svg>
      </div>
      <figcaption>
        {limit > 0 && (
          <span class="legend-limit">
            <span class="swatch" aria-hidden="true" /> Daily limit {fmtNumber(limit)}
          </span>
        )}
        <span>
          {fmtNumber(total)} requests in the last {history.length} days · busiest day {fmtNumber(peak)}
        </span>
      </figcaption>
    </figure>
  );
}
