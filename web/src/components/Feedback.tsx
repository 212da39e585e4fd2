/** Error banners, busy indicators with elapsed time, status badges. */
import type { ReactNode } from "react";
import { useElapsed } from "../lib/useAsync";
import { formatDuration } from "../lib/format";

export function ErrorBanner({ error, onRetry }: { error: string | null | undefined; onRetry?: () => void }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <span aria-hidden="true">⚠</span>
      <span className="error-text">{error}</span>
      {onRetry && (
        <button type="button" className="btn small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** A spinner with what is happening, how long it has taken so far and an honest expectation. */
export function Busy({ label, hint, active = true }: { label: string; hint?: ReactNode; active?: boolean }) {
  const elapsed = useElapsed(active);
  if (!active) return null;
  return (
    <div className="busy" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>
        {label} <span className="muted">{elapsed >= 1 ? formatDuration(elapsed) : ""}</span>
        {hint && <span className="busy-hint">{hint}</span>}
      </span>
    </div>
  );
}

const STATUS_LABEL: Record<string, string> = {
  queued: "queued",
  running: "training…",
  succeeded: "✓ done",
  failed: "✗ failed",
  cancelled: "cancelled",
  interrupted: "interrupted",
};

/** Render jobs (a command program playing, or a video) are not training: they say so. */
const RENDER_LABEL: Record<string, string> = { running: "playing…" };

export function StatusBadge({ status, kind = "train" }: { status: string; kind?: string }) {
  const label = (kind === "render" ? RENDER_LABEL[status] : undefined) ?? STATUS_LABEL[status] ?? status;
  return <span className={`badge status-${status}`}>{label}</span>;
}

/** A progress bar; `value` null: busy for an unknown time (an indeterminate bar). */
export function ProgressBar({ value, label }: { value: number | null; label: string }) {
  if (value == null)
    return (
      <div className="progress indeterminate" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100}>
        <div className="progress-fill" />
      </div>
    );
  const pct = Math.max(0, Math.min(1, value)) * 100;
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)}>
      <div className="progress-fill" style={{ width: `${pct}%` }} />
    </div>
  );
}
