// The results viewer on a completed job's page: the wall surfaces, a cut plane, an
// isosurface and streamlines from `GET /api/jobs/{id}/post/{kind}` (the chunked FCP1
// stream of src/post/chunk.rs, drawn chunk by chunk while it downloads), coloured by one
// field through a colormap with a legend, automatic or fixed range. The cut plane is
// dragged in 3D (or with its slider), the isovalue has a slider, a click probes the field
// at the point hit, camera presets, PNG screenshot. Renders on demand only.
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { $, fmt, groupDigits, problem } from "./api";
import { aimCamera, createRenderer } from "./viewer";
import uPlot from "uplot";

type Kind = "surface" | "slice" | "iso" | "streamlines";
interface Meta { kind: string; triangles: number; count?: number; total_length?: number; area: number; min: number | null; max: number | null; range?: [number, number]; bounds?: [number[], number[]]; scalar: string | null; triangles_before_lod?: number; extract_s?: number }
interface Index { time: string; cells: number; bounds: [number[], number[]]; fields: { name: string; vector: boolean }[]; patches: { name: string; type: string; faces: number }[] }

// Colormaps as evenly spaced RGB stops.
const MAPS: Record<string, number[][]> = {
  viridis: [[0.267, 0.005, 0.329], [0.283, 0.141, 0.458], [0.254, 0.265, 0.530], [0.207, 0.372, 0.553], [0.164, 0.471, 0.558], [0.128, 0.567, 0.551], [0.135, 0.659, 0.518], [0.267, 0.749, 0.441], [0.478, 0.821, 0.318], [0.741, 0.873, 0.150], [0.993, 0.906, 0.144]],
  coolwarm: [[0.230, 0.299, 0.754], [0.406, 0.537, 0.934], [0.603, 0.732, 0.999], [0.788, 0.845, 0.939], [0.930, 0.820, 0.761], [0.967, 0.657, 0.537], [0.887, 0.413, 0.324], [0.706, 0.016, 0.150]],
  jet: [[0, 0, 0.5], [0, 0, 1], [0, 0.5, 1], [0, 1, 1], [0.5, 1, 0.5], [1, 1, 0], [1, 0.5, 0], [1, 0, 0], [0.5, 0, 0]],
  grayscale: [[0, 0, 0], [1, 1, 1]],
};

function lut(name: string): Float32Array {
  const stops = MAPS[name] ?? MAPS.viridis;
  const out = new Float32Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1);
    const a = Math.min(Math.floor(t), stops.length - 2), f = t - a;
    for (let k = 0; k < 3; k++) out[3 * i + k] = stops[a][k] + f * (stops[a + 1][k] - stops[a][k]);
  }
  return out;
}

/** Units of OpenFOAM's incompressible fields (p is kinematic: pressure / density). */
export function unitOf(field: string): string {
  const base = field.split(":")[0];
  if (field === "Q") return "1/s²";
  if (field.endsWith(":mag") || field.includes(":")) {
    if (base === "U") return "m/s";
    if (base === "wallShearStress") return "m²/s²";
  }
  return ({ p: "m²/s²", U: "m/s", k: "m²/s²", omega: "1/s", nut: "m²/s", epsilon: "m²/s³", yPlus: "–", wallShearStress: "m²/s²", nuTilda: "m²/s" } as Record<string, string>)[base] ?? "";
}

interface Part { kind: number; positions: Float32Array; scalars: Float32Array; indices: Uint32Array }

/** Fetches an extraction and hands each chunk over as soon as it has arrived. */
async function fetchStream(url: string, onMeta: (m: Meta) => void, onPart: (p: Part) => void, onProgress: (f: number) => void): Promise<Meta> {
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

/** While a layer streams in, redraw at most this often. */
const PROGRESS_MS = 700;

interface LoadOptions {
  onProgress?: (fraction: number) => void;
  /** The stream's header, which comes before any geometry. */
  onMeta?: (m: Meta) => void;
  swapAtEnd?: boolean;
}

class Layer {
  group = new THREE.Group();
  meta: Meta | null = null;
  scalars: Float32Array[] = [];
  constructor(readonly kind: Kind) {}
}

export class ResultsViewer {
  readonly renderer: THREE.WebGLRenderer;
  scene = new THREE.Scene();
  camera = new THREE.PerspectiveCamera(35, 1, 1e-3, 1e5);
  controls: OrbitControls;
  layers = new Map<Kind, Layer>();
  colormap = "viridis";
  range: [number, number] | null = null; // fixed range, or null for automatic
  private lutData = lut("viridis");
  private pending = false;
  private centre = new THREE.Vector3();
  private radius = 1;
  private handle: THREE.Mesh;
  private marker: THREE.Mesh;
  /** The plane being dragged: its normal axis and the callback with the new offset. */
  private drag: { axis: number; start: number; origin: number; plane: THREE.Plane } | null = null;
  onPlaneMoved: (offset: number) => void = () => {};
  onPick: (p: THREE.Vector3) => void = () => {};
  /** Called once a new layer's first chunk has been drawn. */
  onFirstDrawn: (kind: Kind) => void = () => {};
  /** Per kind: the newest load's sequence number, and the shown layer's. */
  private started = new Map<Kind, number>();
  private shownSeq = new Map<Kind, number>();
  private slice = { axis: 0, offset: 0 };

  constructor(private el: HTMLElement, private bounds: [number[], number[]]) {
    this.renderer = createRenderer();
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    this.renderer.setClearColor(0xf3f5f8);
    el.appendChild(this.renderer.domElement);
    this.camera.up.set(0, 0, 1);
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x8090a0, 2.0));
    const sun = new THREE.DirectionalLight(0xffffff, 1.2);
    sun.position.set(1, -1.5, 2);
    this.camera.add(sun);
    this.scene.add(this.camera);
    const lo = new THREE.Vector3(...bounds[0]), hi = new THREE.Vector3(...bounds[1]);
    this.centre.addVectors(lo, hi).multiplyScalar(0.5);
    this.radius = Math.max(lo.distanceTo(hi) / 2, 1e-6);
    this.camera.near = this.radius / 2000;
    this.camera.far = this.radius * 100;
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.screenSpacePanning = true;
    this.controls.addEventListener("change", () => this.requestRender());
    // The cut plane's handle: a translucent square with an outline, dragged along its normal.
    this.handle = new THREE.Mesh(
      new THREE.PlaneGeometry(1, 1),
      new THREE.MeshBasicMaterial({ color: 0x2266cc, transparent: true, opacity: 0.12, side: THREE.DoubleSide, depthWrite: false }),
    );
    this.handle.add(new THREE.LineSegments(new THREE.EdgesGeometry(new THREE.PlaneGeometry(1, 1)), new THREE.LineBasicMaterial({ color: 0x2266cc })));
    this.handle.visible = false;
    this.scene.add(this.handle);
    this.marker = new THREE.Mesh(new THREE.SphereGeometry(this.radius / 150, 16, 12), new THREE.MeshBasicMaterial({ color: 0xff00aa }));
    this.marker.visible = false;
    this.scene.add(this.marker);
    this.view("iso");
    new ResizeObserver(() => this.resize()).observe(el);
    this.resize();
    this.bindPointer();
  }

  private resize(): void {
    const w = Math.max(this.el.clientWidth, 100), h = Math.max(this.el.clientHeight, 100);
    this.renderer.setSize(w, h, false);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    this.requestRender();
  }

  requestRender(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.renderer.render(this.scene, this.camera);
    });
  }

  /** Camera presets: +x (from upstream), -x, +y, -y, +z (top), iso; `fit` keeps the direction. */
  view(which: string): void {
    aimCamera(this.camera, this.controls, this.centre, this.radius, which, 1.05);
    this.requestRender();
  }

  /** Fits the camera to what is shown (for a small body in a large domain). */
  fitTo(box: THREE.Box3): void {
    if (box.isEmpty()) return;
    box.getCenter(this.centre);
    this.radius = Math.max(box.getSize(new THREE.Vector3()).length() / 2, 1e-6);
    this.view("fit");
  }

  /**
   * Loads one layer and shows it in place of the kind's current one, drawing chunks as they
   * arrive. While it streams, the view is redrawn at most every PROGRESS_MS (a frame of a
   * million triangles is slow where WebGL runs on the CPU), and once at the end. With
   * `swapAtEnd` (the full pass after a preview), the layer is built off screen and replaces
   * the shown one in a single frame when its last chunk has arrived: the preview stays whole
   * meanwhile, and no frame is spent on a half-loaded result.
   *
   * The newest request of a kind wins: a load that a newer one has overtaken (the plane
   * dragged on, the layer switched off) is dropped instead of shown; it resolves with
   * `shown: false`.
   */
  async load(kind: Kind, url: string, o: LoadOptions = {}): Promise<{ meta: Meta; shown: boolean }> {
    const seq = this.bump(kind);
    const layer = new Layer(kind);
    const rangeBefore = this.currentRange();
    let started = false;
    let lastDraw = 0;
    const show = (): boolean => {
      if ((this.shownSeq.get(kind) ?? 0) > seq) return false;
      const cur = this.layers.get(kind);
      if (cur && cur !== layer) this.remove(cur);
      this.layers.set(kind, layer);
      this.shownSeq.set(kind, seq);
      this.scene.add(layer.group);
      return true;
    };
    const meta = await fetchStream(url, (m) => { layer.meta = m; o.onMeta?.(m); }, (p) => {
      if (!started && !o.swapAtEnd) {
        // The old layer goes when the new one starts to arrive, not before.
        started = true;
        if (show()) requestAnimationFrame(() => requestAnimationFrame(() => this.onFirstDrawn(kind)));
      }
      const g = new THREE.BufferGeometry();
      g.setAttribute("position", new THREE.BufferAttribute(p.positions, 3));
      g.setAttribute("color", new THREE.BufferAttribute(new Float32Array(p.positions.length), 3));
      g.setIndex(new THREE.BufferAttribute(p.indices, 1));
      layer.scalars.push(p.scalars);
      let obj: THREE.Object3D;
      if (p.kind === 1) {
        g.computeVertexNormals();
        obj = new THREE.Mesh(g, new THREE.MeshLambertMaterial({ vertexColors: true, side: THREE.DoubleSide }));
      } else {
        obj = new THREE.LineSegments(g, new THREE.LineBasicMaterial({ vertexColors: true }));
      }
      obj.userData.scalars = p.scalars;
      layer.group.add(obj);
      this.colourObject(obj, o.swapAtEnd ? rangeBefore : this.currentRange());
      const now = performance.now();
      if (this.layers.get(kind) === layer && now - lastDraw > PROGRESS_MS) {
        lastDraw = now;
        this.requestRender();
      }
    }, o.onProgress ?? (() => {}));
    layer.meta = meta;
    // Shown now: a layer kept off screen until complete, or one with nothing in it (a plane
    // that misses the mesh, an isovalue out of range) that still replaces the old one.
    const shown = started ? this.layers.get(kind) === layer : show();
    if (!shown) {
      this.remove(layer);
      return { meta, shown };
    }
    const r = this.currentRange();
    if (r[0] !== rangeBefore[0] || r[1] !== rangeBefore[1]) this.recolour();
    else this.requestRender();
    await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
    return { meta, shown };
  }

  /** A new request of `kind`: its sequence number. */
  private bump(kind: Kind): number {
    const seq = (this.started.get(kind) ?? 0) + 1;
    this.started.set(kind, seq);
    return seq;
  }

  remove(layer: Layer): void {
    this.scene.remove(layer.group);
    layer.group.traverse((o) => {
      const m = o as THREE.Mesh;
      m.geometry?.dispose();
      (m.material as THREE.Material | undefined)?.dispose?.();
    });
    if (this.layers.get(layer.kind) === layer) this.layers.delete(layer.kind);
    this.requestRender();
  }

  /** Hides a kind's layer; loads of it still under way are dropped when they end. */
  clear(kind: Kind): void {
    this.shownSeq.set(kind, this.bump(kind));
    const l = this.layers.get(kind);
    if (l) this.remove(l);
  }

  /** The range in use: fixed, or the union of the shown layers' ranges. */
  currentRange(): [number, number] {
    if (this.range) return this.range;
    let lo = Infinity, hi = -Infinity;
    for (const l of this.layers.values()) {
      if (l.meta?.range) {
        lo = Math.min(lo, l.meta.range[0]);
        hi = Math.max(hi, l.meta.range[1]);
      } else {
        for (const s of l.scalars) for (let i = 0; i < s.length; i++) { if (s[i] < lo) lo = s[i]; if (s[i] > hi) hi = s[i]; }
      }
    }
    if (!isFinite(lo)) return [0, 1];
    return hi > lo ? [lo, hi] : [lo - 0.5, hi + 0.5];
  }

  setColormap(name: string): void {
    this.colormap = name;
    this.lutData = lut(name);
    this.recolour();
  }

  recolour(): void {
    const r = this.currentRange();
    for (const l of this.layers.values()) l.group.children.forEach((o) => this.colourObject(o, r));
    this.requestRender();
  }

  private colourObject(o: THREE.Object3D, [lo, hi]: [number, number]): void {
    const s: Float32Array = o.userData.scalars;
    const g = (o as THREE.Mesh).geometry;
    const c = g.getAttribute("color") as THREE.BufferAttribute;
    const arr = c.array as Float32Array;
    const k = 255 / (hi - lo || 1);
    const L = this.lutData;
    for (let i = 0; i < s.length; i++) {
      const j = 3 * Math.max(0, Math.min(255, Math.round((s[i] - lo) * k)));
      arr[3 * i] = L[j]; arr[3 * i + 1] = L[j + 1]; arr[3 * i + 2] = L[j + 2];
    }
    c.needsUpdate = true;
  }

  /** Draws the legend: the colormap, the range in the field's units. */
  legend(canvas: HTMLCanvasElement, label: string): void {
    const ctx = canvas.getContext("2d")!;
    const [lo, hi] = this.currentRange();
    const w = canvas.width, h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    const barH = 14;
    for (let x = 0; x < w; x++) {
      const j = 3 * Math.round((x / (w - 1)) * 255);
      ctx.fillStyle = `rgb(${255 * this.lutData[j]},${255 * this.lutData[j + 1]},${255 * this.lutData[j + 2]})`;
      ctx.fillRect(x, 0, 1, barH);
    }
    ctx.fillStyle = "#222";
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "top";
    for (let i = 0; i <= 4; i++) {
      const v = lo + ((hi - lo) * i) / 4;
      const t = fmt(v, 3);
      const x = (i / 4) * (w - 1);
      ctx.fillRect(x, barH, 1, 4);
      ctx.textAlign = i === 0 ? "left" : i === 4 ? "right" : "center";
      ctx.fillText(t, x, barH + 5);
    }
    const unit = unitOf(label);
    canvas.setAttribute("aria-label", `${label} from ${fmt(lo, 3)} to ${fmt(hi, 3)} ${unit}`);
    canvas.title = `${label} [${unit}]`;
  }

  /** Shows the cut-plane handle at `offset` along `axis`. */
  showPlane(axis: number, offset: number, visible: boolean): void {
    this.slice = { axis, offset };
    const [lo, hi] = this.bounds;
    const size = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
    const c = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2];
    c[axis] = offset;
    this.handle.position.set(c[0], c[1], c[2]);
    this.handle.rotation.set(0, 0, 0);
    if (axis === 0) { this.handle.rotation.y = Math.PI / 2; this.handle.scale.set(size[2], size[1], 1); }
    if (axis === 1) { this.handle.rotation.x = Math.PI / 2; this.handle.scale.set(size[0], size[2], 1); }
    if (axis === 2) this.handle.scale.set(size[0], size[1], 1);
    this.handle.visible = visible;
    this.requestRender();
  }

  showMarker(p: THREE.Vector3 | null): void {
    this.marker.visible = !!p;
    if (p) this.marker.position.copy(p);
    this.requestRender();
  }

  private ray(e: PointerEvent): THREE.Raycaster {
    const r = this.renderer.domElement.getBoundingClientRect();
    const ndc = new THREE.Vector2(((e.clientX - r.left) / r.width) * 2 - 1, -((e.clientY - r.top) / r.height) * 2 + 1);
    const rc = new THREE.Raycaster();
    rc.setFromCamera(ndc, this.camera);
    rc.params.Line = { threshold: this.radius / 200 };
    return rc;
  }

  private bindPointer(): void {
    const dom = this.renderer.domElement;
    let down: { x: number; y: number } | null = null;
    dom.addEventListener("pointerdown", (e) => {
      down = { x: e.clientX, y: e.clientY };
      if (!this.handle.visible) return;
      const rc = this.ray(e);
      if (rc.intersectObject(this.handle, false).length === 0) return;
      // Drag along the normal: intersect the pointer ray with the plane that holds the
      // normal and faces the camera.
      const axis = this.slice.axis;
      const n = new THREE.Vector3().setComponent(axis, 1);
      const view = new THREE.Vector3().subVectors(this.camera.position, this.handle.position);
      const side = view.sub(n.clone().multiplyScalar(view.dot(n))).normalize();
      if (side.lengthSq() < 1e-12) return;
      const plane = new THREE.Plane().setFromNormalAndCoplanarPoint(side, this.handle.position);
      const hit = rc.ray.intersectPlane(plane, new THREE.Vector3());
      if (!hit) return;
      this.drag = { axis, start: hit.getComponent(axis), origin: this.slice.offset, plane };
      this.controls.enabled = false;
      dom.setPointerCapture(e.pointerId);
      e.preventDefault();
    });
    dom.addEventListener("pointermove", (e) => {
      if (!this.drag) return;
      const hit = this.ray(e).ray.intersectPlane(this.drag.plane, new THREE.Vector3());
      if (!hit) return;
      const [lo, hi] = this.bounds;
      const a = this.drag.axis;
      const off = Math.min(hi[a], Math.max(lo[a], this.drag.origin + hit.getComponent(a) - this.drag.start));
      this.showPlane(a, off, true);
    });
    dom.addEventListener("pointerup", (e) => {
      if (this.drag) {
        this.drag = null;
        this.controls.enabled = true;
        this.onPlaneMoved(this.slice.offset);
        return;
      }
      // A click (not a drag of the camera) probes what it hits.
      if (down && Math.hypot(e.clientX - down.x, e.clientY - down.y) < 4) {
        const objs: THREE.Object3D[] = [];
        for (const l of this.layers.values()) if (l.kind !== "streamlines") objs.push(...l.group.children);
        const hit = this.ray(e).intersectObjects(objs, false)[0];
        if (hit) this.onPick(hit.point);
      }
      down = null;
    });
  }

  /** Every shown layer's bounds. */
  shownBox(): THREE.Box3 {
    const b = new THREE.Box3();
    for (const l of this.layers.values()) b.expandByObject(l.group);
    return b;
  }

  triangles(): number {
    let n = 0;
    for (const l of this.layers.values()) n += l.meta?.triangles ?? 0;
    return n;
  }
}

// ------------------------------------------------------------------ the page
async function main(): Promise<void> {
  const root = document.getElementById("results-viewer");
  if (!root) return;
  const job = root.dataset.job!;
  const base = `/api/jobs/${job}/post`;
  const status = $("rv-status");
  const bar = $("rv-progress") as HTMLProgressElement;
  const setStatus = (t: string, busy = false) => {
    status.textContent = t;
    root.dataset.state = busy ? "loading" : "ready";
  };
  let index: Index;
  try {
    const r = await fetch(base, { credentials: "same-origin" });
    if (!r.ok) throw new Error(await problem(r));
    index = await r.json();
  } catch (e) {
    setStatus(`The result cannot be shown: ${(e as Error).message}`);
    root.dataset.state = "error";
    return;
  }
  const viewer = new ResultsViewer($("rv-canvas"), index.bounds);
  (window as unknown as { resultsViewer: ResultsViewer }).resultsViewer = viewer;
  const sel = (id: string) => $(id) as HTMLSelectElement;
  const inp = (id: string) => $(id) as HTMLInputElement;
  const colorBy = sel("rv-color");
  const isoField = sel("rv-iso-field");
  for (const f of index.fields) {
    const opts = f.vector ? [`${f.name}:mag`, `${f.name}:x`, `${f.name}:y`, `${f.name}:z`] : [f.name];
    for (const o of opts) {
      colorBy.add(new Option(`${o} [${unitOf(o)}]`, o));
      isoField.add(new Option(o, o));
    }
  }
  if (index.fields.some((f) => f.name === "U" && f.vector)) {
    isoField.add(new Option("Q (Q-criterion)", "Q"));
    colorBy.add(new Option("Q [1/s²]", "Q"));
  }
  colorBy.value = index.fields.some((f) => f.name === "p") ? "p" : colorBy.options[0]?.value ?? "";
  isoField.value = index.fields.some((f) => f.name === "U") ? "Q" : isoField.options[0]?.value ?? "";
  $("rv-meta").textContent = `time ${index.time}, ${groupDigits(index.cells)} cells`;
  const legend = $("rv-legend") as HTMLCanvasElement;
  const drawLegend = () => viewer.legend(legend, colorBy.value);

  const [lo, hi] = index.bounds;
  const q = (o: Record<string, string | number>) => new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)])).toString();
  let busy = 0;
  let clicked = 0;
  viewer.onFirstDrawn = (kind) => {
    if (root.dataset[`${kind}FirstAt`] !== String(clicked)) {
      root.dataset[`${kind}FirstAt`] = String(clicked);
      root.dataset[`${kind}FirstMs`] = String(Math.round(performance.now() - clicked));
    }
  };
  // Large surfaces come in two passes: a preview decimated to PREVIEW_TRIANGLES (a whole,
  // coarser picture on screen quickly), and the full result, which replaces it. The full
  // pass starts as soon as the preview's header says it was decimated, so it downloads and
  // is built while the preview is drawn.
  const PREVIEW_TRIANGLES = 200_000;
  const runs = new Map<Kind, number>();
  type Loaded = Awaited<ReturnType<ResultsViewer["load"]>>;
  const run = async (kind: Kind, label: string, url: string) => {
    const id = (runs.get(kind) ?? 0) + 1;
    runs.set(kind, id);
    busy++;
    clicked = performance.now();
    bar.hidden = false;
    bar.value = 0;
    setStatus(`Loading the ${label}…`, true);
    const t0 = performance.now();
    try {
      const pass = { preview: 0, full: 0, fullLoad: null as Promise<Loaded> | null };
      const progress = () => (bar.value = pass.fullLoad ? 0.25 * pass.preview + 0.75 * pass.full : pass.preview);
      const first = await viewer.load(kind, kind === "streamlines" ? url : `${url}&max_triangles=${PREVIEW_TRIANGLES}`, {
        onProgress: (f) => { pass.preview = f; progress(); },
        onMeta: (m) => {
          if (kind === "streamlines" || (m.triangles_before_lod ?? 0) <= m.triangles) return;
          pass.fullLoad = viewer.load(kind, url, { swapAtEnd: true, onProgress: (f) => { pass.full = f; progress(); } });
          pass.fullLoad.catch(() => {}); // awaited below; this only keeps it from counting as unhandled meanwhile
        },
      });
      if (pass.fullLoad && first.shown && runs.get(kind) === id) {
        root.dataset[`${kind}PreviewMs`] = String(Math.round(performance.now() - t0));
        setStatus(`${label}: a preview of ${groupDigits(first.meta.triangles)} triangles; loading all ${groupDigits(first.meta.triangles_before_lod!)}…`, true);
      }
      const { meta: m, shown } = pass.fullLoad ? await pass.fullLoad : first;
      if (runs.get(kind) !== id) return; // a newer request of this kind reports instead
      if (!shown) {
        setStatus(`The ${label} is hidden.`);
        return;
      }
      const s = ((performance.now() - t0) / 1000).toFixed(2);
      const what = kind === "streamlines" ? `${m.count ?? 0} streamlines, ${fmt(m.total_length ?? 0, 4)} m in all` : `${groupDigits(m.triangles)} triangles, ${fmt(m.area, 4)} m²`;
      setStatus(`${label}: ${what}, in ${s} s`, busy > 1);
      root.dataset[`${kind}Ms`] = String(Math.round(performance.now() - t0));
      root.dataset[`${kind}Triangles`] = String(m.triangles);
      drawLegend();
      syncRange();
    } catch (e) {
      if (runs.get(kind) !== id) return;
      setStatus(`The ${label} failed: ${(e as Error).message}`);
      root.dataset.state = "error";
    } finally {
      busy--;
      if (!busy) { bar.hidden = true; if (root.dataset.state !== "error") root.dataset.state = "ready"; }
    }
  };

  // Surface
  const surface = () => inp("rv-surface").checked
    ? run("surface", "surface", `${base}/surface?${q({ field: colorBy.value })}`)
    : (viewer.clear("surface"), drawLegend());
  // Slice
  const axisOf = () => Number(sel("rv-slice-axis").value);
  const sliceSlider = inp("rv-slice-pos");
  const setSliceRange = () => {
    const a = axisOf();
    sliceSlider.min = String(lo[a]); sliceSlider.max = String(hi[a]); sliceSlider.step = String((hi[a] - lo[a]) / 500);
  };
  setSliceRange();
  sliceSlider.value = String((lo[axisOf()] + hi[axisOf()]) / 2);
  const slice = () => {
    const on = inp("rv-slice").checked, a = axisOf(), off = Number(sliceSlider.value);
    viewer.showPlane(a, off, on);
    // The slider's middle is a sum of floats: round what is zero at the domain's scale.
    $("rv-slice-val").textContent = `${"xyz"[a]} = ${fmt(Math.abs(off) < 1e-9 * (hi[a] - lo[a]) ? 0 : off, 4)} m`;
    if (!on) { viewer.clear("slice"); drawLegend(); return; }
    const origin = [0, 0, 0], normal = [0, 0, 0];
    origin[a] = off; normal[a] = 1;
    return run("slice", "slice", `${base}/slice?${q({ origin: origin.join(","), normal: normal.join(","), field: colorBy.value })}`);
  };
  viewer.onPlaneMoved = (off) => { sliceSlider.value = String(off); slice(); };
  // Isosurface: its slider spans the field's range.
  const isoSlider = inp("rv-iso-value");
  // The range is asked for when the field changes; an isosurface asked for meanwhile waits
  // for it, and an answer for a field no longer chosen is ignored.
  let isoRanged: Promise<void> = Promise.resolve();
  const isoRange = () => (isoRanged = (async () => {
    const field = isoField.value;
    const r = await fetch(`${base}/range?${q({ field })}`, { credentials: "same-origin" });
    if (!r.ok || isoField.value !== field) return;
    const { min, max } = await r.json();
    isoSlider.min = String(min); isoSlider.max = String(max); isoSlider.step = String((max - min) / 200 || 1);
    // Q: a small positive level picks out the vortex cores; others: the middle.
    isoSlider.value = String(isoField.value === "Q" && max > 0 ? 0.02 * max : (min + max) / 2);
  })());
  const iso = async () => {
    await isoRanged;
    $("rv-iso-val").textContent = `${isoField.value} = ${fmt(Number(isoSlider.value), 4)} ${unitOf(isoField.value)}`;
    if (!inp("rv-iso").checked) { viewer.clear("iso"); drawLegend(); return; }
    return run("iso", "isosurface", `${base}/iso?${q({ field: isoField.value, value: isoSlider.value, color_by: colorBy.value, method: sel("rv-iso-method").value })}`);
  };
  // Streamlines: seeds on a line upstream, across the domain's height by default.
  inp("rv-seed-from").value = [lo[0] + 0.05 * (hi[0] - lo[0]), (lo[1] + hi[1]) / 2, lo[2] + 0.02 * (hi[2] - lo[2])].map((v) => fmt(v, 4)).join(",");
  inp("rv-seed-to").value = [lo[0] + 0.05 * (hi[0] - lo[0]), (lo[1] + hi[1]) / 2, lo[2] + 0.5 * (hi[2] - lo[2])].map((v) => fmt(v, 4)).join(",");
  const streamlines = () => inp("rv-stream").checked
    ? run("streamlines", "streamlines", `${base}/streamlines?${q({ seed_line: `${inp("rv-seed-from").value}:${inp("rv-seed-to").value}`, count: inp("rv-seed-count").value, color_by: colorBy.value })}`)
    : (viewer.clear("streamlines"), drawLegend());

  // Range and colormap
  const syncRange = () => {
    if (inp("rv-auto").checked) {
      const [a, b] = viewer.currentRange();
      inp("rv-min").value = fmt(a, 4); inp("rv-max").value = fmt(b, 4);
    }
  };
  const applyRange = () => {
    const auto = inp("rv-auto").checked;
    inp("rv-min").disabled = auto; inp("rv-max").disabled = auto;
    const a = Number(inp("rv-min").value), b = Number(inp("rv-max").value);
    viewer.range = !auto && isFinite(a) && isFinite(b) && b > a ? [a, b] : null;
    viewer.recolour(); drawLegend(); syncRange();
  };
  sel("rv-colormap").addEventListener("change", () => { viewer.setColormap(sel("rv-colormap").value); drawLegend(); });
  inp("rv-auto").addEventListener("change", applyRange);
  inp("rv-min").addEventListener("change", applyRange);
  inp("rv-max").addEventListener("change", applyRange);
  colorBy.addEventListener("change", () => { surface(); slice(); iso(); streamlines(); });
  inp("rv-surface").addEventListener("change", surface);
  inp("rv-slice").addEventListener("change", slice);
  sel("rv-slice-axis").addEventListener("change", () => { setSliceRange(); sliceSlider.value = String((lo[axisOf()] + hi[axisOf()]) / 2); slice(); });
  sliceSlider.addEventListener("input", () => viewer.showPlane(axisOf(), Number(sliceSlider.value), inp("rv-slice").checked));
  sliceSlider.addEventListener("change", slice);
  inp("rv-iso").addEventListener("change", iso);
  isoField.addEventListener("change", async () => { await isoRange(); iso(); });
  isoSlider.addEventListener("input", () => ($("rv-iso-val").textContent = `${isoField.value} = ${fmt(Number(isoSlider.value), 4)} ${unitOf(isoField.value)}`));
  isoSlider.addEventListener("change", iso);
  sel("rv-iso-method").addEventListener("change", iso);
  $("rv-stream-go").addEventListener("click", () => { inp("rv-stream").checked = true; streamlines(); });
  inp("rv-stream").addEventListener("change", streamlines);
  root.querySelectorAll<HTMLButtonElement>("[data-view]").forEach((b) => b.addEventListener("click", () => b.dataset.view === "fit-shown" ? viewer.fitTo(viewer.shownBox()) : viewer.view(b.dataset.view!)));
  $("rv-shot").addEventListener("click", () => {
    viewer.renderer.render(viewer.scene, viewer.camera);
    viewer.renderer.domElement.toBlob((blob) => {
      if (!blob) return;
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = `flowcfd-${job.slice(0, 8)}-${colorBy.value.replace(":", "-")}.png`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    }, "image/png");
  });
  // Click to probe; after "Line plot", two clicks give the ends of a line to plot along.
  let lineEnds: THREE.Vector3[] | null = null;
  const out = $("rv-probe");
  $("rv-line").addEventListener("click", () => {
    lineEnds = [];
    out.textContent = "Line plot: click the start of the line, then its end.";
  });
  const linePlot = async (a: THREE.Vector3, b: THREE.Vector3) => {
    const field = colorBy.value;
    const n = 200;
    const r = await fetch(`${base}/probe?${q({ field, line: `${a.x},${a.y},${a.z}:${b.x},${b.y},${b.z}`, n })}`, { credentials: "same-origin" });
    if (!r.ok) throw new Error(await problem(r));
    const j = await r.json();
    const len = a.distanceTo(b);
    const xs: number[] = j.values.map((_: unknown, i: number) => (len * i) / (n - 1));
    const ys: (number | null)[] = j.values.map((v: number | null) => v);
    const el = $("rv-plot");
    el.hidden = false;
    el.innerHTML = "";
    new uPlot({
      width: Math.max(el.clientWidth, 300), height: 220, scales: { x: { time: false } },
      axes: [{ label: "distance along the line [m]" }, { label: `${field} [${unitOf(field)}]` }],
      series: [{}, { label: field, stroke: "#1f77b4", width: 2 }],
    }, [xs, ys], el);
    const inside = ys.filter((v) => v !== null).length;
    out.textContent = `Line plot of ${field} over ${fmt(len, 4)} m (${inside} of ${n} points inside the mesh)`;
    root.dataset.linePoints = String(inside);
  };
  viewer.onPick = async (p) => {
    viewer.showMarker(p);
    if (lineEnds) {
      lineEnds.push(p.clone());
      if (lineEnds.length < 2) {
        out.textContent = "Line plot: now click the end of the line.";
        return;
      }
      const [a, b] = lineEnds;
      lineEnds = null;
      try {
        await linePlot(a, b);
      } catch (e) {
        out.textContent = `Line plot failed: ${(e as Error).message}`;
      }
      return;
    }
    out.textContent = "probing…";
    try {
      const r = await fetch(`${base}/probe?${q({ field: colorBy.value, points: [p.x, p.y, p.z].join(",") })}`, { credentials: "same-origin" });
      if (!r.ok) throw new Error(await problem(r));
      const j = await r.json();
      const v = j.values[0];
      out.textContent = v === null ? `(${fmt(p.x, 4)}, ${fmt(p.y, 4)}, ${fmt(p.z, 4)}) m is outside the mesh`
        : `${colorBy.value} = ${fmt(v, 5)} ${unitOf(colorBy.value)} at (${fmt(p.x, 4)}, ${fmt(p.y, 4)}, ${fmt(p.z, 4)}) m`;
      root.dataset.probe = v === null ? "" : String(v);
    } catch (e) {
      out.textContent = `Probe failed: ${(e as Error).message}`;
    }
  };

  drawLegend();
  applyRange();
  await surface();
  // Frame the body (the walls), not the whole domain.
  viewer.fitTo(viewer.shownBox());
  await isoRange();
  // While the surface is looked at, the server interpolates the colour field to the mesh
  // points (what cuts and isosurfaces are coloured by), so the first of them need not wait.
  fetch(`${base}/range?${q({ field: colorBy.value })}`, { credentials: "same-origin" }).catch(() => {});
}

main();
