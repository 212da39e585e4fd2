/**
 * onnxruntime-web (wasm backend, files from this app's own build, single thread) and a policy's ONNX
 * export. Works in the page and in a Web Worker (no DOM needed).
 */
export type OrtSession = {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: ArrayLike<number> }>>;
};

export type OnnxPolicy = { session: OrtSession; Tensor: new (t: string, d: Float32Array, dims: number[]) => unknown };

/** Downloads `modelUrl` (absolute) and opens it. */
export async function loadOnnx(modelUrl: string): Promise<OnnxPolicy> {
  const [ort, { default: wasmUrl }] = await Promise.all([
    import("onnxruntime-web/wasm"),
    import("onnxruntime-web/ort-wasm-simd-threaded.wasm?url"),
  ]);
  ort.env.wasm.wasmPaths = { wasm: new URL(wasmUrl, self.location.href).href };
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation headers; one is plenty for an MLP
  const res = await fetch(modelUrl);
  if (!res.ok) throw new Error(`Downloading the ONNX policy failed (HTTP ${res.status}).`);
  const session = (await ort.InferenceSession.create(new Uint8Array(await res.arrayBuffer()))) as unknown as OrtSession;
  return { session, Tensor: ort.Tensor as never };
}

/** The deterministic action for one observation. */
export async function onnxAct(policy: OnnxPolicy, obs: Float32Array): Promise<number[]> {
  const { session, Tensor } = policy;
  const out = await session.run({ [session.inputNames[0]]: new Tensor("float32", obs, [1, obs.length]) });
  return Array.from(out[session.outputNames[0]].data, Number);
}
