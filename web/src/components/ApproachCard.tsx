/**
 * One candidate approach: its level (1 plays a command program at once, 2 fine-tunes a base policy, 3 trains
 * from scratch) and why, the time it takes, editable code with line errors (a reward, or for level 1 the
 * command program), re-check, its success check (judged after training; ranks the batch), and the run toggle.
 */
import { useEffect, useRef, useState } from "react";
import { api, errorMessage, unwrap, type Approach, type CodeError } from "../api/client";
import { formatSteps } from "../lib/format";
import { formatLevelEstimate, levelBadge, levelNumber } from "../lib/levels";
import { CodeEditor } from "./CodeEditor";
import { CommandPreview } from "./CommandPreview";
import { Busy, ErrorBanner } from "./Feedback";

/**
 * An approach as the composer keeps it while the person edits it: the server's `Approach` (the core's one model,
 * typed from OpenAPI) and what the page adds.
 */
export type ApproachDraft = Approach & {
  selected: boolean;
  /** true when the code changed since the last check */
  dirty: boolean;
  /** command programs: checker warnings (e.g. values clipped to what the base follows) */
  warnings: string[];
  /** command programs: [t, forward, sideways, yaw] samples from the last check */
  preview: number[][] | null;
  /** true when the success check changed since the server checked it (it checks it again when the run starts) */
  check_dirty: boolean;
};

/** Fills in what drafts saved by an older page (or a server without levels) lack. */
export function normalizeDraft(d: Partial<ApproachDraft> & { name: string }): ApproachDraft {
  return {
    description: "",
    reward_code: "",
    valid: false,
    errors: [],
    terms: [],
    level: "from_scratch",
    steps: 0,
    selected: false,
    dirty: false,
    why: "",
    commands: null,
    base_id: null,
    estimate_s: null,
    warnings: [],
    preview: null,
    success_check: null,
    check_errors: [],
    check_dirty: false,
    ...d,
  };
}

export const isCommand = (d: Pick<ApproachDraft, "level">): boolean => d.level === "command";

/** The code a draft runs: its command program (level 1) or its reward. */
export const draftCode = (d: ApproachDraft): string => (isCommand(d) ? (d.commands ?? "") : d.reward_code);

/** Errors of the success check still standing (an edited check is checked again when the run starts). */
export const checkErrorsOf = (d: Pick<ApproachDraft, "check_errors" | "check_dirty">): CodeError[] =>
  d.check_dirty ? NO_ERRORS : d.check_errors;
const NO_ERRORS: CodeError[] = [];

/** Whether a draft can run: its code checked and valid, and no standing errors in its success check. */
export const draftReady = (d: ApproachDraft): boolean => d.valid && !d.dirty && checkErrorsOf(d).length === 0;

/** What the batch request carries of a draft's success check (nothing when it has none). */
export const successCheckOf = (d: ApproachDraft): { success_check?: string } =>
  d.success_check?.trim() ? { success_check: d.success_check } : {};

const errorCount = (n: number) => `${n} error${n === 1 ? "" : "s"}`;

export function ApproachCard({
  sceneId,
  draft,
  index,
  onChange,
  joystickBaseId,
  commandRange,
  trainOverride,
}: {
  sceneId: string;
  draft: ApproachDraft;
  index: number;
  onChange: (d: ApproachDraft) => void;
  /** the scene's joystick base policy (checks a command program that names no base) */
  joystickBaseId?: string | null;
  /** what that base follows: largest |forward|, |sideways|, |yaw| (scales the preview) */
  commandRange?: readonly number[] | null;
  /** a step count chosen on the composer for every approach that trains (replaces the planned one) */
  trainOverride?: { steps: number; estimate_s: number | null } | null;
}) {
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const latest = useRef(draft);
  latest.current = draft;
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  const command = isCommand(draft);
  const baseId = draft.base_id ?? joystickBaseId ?? null;
  const code = draftCode(draft);

  async function check(quiet = false) {
    const checked = draftCode(latest.current);
    if (!quiet) {
      setChecking(true);
      setError(null);
    }
    try {
      if (command) {
        if (!baseId) throw new Error("No joystick base policy to check this command program against.");
        const r = unwrap(
          await api.POST("/api/commands/check", { body: { base_id: baseId, code: checked, seconds: 10 } }),
          "Checking the command program",
        );
        // The person may have typed on while the check ran: a result only belongs to the code it checked.
        if (draftCode(latest.current) !== checked) return;
        onChangeRef.current({ ...latest.current, valid: r.valid, errors: r.errors, warnings: r.warnings, preview: r.preview, dirty: false });
      } else {
        const r = unwrap(await api.POST("/api/rewards/check", { body: { scene_id: sceneId, code: checked } }), "Checking the reward");
        if (draftCode(latest.current) !== checked) return;
        onChangeRef.current({ ...latest.current, valid: r.valid, errors: r.errors, terms: r.terms, dirty: false });
      }
    } catch (e) {
      if (!quiet) setError(errorMessage(e));
    } finally {
      if (!quiet) setChecking(false);
    }
  }

  // A fresh command program has no preview yet: fetch it once, quietly (the Check button reports errors).
  const previewAskedFor = useRef<string | null>(null);
  useEffect(() => {
    if (!command || !baseId || !draft.valid || draft.dirty || draft.preview || previewAskedFor.current === code) return;
    previewAskedFor.current = code;
    void check(true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [command, baseId, code, draft.valid, draft.dirty, draft.preview]);

  const id = `approach-${index}`;
  const level = levelNumber(draft.level);
  const trains = !command;
  const override = trains ? trainOverride : null;
  const steps = trains ? (override?.steps ?? draft.steps) : 0;
  const estimate = override ? override.estimate_s : draft.estimate_s;
  const checkErrors = checkErrorsOf(draft);
  return (
    <article
      className={`card approach ${draft.selected ? "selected" : ""}`}
      aria-labelledby={`${id}-title`}
      data-testid="approach-card"
      data-level={draft.level}
    >
      <header className="approach-head">
        <label className="check big">
          <input
            type="checkbox"
            checked={draft.selected}
            onChange={(e) => onChange({ ...draft, selected: e.target.checked })}
            aria-label={`${command ? "Play" : "Train"} “${draft.name}”`}
          />
          <h3 id={`${id}-title`}>{draft.name}</h3>
        </label>
        <span
          className={`badge ${draft.dirty ? "warn" : draft.valid && checkErrors.length === 0 ? "good" : "bad"}`}
          data-testid="approach-status"
        >
          {draft.dirty
            ? "edited — check again"
            : !draft.valid
              ? `✗ ${errorCount(draft.errors.length)}`
              : checkErrors.length > 0
                ? `✗ success check: ${errorCount(checkErrors.length)}`
                : "✓ compiles"}
        </span>
      </header>
      <div className="level-line">
        <span className={`badge level level-${level}`} data-testid="level-badge">
          {levelBadge(draft.level, draft.base_id)}
        </span>
        <span
          className="estimate"
          data-testid="approach-estimate"
          title={trains ? "Time on this server for the steps shown" : "No training: the base policy plays it at once"}
        >
          <span className="muted">Time:</span> {formatLevelEstimate(draft.level, estimate)}
          {trains && steps > 0 && (
            <span className="muted">
              {" "}
              · {formatSteps(steps)} steps{override ? " (your choice)" : ""}
            </span>
          )}
        </span>
      </div>
      {draft.why && (
        <p className="why small" data-testid="approach-why">
          {draft.why}
        </p>
      )}
      <p className="muted">{draft.description}</p>
      {command && (
        <p className="muted small">
          A command program: <code>command(t)</code> returns (forward m/s, sideways m/s, turn rad/s) at time t, and the{" "}
          {baseId ? <code>{baseId}</code> : "joystick"} base policy walks it.
        </p>
      )}
      <CodeEditor
        label={command ? `Command program for ${draft.name}` : `Reward code for ${draft.name}`}
        value={code}
        errors={draft.dirty ? [] : draft.errors}
        onChange={(c) => onChange(command ? { ...draft, commands: c, dirty: true } : { ...draft, reward_code: c, dirty: true })}
      />
      {!draft.dirty && draft.errors.length > 0 && (
        <ul className="code-errors" aria-label={command ? "Checker errors" : "Compiler errors"}>
          {draft.errors.map((e, i) => (
            <li key={i}>
              <span className="badge bad">{e.line != null ? `line ${e.line}` : "code"}</span> {e.message}
            </li>
          ))}
        </ul>
      )}
      {command && !draft.dirty && draft.warnings.length > 0 && (
        <ul className="code-warnings" aria-label="Warnings">
          {draft.warnings.map((w, i) => (
            <li key={i}>
              <span className="badge warn">warning</span> {w}
            </li>
          ))}
        </ul>
      )}
      {command && !draft.dirty && draft.valid && draft.preview && <CommandPreview preview={draft.preview} range={commandRange} />}
      {!command && draft.terms.length > 0 && (
        <div className="terms" aria-label="Reward terms">
          {draft.terms.map((t) => (
            <code key={t} className="term">
              reward/{t}
            </code>
          ))}
        </div>
      )}
      {draft.success_check != null && (
        <SuccessCheck
          name={draft.name}
          code={draft.success_check}
          errors={checkErrors}
          edited={draft.check_dirty}
          onChange={(c) => onChange({ ...draft, success_check: c, check_dirty: true })}
        />
      )}
      <div className="row">
        <button type="button" className="btn" onClick={() => void check()} disabled={checking || !code.trim() || (command && !baseId)}>
          {checking ? "Checking…" : "Check code"}
        </button>
        <Busy label={command ? "Checking the program against the base policy…" : "Compiling against the scene…"} active={checking} />
      </div>
      <ErrorBanner error={error} />
    </article>
  );
}

/**
 * The approach's success check: `measure(s)` returns named per-step values, `GOALS` says what each must reach
 * (e.g. "> 0.3"); after training the policy is judged on rollouts against them, which ranks the batch. Editable
 * like the reward; the server checks it again when the run starts (a broken check is refused with its line).
 */
function SuccessCheck({
  name,
  code,
  errors,
  edited,
  onChange,
}: {
  name: string;
  code: string;
  errors: CodeError[];
  edited: boolean;
  onChange: (code: string) => void;
}) {
  // Opens by itself when the check has errors; then the person opens and closes it.
  const [open, setOpen] = useState(errors.length > 0);
  const hasErrors = errors.length > 0;
  useEffect(() => {
    if (hasErrors) setOpen(true);
  }, [hasErrors]);
  return (
    <details
      className="small program success-check"
      open={open}
      onToggle={(e) => setOpen(e.currentTarget.open)}
      data-testid="success-check"
    >
      <summary>
        Success check{" "}
        <span className={`badge ${edited ? "warn" : errors.length ? "bad" : "good"}`} data-testid="success-check-status">
          {edited ? "edited — checked when it starts" : errors.length ? `✗ ${errorCount(errors.length)}` : "✓ valid"}
        </span>
      </summary>
      <p className="muted">
        How this approach is judged after training: <code>measure(s)</code> gives named values each step, and{" "}
        <code>GOALS</code> says what each must reach. The results are ranked by it.
      </p>
      <CodeEditor label={`Success check for ${name}`} value={code} errors={errors} onChange={onChange} />
      {errors.length > 0 && (
        <ul className="code-errors" aria-label="Success check errors">
          {errors.map((e, i) => (
            <li key={i}>
              <span className="badge bad">{e.line != null ? `line ${e.line}` : "check"}</span> {e.message}
            </li>
          ))}
        </ul>
      )}
    </details>
  );
}
