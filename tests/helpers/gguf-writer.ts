/**
 * A small GGUF v3 writer for tests and the discovery bench: header, metadata of every value type
 * (arrays included), tensor infos, and the file grown to a realistic size with ftruncate, so a
 * "4.4 GiB" model is a sparse file that costs no disk. `GgufBytes` is exposed for hostile files
 * (absurd counts and lengths, wrong magic, cut headers) that no well-formed spec can describe.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";

export type GgufScalarType =
  | "uint8"
  | "int8"
  | "uint16"
  | "int16"
  | "uint32"
  | "int32"
  | "float32"
  | "bool"
  | "string"
  | "uint64"
  | "int64"
  | "float64";

type Item = number | bigint | boolean | string;

export type GgufValue =
  | { type: GgufScalarType; value: Item }
  | { type: "array"; itemType: GgufScalarType; values: Item[] }
  | { type: "array"; itemType: "array"; values: GgufValue[] };

export const TYPE_CODES: Record<GgufScalarType | "array", number> = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
};

export const u32 = (value: number): GgufValue => ({ type: "uint32", value });
export const u64 = (value: number | bigint): GgufValue => ({ type: "uint64", value });
export const f32 = (value: number): GgufValue => ({ type: "float32", value });
export const str = (value: string): GgufValue => ({ type: "string", value });
export const bool = (value: boolean): GgufValue => ({ type: "bool", value });
export const arrayOf = (itemType: GgufScalarType, values: Item[]): GgufValue => ({ type: "array", itemType, values });

/** A growable little-endian byte buffer with GGUF's primitives. */
export class GgufBytes {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private room(bytes: number): number {
    if (this.length + bytes > this.buffer.length) {
      const bigger = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + bytes));
      this.buffer.copy(bigger, 0, 0, this.length);
      this.buffer = bigger;
    }
    const at = this.length;
    this.length += bytes;
    return at;
  }

  /** Grows the buffer first, then writes: `room` may replace the buffer, so it runs before `this.buffer` is read. */
  private put(bytes: number, write: (buffer: Buffer, at: number) => void): this {
    const at = this.room(bytes);
    write(this.buffer, at);
    return this;
  }

  u8(value: number): this {
    return this.put(1, (b, at) => b.writeUInt8(value, at));
  }
  u32(value: number): this {
    return this.put(4, (b, at) => b.writeUInt32LE(value, at));
  }
  u64(value: number | bigint): this {
    return this.put(8, (b, at) => b.writeBigUInt64LE(BigInt(value), at));
  }
  raw(bytes: Uint8Array | string): this {
    const data = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
    return this.put(data.length, (b, at) => b.set(data, at));
  }
  /** A GGUF string: u64 byte length, then UTF-8 bytes. */
  str(value: string): this {
    const data = Buffer.from(value, "utf8");
    return this.u64(data.length).raw(data);
  }
  item(type: GgufScalarType, value: Item): this {
    const n = Number(value);
    switch (type) {
      case "uint8":
        return this.u8(n);
      case "int8":
        return this.put(1, (b, at) => b.writeInt8(n, at));
      case "uint16":
        return this.put(2, (b, at) => b.writeUInt16LE(n, at));
      case "int16":
        return this.put(2, (b, at) => b.writeInt16LE(n, at));
      case "uint32":
        return this.u32(n);
      case "int32":
        return this.put(4, (b, at) => b.writeInt32LE(n, at));
      case "float32":
        return this.put(4, (b, at) => b.writeFloatLE(n, at));
      case "bool":
        return this.u8(value ? 1 : 0);
      case "string":
        return this.str(String(value));
      case "uint64":
        return this.u64(BigInt(value));
      case "int64":
        return this.put(8, (b, at) => b.writeBigInt64LE(BigInt(value), at));
      case "float64":
        return this.put(8, (b, at) => b.writeDoubleLE(n, at));
    }
  }
  value(value: GgufValue): this {
    this.u32(TYPE_CODES[value.type]);
    return this.payload(value);
  }
  private payload(value: GgufValue): this {
    if (value.type !== "array") return this.item(value.type, value.value);
    this.u32(TYPE_CODES[value.itemType]).u64(value.values.length);
    if (value.itemType === "array") for (const inner of value.values as GgufValue[]) this.payload(inner);
    else for (const item of value.values as Item[]) this.item(value.itemType, item);
    return this;
  }
  pad(alignment: number): this {
    const missing = (alignment - (this.length % alignment)) % alignment;
    this.room(missing);
    return this;
  }
  bytes(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}

export interface TensorSpec {
  name: string;
  dims: number[];
  /** ggml type: 0 f32, 1 f16, 2 q4_0, 8 q8_0, 12 q4_K, ... */
  type?: number;
  /** Bytes of data this tensor takes (for the offsets of the ones after it). */
  bytes: number;
}

export interface GgufSpec {
  version?: number;
  metadata: Array<[string, GgufValue]>;
  tensors?: TensorSpec[];
  alignment?: number;
}

/** The header: magic, version, counts, metadata, tensor infos, padding to the data. */
export function ggufHeader(spec: GgufSpec): { bytes: Buffer; dataBytes: number } {
  const alignment = spec.alignment ?? 32;
  const out = new GgufBytes()
    .raw("GGUF")
    .u32(spec.version ?? 3)
    .u64(spec.tensors?.length ?? 0)
    .u64(spec.metadata.length);
  for (const [key, value] of spec.metadata) out.str(key).value(value);
  let offset = 0;
  for (const tensor of spec.tensors ?? []) {
    out.str(tensor.name).u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(tensor.type ?? 0).u64(offset);
    offset += Math.ceil(tensor.bytes / alignment) * alignment;
  }
  out.pad(alignment);
  return { bytes: out.bytes(), dataBytes: offset };
}

/**
 * Writes `spec` to `path`: the header, then a sparse hole up to the end of the tensor data (or
 * to `size` bytes when given). Returns the file's size.
 */
export function writeGguf(path: string, spec: GgufSpec, options: { size?: number } = {}): number {
  const { bytes, dataBytes } = ggufHeader(spec);
  return writeSparse(path, bytes, options.size ?? bytes.length + dataBytes);
}

/** `bytes` at the start of `path`, the file then grown (sparse) or cut to `size`. */
export function writeSparse(path: string, bytes: Uint8Array, size = bytes.length): number {
  const fd = openSync(path, "w", 0o644);
  try {
    writeSync(fd, bytes, 0, Math.min(bytes.length, size));
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
  return size;
}

export interface ModelShape {
  name?: string;
  architecture?: string;
  contextLength?: number;
  blockCount?: number;
  embeddingLength?: number;
  headCount?: number;
  /** One number, or one per layer. */
  headCountKv?: number | number[];
  keyLength?: number;
  valueLength?: number;
  fileType?: number;
  chatTemplate?: string;
  /** Entries of the vocabulary (tokens, token types; merges as many): realistic models carry 32k-256k. */
  vocabSize?: number;
  generalType?: string;
  split?: { no: number; count: number };
  extra?: Array<[string, GgufValue]>;
  /** Tensor count; 0 makes a vocab-only file. */
  tensorCount?: number;
}

/** A count as llama.cpp's converter writes it (uint32), or uint64 when it does not fit: a hostile header's claim. */
const countValue = (value: number): GgufValue => (value > 0xffff_ffff ? u64(value) : u32(value));

/** A llama-like model's metadata and tensors; file size comes from `writeGguf`'s `size`. */
export function modelSpec(shape: ModelShape): GgufSpec {
  const arch = shape.architecture ?? "llama";
  const vocab = shape.vocabSize ?? 270;
  const metadata: Array<[string, GgufValue]> = [];
  if (shape.split) {
    metadata.push(["split.no", { type: "uint16", value: shape.split.no }]);
    metadata.push(["split.count", { type: "uint16", value: shape.split.count }]);
    metadata.push(["split.tensors.count", { type: "int32", value: shape.tensorCount ?? 21 }]);
  }
  metadata.push(["general.architecture", str(arch)]);
  if (shape.generalType !== undefined) metadata.push(["general.type", str(shape.generalType)]);
  if (shape.name !== undefined) metadata.push(["general.name", str(shape.name)]);
  metadata.push([`${arch}.context_length`, countValue(shape.contextLength ?? 8192)]);
  metadata.push([`${arch}.embedding_length`, countValue(shape.embeddingLength ?? 64)]);
  metadata.push([`${arch}.block_count`, countValue(shape.blockCount ?? 2)]);
  metadata.push([`${arch}.attention.head_count`, countValue(shape.headCount ?? 4)]);
  const kv = shape.headCountKv ?? 4;
  metadata.push([`${arch}.attention.head_count_kv`, Array.isArray(kv) ? arrayOf("int32", kv) : countValue(kv)]);
  if (shape.keyLength !== undefined) metadata.push([`${arch}.attention.key_length`, countValue(shape.keyLength)]);
  if (shape.valueLength !== undefined) metadata.push([`${arch}.attention.value_length`, countValue(shape.valueLength)]);
  metadata.push([`${arch}.rope.freq_base`, f32(10000)]);
  metadata.push(["general.file_type", u32(shape.fileType ?? 0)]);
  metadata.push(["tokenizer.ggml.model", str("gpt2")]);
  metadata.push([
    "tokenizer.ggml.tokens",
    arrayOf(
      "string",
      Array.from({ length: vocab }, (_, i) => `tok${i}`),
    ),
  ]);
  metadata.push([
    "tokenizer.ggml.token_type",
    arrayOf(
      "int32",
      Array.from({ length: vocab }, () => 1),
    ),
  ]);
  metadata.push([
    "tokenizer.ggml.merges",
    arrayOf(
      "string",
      Array.from({ length: Math.max(0, vocab - 256) }, (_, i) => `t${i} k${i}`),
    ),
  ]);
  metadata.push(["tokenizer.ggml.add_bos_token", bool(false)]);
  if (shape.chatTemplate !== undefined) metadata.push(["tokenizer.chat_template", str(shape.chatTemplate)]);
  metadata.push(...(shape.extra ?? []));
  const count = shape.tensorCount ?? 21;
  const tensors: TensorSpec[] = Array.from({ length: count }, (_, i) => ({ name: `blk.${i}.weight`, dims: [64, 64], bytes: 64 * 64 * 4 }));
  return { metadata, tensors };
}

/** A vision projector (mmproj) as llama.cpp's converter writes it: architecture "clip". */
export function projectorSpec(options: { projectionDim?: number; name?: string } = {}): GgufSpec {
  const metadata: Array<[string, GgufValue]> = [
    ["general.architecture", str("clip")],
    ["general.type", str("mmproj")],
    ["general.name", str(options.name ?? "projector")],
    ["clip.has_vision_encoder", bool(true)],
    ["general.file_type", u32(1)],
  ];
  if (options.projectionDim !== undefined) metadata.push(["clip.vision.projection_dim", u32(options.projectionDim)]);
  return { metadata, tensors: [{ name: "v.patch_embd.weight", dims: [14, 14, 3, 64], type: 1, bytes: 1024 }] };
}

/** The ChatML template of the tiny test models (208 characters). */
export const CHATML_TEMPLATE =
  "{%- for message in messages -%}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}{%- endfor -%}{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

/**
 * The facts of the project's tiny real model (`tiny-a.gguf`: 473,472 bytes, 21 f32 tensors, data
 * from byte 6,272), read once from the file and copied here: a `llama` of 2 layers, 64 wide, 4
 * heads and 4 KV heads, trained context 8192, a 270-token gpt2 vocabulary with 11 merges, ChatML.
 */
export function tinyModelSpec(name = "tiny-a"): GgufSpec {
  const tokens = Array.from({ length: 270 }, (_, i) => `t${i}`);
  const merges = Array.from({ length: 11 }, (_, i) => `m${i} n${i}`);
  const metadata: Array<[string, GgufValue]> = [
    ["general.architecture", str("llama")],
    ["general.name", str(name)],
    ["llama.context_length", u32(8192)],
    ["llama.embedding_length", u32(64)],
    ["llama.block_count", u32(2)],
    ["llama.feed_forward_length", u32(128)],
    ["llama.attention.head_count", u32(4)],
    ["llama.attention.head_count_kv", u32(4)],
    ["llama.rope.dimension_count", u32(16)],
    ["llama.rope.freq_base", f32(10000)],
    ["llama.attention.layer_norm_rms_epsilon", f32(0.00001)],
    ["llama.vocab_size", u32(270)],
    ["general.file_type", u32(0)],
    ["tokenizer.ggml.model", str("gpt2")],
    ["tokenizer.ggml.pre", str("gpt-2")],
    ["tokenizer.ggml.tokens", arrayOf("string", tokens)],
    [
      "tokenizer.ggml.token_type",
      arrayOf(
        "int32",
        tokens.map(() => 1),
      ),
    ],
    ["tokenizer.ggml.merges", arrayOf("string", merges)],
    ["tokenizer.ggml.bos_token_id", u32(267)],
    ["tokenizer.ggml.eos_token_id", u32(269)],
    ["tokenizer.ggml.add_bos_token", bool(false)],
    ["tokenizer.ggml.add_eos_token", bool(false)],
    ["tokenizer.chat_template", str(CHATML_TEMPLATE)],
  ];
  const tensors: TensorSpec[] = [{ name: "token_embd.weight", dims: [64, 270], bytes: 64 * 270 * 4 }];
  for (let layer = 0; layer < 2; layer++) {
    for (const [part, dims] of [
      ["attn_norm", [64]],
      ["attn_q", [64, 64]],
      ["attn_k", [64, 64]],
      ["attn_v", [64, 64]],
      ["attn_output", [64, 64]],
      ["ffn_norm", [64]],
      ["ffn_gate", [64, 128]],
      ["ffn_down", [128, 64]],
      ["ffn_up", [64, 128]],
    ] as const) {
      tensors.push({ name: `blk.${layer}.${part}.weight`, dims: [...dims], bytes: dims.reduce((a, b) => a * b, 4) });
    }
  }
  tensors.push({ name: "output_norm.weight", dims: [64], bytes: 256 });
  tensors.push({ name: "output.weight", dims: [64, 270], bytes: 64 * 270 * 4 });
  return { metadata, tensors };
}

/** tiny-a.gguf's size in bytes. */
export const TINY_MODEL_BYTES = 473_472;

/** Files the reader must refuse; `GgufBytes` builds anything these do not. */
export const hostile = {
  /** A valid header cut after `bytes` bytes. */
  truncated: (spec: GgufSpec, bytes: number): Buffer => ggufHeader(spec).bytes.subarray(0, bytes),
  /** "GGML" where the magic "GGUF" belongs, the rest valid. */
  wrongMagic: (spec: GgufSpec): Buffer => {
    const bytes = Buffer.from(ggufHeader(spec).bytes);
    bytes.write("GGML", 0, "latin1");
    return bytes;
  },
  /** The start of a v3 header claiming `tensors` tensors and `keys` key-value pairs (any u64); append the rest. */
  claiming: (tensors: number | bigint, keys: number | bigint): GgufBytes => new GgufBytes().raw("GGUF").u32(3).u64(tensors).u64(keys),
};
