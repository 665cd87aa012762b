/**
 * What a llama-server for a model takes in memory (RAM + VRAM), and the context it gets (pure):
 *
 *   estimate = weights + KV cache + margin
 *   weights  = the bytes of every model file and the projector (llama.cpp maps them whole)
 *   KV cache = ctx × Σ over layers of n_head_kv × (key_length × k + value_length × v)
 *              (k, v: bytes per element of the cache types, f16 by default; key/value_length
 *              default to embedding_length / head_count, as in llama.cpp)
 *   margin   = 10 % of (weights + KV cache), at least 64 MiB: compute buffers (they grow with
 *              the batch and the vocabulary), the output logits, the process itself
 *
 * An upper-side estimate: sliding-window layers and compressed (MLA) caches take less than this.
 */
import type { GgufFacts } from "./gguf-facts.ts";

/** Bytes per element of each KV cache type llama-server accepts (`-ctk`/`-ctv`); block types carry a scale. */
export const CACHE_TYPE_BYTES: Record<string, number> = {
  f32: 4,
  f16: 2,
  bf16: 2,
  q8_0: 34 / 32,
  q4_0: 18 / 32,
  q4_1: 20 / 32,
  iq4_nl: 18 / 32,
  q5_0: 22 / 32,
  q5_1: 24 / 32,
};

export const MARGIN = { fraction: 0.1, minimumBytes: 64 * 2 ** 20 };

/** The context given to a model when nothing smaller bounds it. */
export const DEFAULT_CONTEXT = 32768;
/** Never less than this when a memory budget cuts the context (or the trained context, if smaller). */
export const MIN_CONTEXT = 2048;
/** llama.cpp pads the context to a multiple of 256. */
const CONTEXT_STEP = 256;

export interface CacheTypes {
  k: string;
  v: string;
}

export interface MemoryEstimate {
  weightBytes: number;
  /** Undefined when the file does not say enough about its attention (a llamafile not read, an unknown layout). */
  kvCacheBytes: number | undefined;
  marginBytes: number;
  totalBytes: number;
}

/** KV cache bytes per token of context, or undefined when the facts do not give the attention's shape. */
export function kvBytesPerToken(facts: GgufFacts, cache: CacheTypes = { k: "f16", v: "f16" }): number | undefined {
  const { blockCount, embeddingLength, headCount, headCountKv } = facts;
  const k = CACHE_TYPE_BYTES[cache.k];
  const v = CACHE_TYPE_BYTES[cache.v];
  if (!blockCount || headCountKv === undefined || k === undefined || v === undefined) return undefined;
  const perHead = embeddingLength && headCount ? embeddingLength / headCount : undefined;
  const keyLength = facts.keyLength ?? perHead;
  const valueLength = facts.valueLength ?? perHead;
  if (keyLength === undefined || valueLength === undefined) return undefined;
  const heads = Array.isArray(headCountKv) ? headsOfLayers(headCountKv, blockCount) : headCountKv * blockCount;
  return heads === undefined ? undefined : heads * (keyLength * k + valueLength * v);
}

/**
 * The KV heads of all layers when the header gives them per layer: a layer past the list has the
 * last one's. A loop over the list, never over the layers: the block count is the header's claim.
 */
function headsOfLayers(perLayer: number[], layers: number): number | undefined {
  if (perLayer.length === 0) return undefined;
  const listed = Math.min(perLayer.length, layers);
  let heads = 0;
  for (let layer = 0; layer < listed; layer++) heads += perLayer[layer]!;
  return heads + (layers - listed) * perLayer[perLayer.length - 1]!;
}

/**
 * An estimate's figures stay whole numbers JSON and the found-models file can hold: the facts'
 * bounds keep real models far below, and a header at those bounds gives an estimate of ~8 PiB
 * that no budget holds, not an Infinity or a figure that rounds.
 */
const MAX_ESTIMATE = Number.MAX_SAFE_INTEGER;
const capped = (bytes: number) => Math.min(MAX_ESTIMATE, Math.ceil(bytes));

export function estimateMemory(weightBytes: number, kvCacheBytes: number | undefined): MemoryEstimate {
  const kv = kvCacheBytes === undefined ? undefined : capped(kvCacheBytes);
  const base = weightBytes + (kv ?? 0);
  const marginBytes = capped(Math.max(MARGIN.minimumBytes, base * MARGIN.fraction));
  return { weightBytes, kvCacheBytes: kv, marginBytes, totalBytes: capped(base + marginBytes) };
}

/**
 * The context a model gets: `defaultContext`, no more than it was trained for, and, with a
 * budget, no more than fits in it (in steps of 256, down to MIN_CONTEXT; a model that does not
 * fit even then keeps MIN_CONTEXT, and the fleet refuses it with its estimate).
 */
export function chooseContext(input: {
  defaultContext: number;
  trainedContext: number | undefined;
  budgetBytes: number | undefined;
  weightBytes: number;
  kvBytesPerToken: number | undefined;
}): number {
  const wanted = Math.min(input.defaultContext, input.trainedContext ?? input.defaultContext);
  const perToken = input.kvBytesPerToken;
  if (input.budgetBytes === undefined || perToken === undefined) return wanted;
  const fits = (ctx: number) => estimateMemory(input.weightBytes, ctx * perToken).totalBytes <= input.budgetBytes!;
  if (fits(wanted)) return wanted;
  const floor = Math.min(MIN_CONTEXT, wanted);
  let low = Math.ceil(floor / CONTEXT_STEP);
  let high = Math.floor(wanted / CONTEXT_STEP);
  if (!fits(low * CONTEXT_STEP)) return floor;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid * CONTEXT_STEP)) low = mid;
    else high = mid - 1;
  }
  return low * CONTEXT_STEP;
}
