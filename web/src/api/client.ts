/**
 * The typed API client: openapi-fetch over types generated from the server's OpenAPI schema
 * (src/api/schema.d.ts, made by `npm run schema`). No hand-written fetch wrappers: every call is
 * `api.GET("/api/...")` / `api.POST(...)`, checked against the schema at compile time.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

/** The JSON body of a path's 200 response (types follow the endpoints, whatever the server names its models). */
type Ok<P extends keyof paths, M extends "get" | "post"> = paths[P][M] extends {
  responses: { 200: { content: { "application/json": infer T } } };
}
  ? T
  : never;
/** The JSON request body of a POST path. */
type Body<P extends keyof paths> = paths[P]["post"] extends { requestBody?: { content: { "application/json": infer T } } } ? T : never;

export type Health = Ok<"/api/health", "get">;
export type SceneSummary = Ok<"/api/playground/scenes", "get">[number];
export type SceneCard = Ok<"/api/playground/{scene_id}", "get">;
export type Job = Ok<"/api/training/{job_id}/status", "get">;
export type JobProgress = NonNullable<Job["progress"]>;
export type HistoryPoint = Job["history"][number];
export type BatchRequest = Body<"/api/training/batch">;
export type GenerateRequest = Body<"/api/policy/generate">;
export type GenerateResponse = Ok<"/api/policy/generate", "post">;
/** One approach: the core's one model (`tabrl.authoring.approach.Approach`), as the server sends it. */
export type Approach = Schemas["Approach"];
export type RewardCheck = Ok<"/api/rewards/check", "post">;
export type CodeError = RewardCheck["errors"][number];
export type Provider = Ok<"/api/llm/providers", "get">[number];
export type TrainingPresets = Ok<"/api/training/presets", "get">;
export type TrainingPreset = TrainingPresets["presets"][number];
export type Model = Ok<"/api/models/{model_id}", "get">;
export type MjcfBundle = Ok<"/api/playground/{scene_id}/mjcf", "get">;
export type BasePolicy = Ok<"/api/bases", "get">[number];
export type CommandCheck = Ok<"/api/commands/check", "post">;
export type BatchApproach = BatchRequest["approaches"][number];
/** A batch's jobs ranked best first by their success checks (GET /api/training/batch/{batch_id}). */
export type RankedBatch = Ok<"/api/training/batch/{batch_id}", "get">;
/** A trained policy's success-check verdict (on jobs and models, once judged). */
export type Verdict = NonNullable<Job["check"]>;

/** Origin of the API: the page's own (the server serves the UI), or VITE_API_BASE for a split setup. */
export const apiBase: string =
  (import.meta.env?.VITE_API_BASE as string | undefined) ??
  (typeof window !== "undefined" && window.location?.origin && window.location.origin !== "null"
    ? window.location.origin
    : "http://127.0.0.1:8000");

// `fetch` is looked up on every call (not captured once), so polyfills and test doubles installed later apply.
export const api = createClient<paths>({ baseUrl: apiBase, fetch: (req: Request) => globalThis.fetch(req) });

/** An API failure a person can read: what failed and, from the server, how to fix it. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly kind: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type Result<T> = { data?: T; error?: unknown; response: Response };

/** Returns the data of an openapi-fetch result or throws an ApiError with the server's one-line message. */
export function unwrap<T>(result: Result<T>, what: string): T {
  const { data, error, response } = result;
  if (response.ok && data !== undefined) return data;
  let message = `${what} failed (HTTP ${response.status})`;
  let kind = "http_error";
  if (error && typeof error === "object" && "message" in error) {
    message = `${what} failed: ${String((error as { message: unknown }).message)}`;
    kind = String((error as { error?: unknown }).error ?? kind);
  } else if (response.status === 404) {
    message = `${what} failed: this server does not offer ${new URL(response.url || "http://x/").pathname} yet (HTTP 404). Update TabRL or check the address.`;
    kind = "not_found";
  } else if (response.status >= 500) {
    message = `${what} failed: the server hit an internal error (HTTP ${response.status}); its log has the details.`;
  }
  throw new ApiError(message, response.status, kind);
}

/** Turns anything thrown (network down, ApiError, bug) into one readable line. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof TypeError && /fetch|network/i.test(err.message))
    return "Cannot reach the TabRL server. Is `uv run tabrl serve` still running?";
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Absolute URL of a server path (e.g. a thumbnail or video URL from the API). */
export function absUrl(path: string): string {
  return new URL(path, apiBase).toString();
}

/** ws(s):// URL for a server path. */
export function wsUrl(path: string): string {
  const u = new URL(path, apiBase);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}
