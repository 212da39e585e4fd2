/** One candidate reward: name, description, editable code with line errors, re-check, train toggle. */
import { useState } from "react";
import { api, errorMessage, unwrap, type CodeError } from "../api/client";
import { formatSteps } from "../lib/format";
import { CodeEditor } from "./CodeEditor";
import { Busy, ErrorBanner } from "./Feedback";

export type ApproachDraft = {
  name: string;
  description: string;
  reward_code: string;
  valid: boolean;
  errors: CodeError[];
  terms: string[];
  level: string;
  steps: number;
  selected: boolean;
  /** true when the code changed since the last check */
  dirty: boolean;
};

export function ApproachCard({
  sceneId,
  draft,
  index,
  onChange,
}: {
  sceneId: string;
  draft: ApproachDraft;
  index: number;
  onChange: (d: ApproachDraft) => void;
}) {
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function check() {
    setChecking(true);
    setError(null);
    try {
      const r = unwrap(
        await api.POST("/api/rewards/check", { body: { scene_id: sceneId, code: draft.reward_code } }),
        "Checking the reward",
      );
      onChange({ ...draft, valid: r.valid, errors: r.errors, terms: r.terms, dirty: false });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setChecking(false);
    }
  }

  const id = `approach-${index}`;
  return (
    <article className={`card approach ${draft.selected ? "selected" : ""}`} aria-labelledby={`${id}-title`} data-testid="approach-card">
      <header className="approach-head">
        <label className="check big">
          <input
            type="checkbox"
            checked={draft.selected}
            onChange={(e) => onChange({ ...draft, selected: e.target.checked })}
            aria-label={`Train “${draft.name}”`}
          />
          <h3 id={`${id}-title`}>{draft.name}</h3>
        </label>
        <span className={`badge ${draft.dirty ? "warn" : draft.valid ? "good" : "bad"}`} data-testid="approach-status">
          {draft.dirty ? "edited — check again" : draft.valid ? "✓ compiles" : `✗ ${draft.errors.length} error${draft.errors.length === 1 ? "" : "s"}`}
        </span>
      </header>
      <p className="muted">{draft.description}</p>
      <div className="meta">
        <span>{draft.level === "fine_tune" ? "fine-tune" : "from scratch"}</span>
        {draft.steps > 0 && <span title="The budget you choose below is what is used">suggested: {formatSteps(draft.steps)} steps</span>}
      </div>
      <CodeEditor
        label={`Reward code for ${draft.name}`}
        value={draft.reward_code}
        errors={draft.dirty ? [] : draft.errors}
        onChange={(code) => onChange({ ...draft, reward_code: code, dirty: true })}
      />
      {!draft.dirty && draft.errors.length > 0 && (
        <ul className="code-errors" aria-label="Compiler errors">
          {draft.errors.map((e, i) => (
            <li key={i}>
              <span className="badge bad">{e.line != null ? `line ${e.line}` : "code"}</span> {e.message}
            </li>
          ))}
        </ul>
      )}
      {draft.terms.length > 0 && (
        <div className="terms" aria-label="Reward terms">
          {draft.terms.map((t) => (
            <code key={t} className="term">
              reward/{t}
            </code>
          ))}
        </div>
      )}
      <div className="row">
        <button type="button" className="btn" onClick={check} disabled={checking}>
          {checking ? "Checking…" : "Check code"}
        </button>
        <Busy label="Compiling against the scene…" active={checking} />
      </div>
      <ErrorBanner error={error} />
    </article>
  );
}
