/**
 * Task composer for one scene: prompt (with fun suggestions), provider/model, the time budget (instant: a
 * joystick base policy plays command programs; a few minutes: fine-tune a base policy; as long as it takes:
 * from scratch), training length and physics; then the approach cards and "run the chosen ones".
 */
import { useState } from "react";
import {
  absUrl,
  api,
  errorMessage,
  unwrap,
  type BatchApproach,
  type GenerateRequest,
  type Provider,
  type TrainingPreset,
} from "../api/client";
import {
  ApproachCard,
  checkErrorsOf,
  draftReady,
  isCommand,
  normalizeDraft,
  successCheckOf,
  type ApproachDraft,
} from "../components/ApproachCard";
import { Busy, ErrorBanner } from "../components/Feedback";
import { formatEstimate, formatSteps, plural } from "../lib/format";
import { BUDGET_LABEL, BUDGETS, type Budget } from "../lib/levels";
import { suggestionsFor } from "../lib/prompts";
import { href, navigate } from "../lib/router";
import { useAsync } from "../lib/useAsync";
import { useStored } from "../lib/useStored";
import { CATEGORY_LABEL, licenceLine } from "./Gallery";

/** How the two training backends are named for people. */
const PHYSICS_LABEL: Record<string, string> = { mujoco: "MuJoCo C", mjx: "MJX" };
const PHYSICS_HINT: Record<string, string> = {
  mujoco: "MuJoCo C on CPU threads: contact-rich robots on a CPU",
  mjx: "MJX + Brax: fast on a GPU, and for small scenes",
};

const OFFLINE: Provider = {
  name: "offline", label: "offline composer", configured: true, default_model: "offline", models: [], selected: true,
};

export function Compose({ sceneId }: { sceneId: string }) {
  const scene = useAsync(
    async () => unwrap(await api.GET("/api/playground/{scene_id}", { params: { path: { scene_id: sceneId } } }), "Loading the scene"),
    [sceneId],
  );
  const providers = useAsync(async () => unwrap(await api.GET("/api/llm/providers"), "Loading LLM providers"), []);
  const [backend, setBackend] = useStored<"auto" | "mjx" | "mujoco">(`tabrl:${sceneId}:backend`, "auto");
  const presets = useAsync(
    async () =>
      unwrap(await api.GET("/api/training/presets", { params: { query: { scene_id: sceneId, backend } } }), "Loading training presets"),
    [sceneId, backend],
  );

  // Base policies of this scene: a joystick one makes "Instant" real (command programs, no training).
  // An older server without /api/bases simply has none.
  const bases = useAsync(
    async () => unwrap(await api.GET("/api/bases", { params: { query: { scene_id: sceneId } } }), "Loading base policies"),
    [sceneId],
  );

  const [prompt, setPrompt] = useStored(`tabrl:${sceneId}:prompt`, "");
  const [provider, setProvider] = useStored<string>("tabrl:provider", "");
  const [model, setModel] = useStored<string>("tabrl:model", "");
  const [budget, setBudget] = useStored<Budget>(`tabrl:${sceneId}:budget`, "minutes");
  /** Training length: "planned" (each approach's own steps, from its level) or a preset's name. */
  const [length, setLength] = useStored<string>(`tabrl:${sceneId}:length`, "planned");
  const [customSteps, setCustomSteps] = useStored<string>(`tabrl:${sceneId}:steps`, "");
  const [storedDrafts, setDrafts] = useStored<ApproachDraft[]>(`tabrl:${sceneId}:approaches`, []);
  const drafts = storedDrafts.map(normalizeDraft);
  const [generating, setGenerating] = useState(false);
  const [genInfo, setGenInfo] = useState<string | null>(null);
  const [genError, setGenError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string | null>(null);

  const providerList = providers.data?.length ? providers.data : [OFFLINE];
  const chosen = providerList.find((p) => p.name === provider) ?? providerList.find((p) => p.selected) ?? providerList[0];
  const presetList = presets.data?.presets ?? [];
  const preset: TrainingPreset | undefined = presetList.find((p) => p.name === length);
  const baseList = bases.data ?? [];
  const joystick = baseList.find((b) => b.kind === "joystick" && b.command_range) ?? null;
  const taskBase = baseList.find((b) => b !== joystick) ?? null;
  const anyBase = joystick ?? taskBase;
  const selected = drafts.filter((d) => d.selected);
  const selectedPlays = selected.filter(isCommand);
  const selectedTrains = selected.filter((d) => !isCommand(d));
  const exactSteps = /^\d+$/.test(customSteps.trim()) ? Number(customSteps.trim()) : null;
  const stepsTooFew = exactSteps != null && exactSteps < 1000;
  const rate = preset ?? presetList[0]; // steps/s on this machine, to scale an exact step count
  // What the composer's step choice does to every approach that trains (null: each keeps its planned steps).
  const trainOverride: { steps: number; estimate_s: number | null } | null =
    exactSteps != null && !stepsTooFew
      ? { steps: exactSteps, estimate_s: rate ? (rate.estimate_s * exactSteps) / Math.max(rate.steps, 1) : null }
      : preset
        ? { steps: preset.steps, estimate_s: preset.estimate_s }
        : null;
  // Settings about training matter when something will train (before generating: unless all will play).
  const willTrain = drafts.length ? drafts.some((d) => !isCommand(d)) : !(budget === "instant" && joystick);
  const trainEstimate = trainOverride
    ? trainOverride.estimate_s
    : selectedTrains.reduce<number | null>((a, d) => (d.estimate_s == null ? a : Math.max(a ?? 0, d.estimate_s)), null);

  async function generate() {
    setGenerating(true);
    setGenError(null);
    setGenInfo(null);
    try {
      const r = unwrap(
        await api.POST("/api/policy/generate", {
          body: {
            scene_id: sceneId,
            prompt: prompt.trim(),
            provider: chosen.name as GenerateRequest["provider"],
            model: model.trim() || null,
            n: 3,
            budget,
          },
        }),
        "Writing approaches",
      );
      setDrafts(
        r.approaches.map((a) => {
          const checkErrors = a.check_errors ?? [];
          return normalizeDraft({
            name: a.name,
            description: a.description,
            reward_code: a.reward_code,
            // `valid` here is the code's own (a broken success check keeps its errors apart, in check_errors)
            valid: a.valid || (a.errors.length === 0 && checkErrors.length > 0),
            errors: a.errors,
            terms: a.terms ?? [],
            level: a.level,
            steps: a.steps,
            selected: a.valid,
            why: a.why ?? "",
            commands: a.commands ?? null,
            base_id: a.base_id ?? null,
            estimate_s: a.estimate_s ?? null,
            success_check: a.success_check ?? null,
            check_errors: checkErrors,
          });
        }),
      );
      setGenInfo(`${r.approaches.length} approaches from ${r.provider}${r.model ? ` (${r.model})` : ""} in ${r.latency_s.toFixed(1)} s`);
    } catch (e) {
      setGenError(errorMessage(e));
    } finally {
      setGenerating(false);
    }
  }

  async function train() {
    setStarting(true);
    setStartError(null);
    try {
      const r = unwrap(
        await api.POST("/api/training/batch", {
          body: {
            scene_id: sceneId,
            approaches: selected.map((d): BatchApproach =>
              isCommand(d)
                ? {
                    name: d.name,
                    level: "command",
                    reward_code: "",
                    commands: d.commands,
                    base_id: d.base_id ?? joystick?.id ?? null,
                    ...successCheckOf(d),
                  }
                : {
                    name: d.name,
                    level: d.level as BatchApproach["level"],
                    reward_code: d.reward_code,
                    base_id: d.level === "fine_tune" ? d.base_id : null,
                    // a fine-tune of a joystick base may follow a command program (its hint)
                    ...(d.level === "fine_tune" && d.commands ? { commands: d.commands } : {}),
                    steps: trainOverride?.steps ?? (d.steps > 0 ? d.steps : null),
                    ...successCheckOf(d),
                  },
            ),
            seed: 0,
            backend,
            // kept with the batch, for refining it into a next round
            prompt: prompt.trim() || null,
          },
        }),
        selectedTrains.length ? "Starting training" : "Starting the command programs",
      );
      navigate(href.batch(r.batch_id));
    } catch (e) {
      setStartError(errorMessage(e));
    } finally {
      setStarting(false);
    }
  }

  /** What a budget means on this scene, from its base policies (levels: see lib/levels). */
  function budgetHint(b: Budget): string {
    if (b === "instant")
      return joystick
        ? `the ${joystick.title} base policy plays command programs at once (level 1, no training)`
        : "nothing plays instantly here (no joystick base policy); you get the quickest training instead";
    if (b === "minutes")
      return anyBase ? `fine-tunes the ${anyBase.title} base policy to each reward (level 2)` : "a short training run from scratch (level 3)";
    return "trains from scratch (level 3): slowest, free to find new ways of moving";
  }

  const s = scene.data;
  return (
    <section aria-labelledby="compose-title">
      <a href={href.gallery()} className="back">
        ← All scenes
      </a>
      <ErrorBanner error={scene.error} onRetry={scene.reload} />
      <div className="scene-head">
        {s && <img src={absUrl(s.thumbnail_url)} alt="" width={160} height={120} />}
        <div>
          <h1 id="compose-title">{s?.name ?? sceneId}</h1>
          {s && (
            <div className="meta">
              <span>{CATEGORY_LABEL[s.category] ?? s.category}</span>
              <span>{plural(s.nu, "actuator")}</span>
              <span>{s.obs_size} observations</span>
              <a href={href.liveScene(sceneId)}>see it move in your browser →</a>
            </div>
          )}
          {s && (s.licences ?? []).length > 0 && (
            <p className="small muted" data-testid="scene-licence">
              {licenceLine(s.licences ?? [])}
            </p>
          )}
        </div>
      </div>

      <form
        className="card composer"
        onSubmit={(e) => {
          e.preventDefault();
          if (prompt.trim() && !generating) void generate();
        }}
      >
        <label htmlFor="prompt" className="label">
          What should the robot do?
        </label>
        <textarea
          id="prompt"
          className="input prompt"
          rows={2}
          maxLength={500}
          placeholder="Keep shaking your hips aloha dude!"
          value={prompt}
          onChange={(e) => setPrompt(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) e.currentTarget.form?.requestSubmit();
          }}
        />
        <div className="chips" aria-label="Prompt ideas">
          {suggestionsFor(s?.category).map((p) => (
            <button key={p} type="button" className="chip" onClick={() => setPrompt(p)}>
              {p}
            </button>
          ))}
        </div>

        <div className="settings">
          <div className="field">
            <label htmlFor="provider" className="label">
              Who writes the rewards
            </label>
            <select id="provider" className="input" value={chosen.name} onChange={(e) => setProvider(e.target.value)}>
              {providerList.map((p) => (
                <option key={p.name} value={p.name} disabled={!p.configured}>
                  {p.name === "offline" ? "offline composer (no key needed)" : p.label || p.name}
                  {p.configured ? "" : " — not configured"}
                </option>
              ))}
            </select>
            {chosen.name !== "offline" && (
              <>
                <input
                  className="input"
                  aria-label="Model name"
                  list="provider-models"
                  placeholder={chosen.default_model || "model"}
                  value={model}
                  onChange={(e) => setModel(e.target.value)}
                />
                <datalist id="provider-models">
                  {chosen.models.map((m) => (
                    <option key={m} value={m} />
                  ))}
                </datalist>
              </>
            )}
            {providers.error && <p className="muted small">Provider list unavailable ({providers.error}); using the offline composer.</p>}
          </div>

          <fieldset className="field budget" aria-describedby="budget-note">
            <legend className="label">Time budget</legend>
            {BUDGETS.map((b) => (
              <label key={b} className="check option">
                <input type="radio" name="budget" value={b} checked={budget === b} onChange={() => setBudget(b)} />
                <span>
                  <strong>{BUDGET_LABEL[b]}</strong>
                  <span className="muted small option-hint"> — {budgetHint(b)}</span>
                </span>
              </label>
            ))}
            <p id="budget-note" className="small" data-testid="budget-note">
              {joystick ? (
                <>
                  <span className="badge good">⚡ plays at once</span> This scene has a joystick base policy ({joystick.title}):{" "}
                  <strong>Instant</strong> turns your idea into command programs it plays at once — no training.
                </>
              ) : bases.loading ? (
                ""
              ) : anyBase ? (
                <span className="muted">
                  Base policy here: {anyBase.title}. It follows its own task, so nothing plays instantly; fine-tuning it takes minutes.
                </span>
              ) : (
                <span className="muted">No base policy for this scene: approaches train from scratch.</span>
              )}
            </p>
          </fieldset>

          {willTrain && (
            <div className="field">
              <label htmlFor="steps" className="label">
                Training length
              </label>
              {presetList.length > 0 ? (
                <>
                  <input
                    id="steps"
                    type="range"
                    min={0}
                    max={presetList.length}
                    step={1}
                    value={preset ? presetList.indexOf(preset) + 1 : 0}
                    onChange={(e) => setLength(Number(e.target.value) === 0 ? "planned" : presetList[Number(e.target.value) - 1].name)}
                    aria-valuetext={
                      preset
                        ? `${preset.label}: ${formatSteps(preset.steps)} steps, ${formatEstimate(preset.estimate_s)}`
                        : "as planned for each approach"
                    }
                    list="preset-ticks"
                  />
                  <div className="ticks" id="preset-ticks">
                    <button type="button" className={`tick-label ${preset ? "" : "active"}`} onClick={() => setLength("planned")}>
                      As planned
                    </button>
                    {presetList.map((p) => (
                      <button
                        type="button"
                        key={p.name}
                        className={`tick-label ${p === preset ? "active" : ""}`}
                        onClick={() => setLength(p.name)}
                      >
                        {p.label || p.name}
                      </button>
                    ))}
                  </div>
                  <p className="small" data-testid="preset-estimate">
                    {preset ? (
                      <>
                        {formatSteps(preset.steps)} steps · {formatEstimate(preset.estimate_s)} per approach on this machine (
                        {presets.data?.device === "gpu" ? "GPU" : "CPU"} · {PHYSICS_LABEL[presets.data?.backend ?? "mjx"] ?? presets.data?.backend})
                      </>
                    ) : (
                      <>
                        Each approach trains for what its level needs (steps and time on its card;{" "}
                        {presets.data?.device === "gpu" ? "GPU" : "CPU"} · {PHYSICS_LABEL[presets.data?.backend ?? "mjx"] ?? presets.data?.backend})
                      </>
                    )}
                    {selectedTrains.length > 1 && " — approaches share the machine, so together they take longer"}
                  </p>
                </>
              ) : (
                <Busy label="Asking the server for time estimates…" active={presets.loading} />
              )}
              <details className="small" open={!!customSteps}>
                <summary>Exact step count</summary>
                <input
                  className="input"
                  inputMode="numeric"
                  aria-label="Exact number of training steps"
                  placeholder="e.g. 5000 (overrides the length above)"
                  value={customSteps}
                  onChange={(e) => setCustomSteps(e.target.value.replace(/[^\d]/g, ""))}
                />
                {stepsTooFew && <p className="muted small">At least 1,000 steps.</p>}
                {exactSteps != null && !stepsTooFew && (
                  <p className="muted small">
                    Every approach that trains runs this many steps
                    {rate
                      ? `: ≈ ${formatEstimate(trainOverride?.estimate_s)} each (scaled from the ${rate.label || rate.name} estimate; compile time makes short runs relatively slower).`
                      : "."}
                  </p>
                )}
              </details>
              <ErrorBanner error={presets.error} onRetry={presets.reload} />
            </div>
          )}

          {willTrain && (presets.data?.backends?.length ?? 0) > 1 && (
            <div className="field">
              <label htmlFor="backend" className="label">
                Physics engine
              </label>
              <select
                id="backend"
                className="input"
                value={backend}
                onChange={(e) => setBackend(e.target.value as "auto" | "mjx" | "mujoco")}
              >
                <option value="auto">automatic ({PHYSICS_LABEL[presets.data?.backend ?? "mjx"]} here)</option>
                <option value="mujoco">{PHYSICS_HINT.mujoco}</option>
                <option value="mjx">{PHYSICS_HINT.mjx}</option>
              </select>
            </div>
          )}
        </div>

        <div className="row">
          <button type="submit" className="btn primary" disabled={!prompt.trim() || generating}>
            {generating ? "Writing approaches…" : drafts.length ? "Write new approaches" : "Write approaches"}
          </button>
          <Busy
            label={`Asking ${chosen.name === "offline" ? "the offline composer" : chosen.name}…`}
            hint={
              chosen.name === "offline"
                ? " the first time it loads a small language model (up to a minute on a CPU); later prompts take seconds"
                : " LLMs usually take 10–40 s"
            }
            active={generating}
          />
          {genInfo && !generating && <span className="muted small">{genInfo}</span>}
        </div>
        <ErrorBanner error={genError} />
      </form>

      {drafts.length > 0 && (
        <section aria-labelledby="approaches-title">
          <h2 id="approaches-title">Approaches</h2>
          <p className="muted">
            Each is a different idea of what “{prompt || "the task"}” means — a command program the base policy plays at once
            (level 1), or a reward to train on (levels 2 and 3). Edit the code if you like, then pick which to run.
          </p>
          <div className="approaches">
            {drafts.map((d, i) => (
              <ApproachCard
                key={i}
                index={i}
                sceneId={sceneId}
                draft={d}
                onChange={(nd) => setDrafts((all) => all.map((x, j) => (j === i ? nd : x)))}
                joystickBaseId={joystick?.id ?? null}
                commandRange={(d.base_id ? baseList.find((b) => b.id === d.base_id) : joystick)?.command_range ?? null}
                trainOverride={trainOverride}
              />
            ))}
          </div>
          <div className="train-bar card">
            <button
              type="button"
              className="btn primary big"
              onClick={train}
              disabled={starting || stepsTooFew || selected.length === 0 || !selected.every(draftReady)}
            >
              {starting
                ? "Starting…"
                : selectedTrains.length === 0 && selectedPlays.length > 0
                  ? `Play ${plural(selectedPlays.length, "program")}`
                  : selectedPlays.length === 0
                    ? `Train ${plural(selected.length, "approach", "approaches")}`
                    : `Start ${plural(selected.length, "approach", "approaches")}`}
            </button>
            <span className="muted small" data-testid="run-summary">
              {selected.length === 0
                ? "Pick at least one approach."
                : selected.some((d) => d.dirty)
                  ? "Check the edited code first."
                  : selected.some((d) => !d.valid)
                    ? "Fix or unselect the approaches with errors."
                    : selected.some((d) => checkErrorsOf(d).length > 0)
                      ? "Fix the success check or unselect the approaches whose check has errors."
                      : [
                          selectedPlays.length > 0 &&
                            `${selectedPlays.length === 1 ? "1 plays" : `${selectedPlays.length} play`} at once (no training)`,
                          selectedTrains.length > 0 &&
                            `${selectedTrains.length === 1 ? "1 trains" : `${selectedTrains.length} train`}${
                              trainOverride ? `, ${formatSteps(trainOverride.steps)} steps each` : ""
                            }${trainEstimate != null ? `, ${formatEstimate(trainEstimate)}${selectedTrains.length > 1 ? " each" : ""}` : ""}`,
                        ]
                          .filter(Boolean)
                          .join("; ") + "."}
            </span>
            <Busy label={selectedTrains.length ? "Queuing training jobs…" : "Starting the command programs…"} active={starting} />
          </div>
          <ErrorBanner error={startError} />
        </section>
      )}
    </section>
  );
}
