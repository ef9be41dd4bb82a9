// The project page's upload: STL and OBJ go up as they are (with a progress bar); STEP and
// IGES are tessellated here with OpenCASCADE compiled to WASM (occt-import-js, served by
// the binary itself) and go up as a multi-solid STL, one solid per B-rep face, named after
// the face (or its solid) when the file names it and `face_N` otherwise, with the original
// CAD file beside it.
import { $, groupDigits } from "./api";

/** A tessellated solid as the OpenCASCADE worker sends it (see occt-worker.js). */
export interface CadMesh {
  name?: string;
  position: Float32Array;
  index: Uint32Array;
  faces: { first: number; last: number; name?: string }[];
}

const form = document.getElementById("upload") as HTMLFormElement | null;
if (form) {
  const file = $("upload-file") as HTMLInputElement;
  const quality = $("cad-quality");
  const note = $("upload-note");
  const bar = $("upload-progress") as HTMLProgressElement;
  const isCad = (name: string) => /\.(step|stp|iges|igs)$/i.test(name);
  file.addEventListener("change", () => {
    const f = file.files?.[0];
    quality.hidden = !(f && isCad(f.name));
    note.textContent = f && isCad(f.name) ? "This file is tessellated in your browser before it is uploaded." : "";
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = file.files?.[0];
    if (!f) {
      note.textContent = "Choose a file first.";
      return;
    }
    const button = form.querySelector<HTMLButtonElement>("button[type=submit]")!;
    button.disabled = true;
    try {
      const data = new FormData();
      data.append("csrf", (form.querySelector("input[name=csrf]") as HTMLInputElement).value);
      data.append("scale", ($("upload-scale") as HTMLSelectElement).value);
      if (isCad(f.name)) {
        note.textContent = `Tessellating ${f.name} with OpenCASCADE…`;
        const bytes = new Uint8Array(await f.arrayBuffer());
        const meshes = await tessellate(f.name, bytes, ($("upload-quality") as HTMLSelectElement).value);
        const stl = toStl(meshes);
        note.textContent = `${groupDigits(stl.triangles)} triangles in ${stl.groups} surface groups; uploading…`;
        data.append("file", new Blob([stl.text], { type: "model/stl" }), f.name.replace(/\.[^.]+$/, "") + ".stl");
        data.append("cad", f, f.name);
      } else {
        data.append("file", f, f.name);
      }
      await send(form.action, data, bar);
    } catch (err) {
      note.textContent = (err as Error).message;
      note.classList.add("error");
      bar.hidden = true;
      button.disabled = false;
    }
  });
}

/** Deflection per quality: a fraction of the bounding box, and an angle in radians. */
const QUALITY: Record<string, [number, number]> = { coarse: [0.005, 0.8], medium: [0.001, 0.5], fine: [0.0002, 0.25] };

/** Tessellates a STEP or IGES file in a worker running OpenCASCADE. */
export function tessellate(name: string, bytes: Uint8Array, quality: string): Promise<CadMesh[]> {
  const [lin, ang] = QUALITY[quality] ?? QUALITY.medium;
  const params = { linearUnit: "meter", linearDeflectionType: "bounding_box_ratio", linearDeflection: lin, angularDeflection: ang };
  const iges = /\.(iges|igs)$/i.test(name);
  const kind = iges ? "IGES" : "STEP";
  return new Promise((resolve, reject) => {
    const w = new Worker("/assets/vendor/occt-worker.js");
    w.onmessage = (e) => {
      w.terminate();
      const r = e.data;
      if (!r.ok) reject(new Error(`OpenCASCADE failed on ${name}: ${r.error}`));
      else if (!r.success || !r.meshes.length || r.meshes.every((m: CadMesh) => m.index.length === 0)) {
        reject(new Error(`${name} could not be read as ${kind}: check that it is a valid CAD model with surfaces (export it again, or as STL)`));
      } else resolve(r.meshes);
    };
    w.onerror = () => {
      w.terminate();
      reject(new Error("OpenCASCADE could not be started in this browser; reload the page, or upload an STL instead"));
    };
    w.postMessage({ bytes, params, iges }, [bytes.buffer]);
  });
}

/** Tessellated CAD solids as a multi-solid ASCII STL: one solid per B-rep face. */
export function toStl(meshes: CadMesh[]): { text: string; triangles: number; groups: number } {
  const out: string[] = [];
  const used = new Map<string, number>();
  let triangles = 0, groups = 0, n = 0;
  const unique = (base: string) => {
    const clean = base.replace(/[^A-Za-z0-9_]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 60) || "face";
    const safe = /^[A-Za-z]/.test(clean) ? clean : `g_${clean}`;
    const k = used.get(safe) ?? 0;
    used.set(safe, k + 1);
    return k ? `${safe}_${k + 1}` : safe;
  };
  meshes.forEach((m, mi) => {
    const p = m.position;
    const idx = m.index;
    const faces: { first: number; last: number; name?: string }[] = m.faces.length ? m.faces : [{ first: 0, last: idx.length / 3 - 1 }];
    // One solid: faces are face_1, face_2, … in the file's order (stable across imports).
    // Several: each face is prefixed with its solid's name (or solidN).
    const solid = meshes.length > 1 ? (m.name?.trim() || `solid${mi + 1}`).slice(0, 24) : "";
    for (const f of faces) {
      n++;
      if (f.last < f.first) continue; // a face OpenCASCADE could not tessellate
      const named = f.name;
      const group = unique(named && named.trim() ? named : solid ? `${solid}_face_${n}` : `face_${n}`);
      out.push(`solid ${group}`);
      for (let t = f.first; t <= f.last; t++) {
        const v = [idx[3 * t], idx[3 * t + 1], idx[3 * t + 2]].map((i) => [p[3 * i], p[3 * i + 1], p[3 * i + 2]]);
        const a = [v[1][0] - v[0][0], v[1][1] - v[0][1], v[1][2] - v[0][2]];
        const b = [v[2][0] - v[0][0], v[2][1] - v[0][1], v[2][2] - v[0][2]];
        const nx = a[1] * b[2] - a[2] * b[1], ny = a[2] * b[0] - a[0] * b[2], nz = a[0] * b[1] - a[1] * b[0];
        const l = Math.hypot(nx, ny, nz) || 1;
        out.push(` facet normal ${nx / l} ${ny / l} ${nz / l}`, "  outer loop");
        for (const q of v) out.push(`   vertex ${q[0]} ${q[1]} ${q[2]}`);
        out.push("  endloop", " endfacet");
        triangles++;
      }
      out.push(`endsolid ${group}`);
      groups++;
    }
  });
  return { text: out.join("\n") + "\n", triangles, groups };
}

/** Posts the form with a progress bar; the server answers with the project page. */
function send(url: string, data: FormData, bar: HTMLProgressElement): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    bar.hidden = false;
    xhr.upload.onprogress = (p) => {
      if (p.lengthComputable) bar.value = (100 * p.loaded) / p.total;
    };
    xhr.onload = () => {
      // The answer is the project page: with the new geometry (after the redirect), or
      // with the error shown next to the form.
      if (xhr.status < 400) {
        location.assign(xhr.responseURL);
      } else {
        document.open();
        document.write(xhr.responseText);
        document.close();
      }
      resolve();
    };
    xhr.onerror = () => reject(new Error("The upload failed: the connection was lost. Try again."));
    xhr.send(data);
  });
}
