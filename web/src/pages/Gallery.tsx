/** Scene gallery: thumbnail cards with name, category, DOF and a base-policy badge; search and filter. */
import { useMemo, useState } from "react";
import { absUrl, api, unwrap, type SceneSummary } from "../api/client";
import { Busy, ErrorBanner } from "../components/Feedback";
import { href } from "../lib/router";
import { useAsync } from "../lib/useAsync";

export const CATEGORY_LABEL: Record<string, string> = {
  locomotion: "Locomotion",
  manipulation: "Manipulation",
  classic_control: "Classic control",
  other: "Other",
};

export function filterScenes(scenes: readonly SceneSummary[], query: string, category: string): SceneSummary[] {
  const q = query.trim().toLowerCase();
  return scenes.filter(
    (s) =>
      (category === "all" || s.category === category) &&
      (!q || s.name.toLowerCase().includes(q) || s.id.toLowerCase().includes(q) || s.category.includes(q)),
  );
}

export function Gallery() {
  const scenes = useAsync(async () => unwrap(await api.GET("/api/playground/scenes"), "Loading scenes"), []);
  const [query, setQuery] = useState("");
  const [category, setCategory] = useState("all");
  const list = scenes.data ?? [];
  const categories = useMemo(() => ["all", ...new Set(list.map((s) => s.category))], [list]);
  const shown = filterScenes(list, query, category);

  return (
    <section aria-labelledby="gallery-title">
      <div className="hero">
        <h1 id="gallery-title">Pick a robot, tell it what to do.</h1>
        <p className="muted">
          Choose a scene, type a task in plain words — serious or silly — and TabRL writes reward functions, trains a
          policy per idea, and shows you the results side by side.
        </p>
      </div>
      <div className="toolbar">
        <input
          type="search"
          className="input"
          placeholder="Search scenes (e.g. cartpole, go1)…"
          aria-label="Search scenes"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <div className="chips" role="radiogroup" aria-label="Filter by category">
          {categories.map((c) => (
            <button
              key={c}
              type="button"
              role="radio"
              aria-checked={category === c}
              className={`chip ${category === c ? "active" : ""}`}
              onClick={() => setCategory(c)}
            >
              {c === "all" ? "All" : (CATEGORY_LABEL[c] ?? c)}
            </button>
          ))}
        </div>
      </div>
      <Busy label="Loading scenes…" active={scenes.loading} />
      <ErrorBanner error={scenes.error} onRetry={scenes.reload} />
      {!scenes.loading && !scenes.error && shown.length === 0 && (
        <p className="muted">No scene matches “{query}”{category !== "all" ? ` in ${CATEGORY_LABEL[category] ?? category}` : ""}.</p>
      )}
      <ul className="grid" aria-label="Scenes">
        {shown.map((s) => (
          <li key={s.id}>
            <a className="card scene-card" href={href.compose(s.id)} data-testid="scene-card" data-scene-id={s.id}>
              <img src={absUrl(s.thumbnail_url)} alt={`${s.name} thumbnail`} loading="lazy" width={320} height={240} />
              <div className="card-body">
                <div className="card-title">
                  <strong>{s.name}</strong>
                  {s.has_base_policy && (
                    <span className="badge good" title="A pretrained policy exists: fine-tuning is fast">
                      base policy
                    </span>
                  )}
                </div>
                <div className="meta">
                  <span>{CATEGORY_LABEL[s.category] ?? s.category}</span>
                  <span>{s.dof} DOF</span>
                  <span>{s.nu} actuators</span>
                </div>
              </div>
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
