// Endpoints of the API contract (issue 6) that the server may not implement yet, as an OpenAPI fragment.
// gen-api.mjs adds a path from here ONLY when the server's own schema lacks it, and says so; as soon as the
// server implements a path its schema wins, and `tsc` shows where the UI and the server disagree.
// Keep this in step with /api contract text; delete entries once every server has them.

const str = { type: "string" };
const int = { type: "integer" };
const num = { type: "number" };
const bool = { type: "boolean" };
const nullable = (s) => ({ anyOf: [s, { type: "null" }] });
const arr = (items) => ({ type: "array", items });
const ref = (name) => ({ $ref: `#/components/schemas/${name}` });
const obj = (properties, required = Object.keys(properties)) => ({ type: "object", properties, required });
const json = (schema) => ({ content: { "application/json": { schema } } });
const ok = (schema) => ({ 200: { description: "OK", ...json(schema) }, 422: { description: "Error", ...json(ref("ErrorBody")) } });
const pathParam = (name) => ({ name, in: "path", required: true, schema: str });
const get = (operationId, schema, parameters = []) => ({ get: { operationId, parameters, responses: ok(schema) } });
const post = (operationId, body, schema, parameters = []) => ({
  post: { operationId, parameters, requestBody: { required: true, ...json(body) }, responses: ok(schema) },
});

export const schemas = {
  ErrorBody: obj({ error: str, message: str }),
  CodeError: obj({ line: nullable(int), message: str }),
  MjcfBundle: obj({ main: str, files: { type: "object", additionalProperties: str }, binary: arr(str) }),
  TrainingPreset: obj({ name: str, steps: int, estimate_s: num, label: str }),
  TrainingPresets: obj({ device: str, presets: arr(ref("TrainingPreset")), fine_tune_available: bool }),
  RewardCheckRequest: obj({ scene_id: str, code: str }),
  RewardCheck: obj({ valid: bool, terms: arr(str), errors: arr(ref("CodeError")) }),
  GenerateRequest: obj(
    { scene_id: str, prompt: str, provider: nullable(str), model: nullable(str), base_url: nullable(str), n: int },
    ["scene_id", "prompt"],
  ),
  Approach: obj({
    name: str, description: str, reward_code: str, valid: bool, errors: arr(ref("CodeError")), level: str, steps: int,
  }),
  GenerateResponse: obj({ provider: str, model: str, latency_s: num, approaches: arr(ref("Approach")) }),
  Provider: obj({ name: str, configured: bool, default_model: str, is_default: bool }),
  SelectProviderRequest: obj({ provider: str, model: nullable(str) }, ["provider"]),
  TrainingStartRequest: obj(
    {
      scene_id: str, reward_code: nullable(str), name: nullable(str), steps: nullable(int), preset: nullable(str),
      base_model_id: nullable(str), from_scratch: bool, seed: nullable(int),
    },
    ["scene_id"],
  ),
  BatchApproach: obj({ name: str, reward_code: str, steps: nullable(int), level: nullable(str) }, ["name", "reward_code"]),
  BatchRequest: obj(
    { scene_id: str, approaches: arr(ref("BatchApproach")), steps: nullable(int), preset: nullable(str), seed: nullable(int) },
    ["scene_id", "approaches"],
  ),
  JobProgress: obj({
    step: int, eval_reward_mean: nullable(num), eval_reward_std: nullable(num),
    reward_terms: { type: "object", additionalProperties: num }, episode_length: nullable(num),
    env_steps_per_s: nullable(num), elapsed_s: num, eta_s: nullable(num),
  }),
  HistoryPoint: obj({ step: int, eval_reward_mean: nullable(num), eval_reward_std: nullable(num), elapsed_s: num }),
  Job: obj({
    id: str, batch_id: nullable(str), name: str, scene_id: str, status: str, created_at: str,
    started_at: nullable(str), finished_at: nullable(str), queue_position: nullable(int),
    estimated_start_s: nullable(num), total_steps: int, progress: nullable(ref("JobProgress")),
    history: arr(ref("HistoryPoint")), model_id: nullable(str), video_id: nullable(str),
    video_url: nullable(str), error: nullable(str), reward_code: nullable(str),
  }),
  BatchResponse: obj({ batch_id: str, jobs: arr(ref("Job")) }),
  Model: obj(
    {
      id: str, name: str, scene_id: str, created_at: str, steps: int, eval_reward: nullable(num), obs_size: int,
      action_size: int, video_url: nullable(str), onnx_url: str, job_id: nullable(str),
    },
    ["id", "name", "scene_id", "created_at", "steps", "eval_reward", "obs_size", "action_size", "video_url", "onnx_url", "job_id"],
  ),
  RenderRequest: obj({ model_id: str, seconds: nullable(num), seed: nullable(int) }, ["model_id"]),
  RenderResponse: obj({ video_id: str, video_url: str }),
};

export const paths = {
  "/api/playground/{scene_id}/mjcf": get("scene_mjcf", ref("MjcfBundle"), [pathParam("scene_id")]),
  "/api/training/presets": get("training_presets", ref("TrainingPresets"), [
    { name: "scene_id", in: "query", required: true, schema: str },
  ]),
  "/api/rewards/check": post("check_reward", ref("RewardCheckRequest"), ref("RewardCheck")),
  "/api/policy/generate": post("generate_approaches", ref("GenerateRequest"), ref("GenerateResponse")),
  "/api/llm/providers": get("llm_providers", arr(ref("Provider"))),
  "/api/llm/select": post("llm_select", ref("SelectProviderRequest"), arr(ref("Provider"))),
  "/api/training/start": post("training_start", ref("TrainingStartRequest"), ref("Job")),
  "/api/training/batch": post("training_batch", ref("BatchRequest"), ref("BatchResponse")),
  "/api/training": get("training_list", arr(ref("Job")), [{ name: "batch_id", in: "query", required: false, schema: str }]),
  "/api/training/{job_id}/status": get("training_status", ref("Job"), [pathParam("job_id")]),
  "/api/training/{job_id}/cancel": {
    post: { operationId: "training_cancel", parameters: [pathParam("job_id")], responses: ok(ref("Job")) },
  },
  "/api/training/render": post("training_render", ref("RenderRequest"), ref("RenderResponse")),
  "/api/models": get("models_list", arr(ref("Model"))),
  "/api/models/{model_id}": get("models_get", ref("Model"), [pathParam("model_id")]),
};
