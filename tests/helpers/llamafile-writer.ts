/**
 * A llamafile as the discovery tests need one: an executable prefix, then a zip archive whose
 * entries are stored uncompressed (as llamafile stores its model), optionally with zip64 records
 * (real llamafiles of more than 4 GiB have them). Not a runnable program.
 */
import { chmodSync } from "node:fs";
import { writeSparse } from "./gguf-writer.ts";

export interface ZipEntry {
  name: string;
  data: Uint8Array;
  /** 0 stored (the default), 8 deflated (the data is written as given). */
  method?: number;
}

/** The bytes of `prefix` + a zip of `entries`; with `zip64`, sizes and offsets in zip64 extra fields and end records. */
export function llamafileBytes(entries: ZipEntry[], options: { zip64?: boolean; prefix?: string } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from(options.prefix ?? "MZqFpD='\n\x7fELF fake executable prefix\n")];
  let offset = parts[0]!.length;
  const central: Buffer[] = [];
  const zip64 = options.zip64 ?? false;
  for (const entry of entries) {
    const name = Buffer.from(entry.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(entry.method ?? 0, 8);
    local.writeUInt32LE(entry.data.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, Buffer.from(entry.data));
    const extra = zip64 ? Buffer.alloc(4 + 24) : Buffer.alloc(0);
    if (zip64) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(entry.data.length), 4);
      extra.writeBigUInt64LE(BigInt(entry.data.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    record.writeUInt16LE(entry.method ?? 0, 10);
    record.writeUInt32LE(zip64 ? 0xffffffff : entry.data.length, 20);
    record.writeUInt32LE(zip64 ? 0xffffffff : entry.data.length, 24);
    record.writeUInt16LE(name.length, 28);
    record.writeUInt16LE(extra.length, 30);
    record.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    central.push(record, name, extra);
    offset += local.length + name.length + entry.data.length;
  }
  const directory = Buffer.concat(central);
  const directoryOffset = offset;
  parts.push(directory);
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeBigUInt64LE(BigInt(entries.length), 24);
    record.writeBigUInt64LE(BigInt(entries.length), 32);
    record.writeBigUInt64LE(BigInt(directory.length), 40);
    record.writeBigUInt64LE(BigInt(directoryOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(directoryOffset + directory.length), 8);
    locator.writeUInt32LE(1, 16);
    parts.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(zip64 ? 0xffffffff : directory.length, 12);
  end.writeUInt32LE(zip64 ? 0xffffffff : directoryOffset, 16);
  parts.push(end);
  return Buffer.concat(parts);
}

/** Writes an executable llamafile at `path`. */
export function writeLlamafile(path: string, entries: ZipEntry[], options: { zip64?: boolean } = {}): void {
  writeSparse(path, llamafileBytes(entries, options));
  chmodSync(path, 0o755);
}
