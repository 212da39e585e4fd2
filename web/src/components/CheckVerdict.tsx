/**
 * A success check's verdict: passed or failed (in words, not just colour), its one-line figure (each goal with its
 * value; ✗ marks a goal missed) and, within a finished batch, the rank it earned ("#1 of 3").
 */
import type { Verdict } from "../api/client";
import { plural } from "../lib/format";

export function CheckVerdict({
  check,
  rank,
  of,
  compact = false,
}: {
  check: Verdict | null | undefined;
  /** 1 = best of its batch; shown only with `of` */
  rank?: number | null;
  /** how many approaches the batch ranked */
  of?: number | null;
  /** one line (video captions, model cards): no rollout details */
  compact?: boolean;
}) {
  if (!check) return null;
  const ranked = rank != null && of != null && of > 1;
  const passedEvery = Number.isFinite(check.pass_rate) ? Math.round(check.pass_rate * 100) : null;
  return (
    <div className={`verdict ${check.passed ? "passed" : "failed"}`} data-testid="check-verdict">
      <div className="verdict-badges">
        {ranked && (
          <span className={`badge rank ${rank === 1 ? "first" : ""}`} data-testid="check-rank" title="Ranked by the success check">
            #{rank} of {of}
          </span>
        )}
        <span className={`badge ${check.passed ? "good" : "bad"}`} data-testid="check-badge">
          {check.passed ? "✓ check passed" : "✗ check failed"}
        </span>
      </div>
      <p className="verdict-figure" data-testid="check-figure">
        {check.figure}
      </p>
      {!compact && check.rollouts > 0 && (
        <p className="muted small verdict-detail">
          Judged on {plural(check.rollouts, "rollout")}
          {passedEvery != null ? ` · ${passedEvery}% met every goal` : ""}
        </p>
      )}
    </div>
  );
}
