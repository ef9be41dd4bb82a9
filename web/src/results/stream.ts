// Reads the chunked FCP1 stream of `GET /api/jobs/{id}/post/{kind}` (src/post/chunk.rs): a
// JSON header, then geometry chunks, each handed over as soon as all of its bytes are in,
// so the viewer can draw a large result while the rest of it downloads.
import { problem } from "../api";

export type Kind = "surface" | "slice" | "iso" | "streamlines";
export interface Meta { kind: string; triangles: number; count?: number; total_length?: number; area: number; min: number | null; max: number | null; range?: [number, number]; bounds?: [number[], number[]]; scalar: string | null; triangles_before_lod?: number; extract_s?: number }
export interface Part { kind: number; positions: Float32Array; scalars: Float32Array; indices: Uint32Array }

/** Fetches an extraction and hands each chunk over as soon as it has arrived. */
export async function fetchStream(url: string, onMeta: (m: Meta) => void, onPart: (p: Part) => void, onProgress: (f: number) => void): Promise<Meta> {
  const r = await fetch(url, { credentials: "same-origin" });
  if (!r.ok) throw new Error(await problem(r));
  const total = Number(r.headers.get("content-length")) || 0;
  const reader = r.body!.getReader();
  let buf = new Uint8Array(1 << 20), have = 0, done = 0, got = 0;
  let meta: Meta | null = null;
  const parse = () => {
    for (;;) {
      if (have - done < 16) return;
      const dv = new DataView(buf.buffer, done, 16);
      if (dv.getUint32(0, true) !== 0x31504346) throw new Error("the result data is not in FlowCFD's format (FCP1)");
      const kind = dv.getUint32(4, true), a = dv.getUint32(8, true), b = dv.getUint32(12, true);
      const len = kind === 0 ? a : 16 * a + 4 * b;
      if (have - done < 16 + len) return;
      const at = done + 16;
      if (kind === 0) {
        meta = JSON.parse(new TextDecoder().decode(buf.subarray(at, at + a)));
        onMeta(meta!);
      } else {
        const copy = buf.slice(at, at + len).buffer;
        onPart({ kind, positions: new Float32Array(copy, 0, 3 * a), scalars: new Float32Array(copy, 12 * a, a), indices: new Uint32Array(copy, 16 * a, b) });
      }
      done += 16 + len;
    }
  };
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    if (have + value.length > buf.length) {
      // Drop what was parsed, grow if needed.
      const keep = buf.subarray(done, have);
      const next = new Uint8Array(Math.max(buf.length, 2 * (keep.length + value.length)));
      next.set(keep);
      buf = next; have = keep.length; done = 0;
    }
    buf.set(value, have);
    have += value.length; got += value.length;
    if (total) onProgress(got / total);
    parse();
  }
  parse();
  if (!meta) throw new Error("the result data ended early; try again");
  return meta;
}
