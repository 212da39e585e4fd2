/**
 * What a command program tells the robot over time: three small lanes (forward m/s, sideways m/s, yaw rad/s)
 * drawn from the server's preview samples ([t, forward, sideways, yaw], from /api/commands/check).
 */
import { formatNumber } from "../lib/format";

const LANES = [
  { key: "forward", label: "forward", unit: "m/s" },
  { key: "sideways", label: "sideways", unit: "m/s" },
  { key: "yaw", label: "turn", unit: "rad/s" },
] as const;
const W = 320;
const LANE_H = 26;
const GAP = 6;
const LEFT = 62;

export function CommandPreview({ preview, range }: { preview: readonly (readonly number[])[]; range?: readonly number[] | null }) {
  const rows = preview.filter((r) => r.length >= 4 && r.every(Number.isFinite));
  if (rows.length < 2) return null;
  const t0 = rows[0][0];
  const t1 = rows[rows.length - 1][0];
  const span = Math.max(t1 - t0, 1e-9);
  const x = (t: number) => LEFT + ((t - t0) / span) * (W - LEFT - 4);
  const height = LANES.length * (LANE_H + GAP);
  const summary = LANES.map((l, i) => {
    const vals = rows.map((r) => r[i + 1]);
    return `${l.label} ${formatNumber(Math.min(...vals))} to ${formatNumber(Math.max(...vals))} ${l.unit}`;
  }).join(", ");

  return (
    <figure className="command-preview">
      <svg
        viewBox={`0 0 ${W} ${height}`}
        className="chart"
        role="img"
        aria-label={`Commands over ${formatNumber(span, 0)} s: ${summary}`}
        data-testid="command-preview"
      >
        {LANES.map((l, i) => {
          const vals = rows.map((r) => r[i + 1]);
          // Scale each lane by what the base policy follows (its command range), or by the values themselves.
          const lim = Math.max(range?.[i] ?? 0, ...vals.map(Math.abs), 1e-6);
          const top = i * (LANE_H + GAP);
          const y = (v: number) => top + LANE_H / 2 - (v / lim) * (LANE_H / 2 - 2);
          const d = rows.map((r, j) => `${j ? "L" : "M"}${x(r[0]).toFixed(1)},${y(r[i + 1]).toFixed(1)}`).join(" ");
          return (
            <g key={l.key} className={`lane lane-${l.key}`}>
              <text x={0} y={top + LANE_H / 2 + 4} className="tick">
                {l.label}
              </text>
              <line x1={LEFT} x2={W - 4} y1={y(0)} y2={y(0)} className="axis" />
              <path d={d} className="line" />
            </g>
          );
        })}
      </svg>
      <figcaption className="muted small">
        Over {formatNumber(span, 0)} s: {summary}
      </figcaption>
    </figure>
  );
}
