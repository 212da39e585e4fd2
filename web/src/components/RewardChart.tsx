/** A small SVG line chart of eval reward over training steps, with a ±std band. */
import type { HistoryPoint } from "../api/client";
import { formatNumber, formatSteps } from "../lib/format";

const W = 320;
const H = 140;
const PAD = { l: 44, r: 8, t: 8, b: 22 };

export function RewardChart({ history, totalSteps }: { history: readonly HistoryPoint[]; totalSteps: number }) {
  const pts = history.filter((p) => p.eval_reward_mean != null && Number.isFinite(p.eval_reward_mean));
  if (pts.length === 0)
    return (
      <div className="chart-empty muted" role="img" aria-label="No evaluation yet">
        The first evaluation appears after the first training chunk.
      </div>
    );
  const lo = Math.min(...pts.map((p) => (p.eval_reward_mean as number) - (p.eval_reward_std ?? 0)));
  const hi = Math.max(...pts.map((p) => (p.eval_reward_mean as number) + (p.eval_reward_std ?? 0)));
  const span = hi - lo || Math.abs(hi) || 1;
  const y0 = lo - span * 0.05;
  const y1 = hi + span * 0.05;
  const xMax = Math.max(totalSteps, ...pts.map((p) => p.step), 1);
  const x = (s: number) => PAD.l + (s / xMax) * (W - PAD.l - PAD.r);
  const y = (v: number) => PAD.t + (1 - (v - y0) / (y1 - y0)) * (H - PAD.t - PAD.b);
  const line = pts.map((p, i) => `${i ? "L" : "M"}${x(p.step).toFixed(1)},${y(p.eval_reward_mean as number).toFixed(1)}`).join(" ");
  const upper = pts.map((p) => `${x(p.step).toFixed(1)},${y((p.eval_reward_mean as number) + (p.eval_reward_std ?? 0)).toFixed(1)}`);
  const lower = pts.map((p) => `${x(p.step).toFixed(1)},${y((p.eval_reward_mean as number) - (p.eval_reward_std ?? 0)).toFixed(1)}`);
  const band = `M${upper.join(" L")} L${lower.reverse().join(" L")} Z`;
  const last = pts[pts.length - 1];
  return (
    <svg
      className="chart"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`Eval reward ${formatNumber(last.eval_reward_mean)} at step ${formatSteps(last.step)}`}
    >
      <line x1={PAD.l} x2={W - PAD.r} y1={H - PAD.b} y2={H - PAD.b} className="axis" />
      <line x1={PAD.l} x2={PAD.l} y1={PAD.t} y2={H - PAD.b} className="axis" />
      <text x={PAD.l - 4} y={PAD.t + 8} className="tick" textAnchor="end">{formatNumber(y1, 1)}</text>
      <text x={PAD.l - 4} y={H - PAD.b} className="tick" textAnchor="end">{formatNumber(y0, 1)}</text>
      <text x={W - PAD.r} y={H - 6} className="tick" textAnchor="end">{formatSteps(xMax)} steps</text>
      <text x={PAD.l} y={H - 6} className="tick">0</text>
      <path d={band} className="band" />
      <path d={line} className="line" />
      {pts.map((p) => (
        <circle key={p.step} cx={x(p.step)} cy={y(p.eval_reward_mean as number)} r={2.5} className="dot" />
      ))}
    </svg>
  );
}
