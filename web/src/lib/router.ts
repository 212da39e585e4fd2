/** A tiny hash router: #/ gallery, #/scene/ID, #/batch/ID, #/models, #/live/MODEL or #/live/scene/ID. */
import { useEffect, useState } from "react";

export type Route =
  | { page: "gallery" }
  | { page: "compose"; sceneId: string }
  | { page: "batch"; batchId: string }
  | { page: "models" }
  | { page: "live"; modelId: string | null; sceneId: string | null }
  | { page: "not_found"; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "") || "/";
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { page: "gallery" };
  if (parts[0] === "scene" && parts[1]) return { page: "compose", sceneId: parts[1] };
  if (parts[0] === "batch" && parts[1]) return { page: "batch", batchId: parts[1] };
  if (parts[0] === "models") return { page: "models" };
  if (parts[0] === "live" && parts[1] === "scene" && parts[2]) return { page: "live", modelId: null, sceneId: parts[2] };
  if (parts[0] === "live" && parts[1]) return { page: "live", modelId: parts[1], sceneId: null };
  return { page: "not_found", path };
}

export const href = {
  gallery: () => "#/",
  compose: (sceneId: string) => `#/scene/${encodeURIComponent(sceneId)}`,
  batch: (batchId: string) => `#/batch/${encodeURIComponent(batchId)}`,
  models: () => "#/models",
  live: (modelId: string) => `#/live/${encodeURIComponent(modelId)}`,
  liveScene: (sceneId: string) => `#/live/scene/${encodeURIComponent(sceneId)}`,
};

export function navigate(to: string): void {
  window.location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
