// The 3D surface viewer: the server's binary surface (FCS1: positions, indices, a group id
// per triangle) as one indexed BufferGeometry, its triangles ordered by group so that each
// group is one draw range with its own material. Orbit, pan, zoom, fit, view presets and an
// axes gizmo; hover highlighting and click / shift-click selection of groups by ray casts
// through a bounding-volume hierarchy (three-mesh-bvh), built once after the first frame,
// so a pick costs microseconds whatever the triangle count and whatever renders the page
// (a GPU, or a software rasterizer on a machine without one).
// Renders on demand only: a 2M-triangle surface costs nothing while nobody moves it.
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { acceleratedRaycast, MeshBVH } from "three-mesh-bvh";

// Meshes with a `boundsTree` ray-cast through it; others (the gizmo) as before.
THREE.Mesh.prototype.raycast = acceleratedRaycast;

export interface Surface {
  positions: Float32Array;
  indices: Uint32Array;
  groups: Uint32Array; // group id per triangle
  groupCount: number;
}

/** Parses `GET /api/geometries/{id}/surface` (see src/service/geometries.rs). */
export function parseSurface(buf: ArrayBuffer): Surface {
  const dv = new DataView(buf);
  const magic = String.fromCharCode(dv.getUint8(0), dv.getUint8(1), dv.getUint8(2), dv.getUint8(3));
  if (magic !== "FCS1") throw new Error("the surface data is not in FlowCFD's format (FCS1)");
  const p = dv.getUint32(4, true), t = dv.getUint32(8, true), g = dv.getUint32(12, true);
  let off = 16;
  const need = off + 12 * p + 12 * t + 4 * t;
  if (buf.byteLength < need) throw new Error("the surface data is truncated; reload the page");
  const positions = new Float32Array(buf.slice(off, off + 12 * p));
  off += 12 * p;
  const indices = new Uint32Array(buf.slice(off, off + 12 * t));
  off += 12 * t;
  const groups = new Uint32Array(buf.slice(off, off + 4 * t));
  return { positions, indices, groups, groupCount: g };
}

const HOVER = new THREE.Color(0x444444);
/** A full frame slower than this gets a coarse stand-in drawn while the camera moves. */
const FRAME_BUDGET_MS = 60;
/** The stand-in aims at this much of the frame time. */
const MOVING_FRAME_MS = 30;

/**
 * Vertex clustering: snaps vertices to a grid sized for about `target` triangles (cells of
 * the side at which that many equilateral-ish triangles would cover the area), averages each
 * cell's vertices, and keeps the triangles whose corners land in three different cells,
 * group by group. O(n), no per-triangle objects.
 */
export function clusterLod(
  positions: Float32Array, index: Uint32Array, ranges: [number, number][], target: number,
): { positions: Float32Array; index: Uint32Array; ranges: [number, number][] } {
  const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < positions.length; i += 3) {
    for (let k = 0; k < 3; k++) {
      lo[k] = Math.min(lo[k], positions[i + k]);
      hi[k] = Math.max(hi[k], positions[i + k]);
    }
  }
  let area = 0;
  const v = (i: number) => [positions[3 * i], positions[3 * i + 1], positions[3 * i + 2]];
  for (let t = 0; t < index.length; t += 3) {
    const a = v(index[t]), b = v(index[t + 1]), c = v(index[t + 2]);
    const u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]], w = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    area += 0.5 * Math.hypot(u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2], u[0] * w[1] - u[1] * w[0]);
  }
  const cell = Math.max(Math.sqrt((2 * area) / target), 1e-12);
  const n = [0, 1, 2].map((k) => Math.max(1, Math.ceil((hi[k] - lo[k]) / cell) + 1));
  const ids = new Map<number, number>();
  const sums: number[] = [];
  const counts: number[] = [];
  const cellOf = new Int32Array(positions.length / 3).fill(-1);
  const at = (i: number): number => {
    if (cellOf[i] >= 0) return cellOf[i];
    const ix = Math.floor((positions[3 * i] - lo[0]) / cell);
    const iy = Math.floor((positions[3 * i + 1] - lo[1]) / cell);
    const iz = Math.floor((positions[3 * i + 2] - lo[2]) / cell);
    const key = ix + n[0] * (iy + n[1] * iz);
    let id = ids.get(key);
    if (id === undefined) {
      id = counts.length;
      ids.set(key, id);
      sums.push(0, 0, 0);
      counts.push(0);
    }
    sums[3 * id] += positions[3 * i];
    sums[3 * id + 1] += positions[3 * i + 1];
    sums[3 * id + 2] += positions[3 * i + 2];
    counts[id]++;
    cellOf[i] = id;
    return id;
  };
  const out: number[] = [];
  const outRanges: [number, number][] = [];
  for (const [start, count] of ranges) {
    const first = out.length;
    for (let t = start; t < start + count; t += 3) {
      const a = at(index[t]), b = at(index[t + 1]), c = at(index[t + 2]);
      if (a !== b && b !== c && a !== c) out.push(a, b, c);
    }
    outRanges.push([first, out.length - first]);
  }
  const pos = new Float32Array(sums.length);
  for (let i = 0; i < counts.length; i++) {
    for (let k = 0; k < 3; k++) pos[3 * i + k] = sums[3 * i + k] / counts[i];
  }
  return { positions: pos, index: Uint32Array.from(out), ranges: outRanges };
}
const SELECTED = new THREE.Color(0xffb300);

/** Camera directions of the view presets (from the camera towards the target). */
const PRESETS: Record<string, [number, number, number]> = {
  "+x": [-1, 0, 0.0001], "-x": [1, 0, 0.0001], "+y": [0, -1, 0.0001], "-y": [0, 1, 0.0001], "+z": [0, -0.0001, 1], iso: [-1, -1.2, 0.8],
};

/**
 * Puts the camera where a sphere (centre, radius × margin) fills the narrower field of
 * view, along a preset (`+x`, `-x`, `+y`, `-y`, `+z`, `iso`); `fit` keeps the direction.
 */
export function aimCamera(camera: THREE.PerspectiveCamera, controls: OrbitControls, centre: THREE.Vector3, radius: number, which: string, margin: number): void {
  const dir = new THREE.Vector3();
  if (which === "fit") dir.subVectors(camera.position, controls.target).normalize();
  else dir.set(...(PRESETS[which] ?? PRESETS.iso)).normalize();
  const vfov = THREE.MathUtils.degToRad(camera.fov);
  const hfov = 2 * Math.atan(Math.tan(vfov / 2) * camera.aspect);
  const dist = (margin * radius) / Math.sin(Math.min(vfov, hfov) / 2);
  controls.target.copy(centre);
  camera.position.copy(centre).addScaledVector(dir, dist);
  camera.lookAt(centre);
  controls.update();
}

export class Viewer {
  readonly renderer: THREE.WebGLRenderer;
  private scene = new THREE.Scene();
  private camera: THREE.PerspectiveCamera;
  private controls: OrbitControls;
  private mesh: THREE.Mesh;
  private materials: THREE.MeshStandardMaterial[] = [];
  private raycaster = new THREE.Raycaster();
  /** The coarse stand-in drawn while the camera moves (large surfaces only). */
  private lod: THREE.Mesh | null = null;
  private interacting = false;
  /** Milliseconds the BVH took to build (0 until it exists). */
  bvhMs = 0;
  /** Milliseconds one full frame took, measured once after the first. */
  frameMs = 0;
  private gizmoScene = new THREE.Scene();
  private gizmoCamera = new THREE.OrthographicCamera(-1.6, 1.6, 1.6, -1.6, 0.1, 10);
  private radius = 1;
  private center = new THREE.Vector3();
  private pending = false;
  private hovered = -1;
  readonly selection = new Set<number>();
  /** Called after every selection change, with the selected group ids. */
  onSelect: (selected: number[]) => void = () => {};
  /** Called when the hovered group changes (-1: none). */
  onHover: (group: number) => void = () => {};

  constructor(private el: HTMLElement, s: Surface, colors: string[]) {
    this.renderer = createRenderer();
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    this.renderer.setClearColor(0xf3f5f8);
    this.renderer.autoClear = false;
    el.appendChild(this.renderer.domElement);
    this.camera = new THREE.PerspectiveCamera(35, 1, 1e-4, 1e4);
    this.camera.up.set(0, 0, 1); // z is up, as in the case set-up

    // Triangles ordered by group (counting sort): one draw range per group.
    const t = s.groups.length;
    const counts = new Uint32Array(s.groupCount + 1);
    for (let i = 0; i < t; i++) counts[Math.min(s.groups[i], s.groupCount)]++;
    const start = new Uint32Array(s.groupCount + 2);
    for (let g = 0; g <= s.groupCount; g++) start[g + 1] = start[g] + counts[g];
    const fill = start.slice();
    const sorted = new Uint32Array(3 * t);
    for (let i = 0; i < t; i++) {
      const g = Math.min(s.groups[i], s.groupCount);
      const at = 3 * fill[g]++;
      sorted[at] = s.indices[3 * i];
      sorted[at + 1] = s.indices[3 * i + 1];
      sorted[at + 2] = s.indices[3 * i + 2];
    }
    const geom = new THREE.BufferGeometry();
    geom.setAttribute("position", new THREE.BufferAttribute(s.positions, 3));
    geom.setIndex(new THREE.BufferAttribute(sorted, 1));
    geom.computeBoundingSphere();
    for (let g = 0; g < s.groupCount; g++) {
      geom.addGroup(3 * start[g], 3 * counts[g], g);
      this.materials.push(
        new THREE.MeshStandardMaterial({
          color: new THREE.Color(colors[g] ?? "#999"),
          roughness: 0.7,
          metalness: 0.05,
          side: THREE.DoubleSide,
          flatShading: true, // crisp CAD edges; needs no normals across them
        }),
      );
    }
    this.mesh = new THREE.Mesh(geom, this.materials);
    this.scene.add(this.mesh);
    this.raycaster.firstHitOnly = true;
    // The BVH after the first frame, so that the surface shows first. It reorders triangles
    // only within each group's range, so the draw ranges stay valid.
    const ranges: [number, number][] = [];
    for (let g = 0; g < s.groupCount; g++) ranges.push([3 * start[g], 3 * counts[g]]);
    setTimeout(() => {
      // Time one full frame (reading a pixel back waits for it). On a GPU even millions of
      // triangles fit the budget; where they do not (a software renderer, a weak GPU), a
      // stand-in sized for the budget is drawn while the camera moves.
      const gl = this.renderer.getContext();
      const timeFrame = (coarse: boolean) => {
        const was = this.interacting;
        this.interacting = coarse; // render() draws the stand-in while the camera moves
        const f0 = performance.now();
        this.render();
        gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
        this.interacting = was;
        return performance.now() - f0;
      };
      const standIn = (target: number) => {
        const lod = clusterLod(s.positions, sorted, ranges, target);
        const lg = new THREE.BufferGeometry();
        lg.setAttribute("position", new THREE.BufferAttribute(lod.positions, 3));
        lg.setIndex(new THREE.BufferAttribute(lod.index, 1));
        lod.ranges.forEach(([a, c], g) => lg.addGroup(a, c, g));
        if (this.lod) { this.scene.remove(this.lod); this.lod.geometry.dispose(); }
        this.lod = new THREE.Mesh(lg, this.materials); // same materials: same colours and highlights
        this.lod.visible = false;
        this.scene.add(this.lod);
      };
      this.frameMs = timeFrame(false);
      if (this.frameMs > FRAME_BUDGET_MS && t > 20_000) {
        const clamp = (n: number) => Math.min(Math.max(n, 10_000), t / 2);
        let target = clamp((t * MOVING_FRAME_MS) / this.frameMs);
        standIn(target);
        // A frame's cost is not proportional to its triangles (the pixels cost too, more so
        // in software): time the stand-in, and resize it once where it misses.
        const ms = timeFrame(true);
        if (ms > 1.5 * MOVING_FRAME_MS && target > 10_000) {
          target = clamp((target * MOVING_FRAME_MS) / ms);
          standIn(target);
        }
        this.requestRender();
      }
      const t0 = performance.now();
      geom.boundsTree = new MeshBVH(geom);
      this.bvhMs = performance.now() - t0;
      this.el.dataset.bvh = "ready";
    }, 50);

    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x8090a0, 1.6));
    const sun = new THREE.DirectionalLight(0xffffff, 1.6);
    sun.position.set(1, -1.5, 2);
    this.camera.add(sun); // lights the side the user looks at
    this.scene.add(this.camera);

    const sphere = geom.boundingSphere!;
    this.center.copy(sphere.center);
    this.radius = Math.max(sphere.radius, 1e-6);
    this.camera.near = this.radius / 1000;
    this.camera.far = this.radius * 1000;

    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = false;
    this.controls.screenSpacePanning = true;
    this.controls.addEventListener("change", () => this.requestRender());
    // While the camera moves, a large surface is drawn by its coarse stand-in; the full
    // surface comes back as soon as it stops.
    this.controls.addEventListener("start", () => (this.interacting = true));
    this.controls.addEventListener("end", () => {
      this.interacting = false;
      this.requestRender();
    });
    this.buildGizmo();
    this.view("iso");

    new ResizeObserver(() => this.resize()).observe(el);
    this.resize();
    this.bindPointer();
    el.addEventListener("keydown", (e) => {
      if (e.key === "f" || e.key === "F") this.view("fit");
      if (e.key === "Escape") this.setSelection([]);
    });
  }

  /** Fits the surface in view along a preset direction (`fit` keeps the direction). */
  view(which: string): void {
    aimCamera(this.camera, this.controls, this.center, this.radius, which, 1.1);
    this.requestRender();
  }

  setSelection(groups: number[]): void {
    this.selection.clear();
    for (const g of groups) this.selection.add(g);
    this.restyle();
    this.onSelect([...this.selection]);
  }

  /** Highlights a group from outside (the legend or the table). */
  highlight(group: number): void {
    if (group === this.hovered) return;
    this.hovered = group;
    this.restyle();
    this.onHover(group);
  }

  private restyle(): void {
    this.materials.forEach((m, g) => {
      m.emissive.copy(this.selection.has(g) ? SELECTED : g === this.hovered ? HOVER : new THREE.Color(0));
      m.emissiveIntensity = this.selection.has(g) ? 0.55 : 1;
    });
    this.requestRender();
  }

  /** The group under a canvas pixel, or -1 (through the BVH once it is built). */
  pick(x: number, y: number): number {
    const el = this.renderer.domElement;
    const ndc = new THREE.Vector2((x / el.clientWidth) * 2 - 1, -(y / el.clientHeight) * 2 + 1);
    this.raycaster.setFromCamera(ndc, this.camera);
    const hit = this.raycaster.intersectObject(this.mesh, false)[0];
    return hit?.face ? hit.face.materialIndex : -1;
  }

  /** Whether hover picking is cheap yet (the BVH exists). */
  get pickReady(): boolean {
    return !!this.mesh.geometry.boundsTree;
  }

  private bindPointer(): void {
    const c = this.renderer.domElement;
    let down: { x: number; y: number } | null = null;
    let hoverQueued = false;
    let last = { x: 0, y: 0 };
    c.addEventListener("pointerdown", (e) => (down = { x: e.clientX, y: e.clientY }));
    c.addEventListener("pointermove", (e) => {
      const b = c.getBoundingClientRect();
      last = { x: e.clientX - b.left, y: e.clientY - b.top };
      if (e.buttons || hoverQueued) return;
      hoverQueued = true;
      requestAnimationFrame(() => {
        hoverQueued = false;
        // Hover waits for the BVH: a brute-force cast per move would stall a huge surface.
        if (this.pickReady) this.highlight(this.pick(last.x, last.y));
      });
    });
    c.addEventListener("pointerleave", () => this.highlight(-1));
    c.addEventListener("click", (e) => {
      if (down && Math.hypot(e.clientX - down.x, e.clientY - down.y) > 4) return; // a drag
      const b = c.getBoundingClientRect();
      const g = this.pick(e.clientX - b.left, e.clientY - b.top);
      if (e.shiftKey || e.ctrlKey || e.metaKey) {
        if (g < 0) return;
        if (this.selection.has(g)) this.selection.delete(g);
        else this.selection.add(g);
        this.setSelection([...this.selection]);
      } else {
        this.setSelection(g < 0 ? [] : [g]);
      }
    });
  }

  private buildGizmo(): void {
    const axes: [THREE.Vector3, number, string][] = [
      [new THREE.Vector3(1, 0, 0), 0xd32f2f, "x"],
      [new THREE.Vector3(0, 1, 0), 0x388e3c, "y"],
      [new THREE.Vector3(0, 0, 1), 0x1976d2, "z"],
    ];
    for (const [dir, color, label] of axes) {
      this.gizmoScene.add(new THREE.ArrowHelper(dir, new THREE.Vector3(), 1, color, 0.28, 0.14));
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 64;
      const ctx = canvas.getContext("2d")!;
      ctx.fillStyle = "#" + color.toString(16).padStart(6, "0");
      ctx.font = "bold 44px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(label, 32, 34);
      const sprite = new THREE.Sprite(new THREE.SpriteMaterial({ map: new THREE.CanvasTexture(canvas), depthTest: false }));
      sprite.position.copy(dir).multiplyScalar(1.3);
      sprite.scale.setScalar(0.45);
      this.gizmoScene.add(sprite);
    }
  }

  private resize(): void {
    const w = Math.max(this.el.clientWidth, 1), h = Math.max(this.el.clientHeight, 1);
    this.renderer.setSize(w, h, false);
    this.renderer.domElement.style.width = "100%";
    this.renderer.domElement.style.height = "100%";
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    this.requestRender();
  }

  /** Renders one frame now, optionally as while moving (benchmarks; the page renders on demand). */
  renderNow(moving = false): void {
    const was = this.interacting;
    this.interacting = moving;
    this.render();
    this.interacting = was;
  }

  /** Triangles of the stand-in drawn while moving (0: none, the surface is small). */
  get lodTriangles(): number {
    return (this.lod?.geometry.index?.count ?? 0) / 3;
  }

  /** Orbits the camera about the vertical axis through the target by `angle` radians. */
  orbit(angle: number): void {
    const offset = new THREE.Vector3().subVectors(this.camera.position, this.controls.target);
    offset.applyAxisAngle(new THREE.Vector3(0, 0, 1), angle);
    this.camera.position.copy(this.controls.target).add(offset);
    this.camera.lookAt(this.controls.target);
  }

  /**
   * The group under a pixel by a ray cast through every triangle (three.js without the
   * BVH): the baseline that `bench-viewer` measures the BVH pick against. Not used by the page.
   */
  pickBruteForce(x: number, y: number): number {
    const geom = this.mesh.geometry;
    const tree = geom.boundsTree;
    geom.boundsTree = undefined;
    try {
      return this.pick(x, y);
    } finally {
      geom.boundsTree = tree;
    }
  }

  requestRender(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  private render(): void {
    const r = this.renderer;
    const size = r.getSize(new THREE.Vector2());
    r.setViewport(0, 0, size.x, size.y);
    r.setScissorTest(false);
    r.clear();
    const coarse = this.interacting && this.lod !== null;
    this.mesh.visible = !coarse;
    if (this.lod) this.lod.visible = coarse;
    r.render(this.scene, this.camera);
    // The axes gizmo: bottom-left corner, turning with the camera.
    const g = 96;
    r.setScissorTest(true);
    r.setScissor(8, 8, g, g);
    r.setViewport(8, 8, g, g);
    r.clearDepth();
    this.gizmoCamera.position.set(0, 0, 0).addScaledVector(
      new THREE.Vector3().subVectors(this.camera.position, this.controls.target).normalize(), 4,
    );
    this.gizmoCamera.up.copy(this.camera.up);
    this.gizmoCamera.lookAt(0, 0, 0);
    r.render(this.gizmoScene, this.gizmoCamera);
    r.setScissorTest(false);
    r.setViewport(0, 0, size.x, size.y);
  }

  /** Triangles drawn (for the info line). */
  get triangles(): number {
    return (this.mesh.geometry.index?.count ?? 0) / 3;
  }
}

/** Whether this browser can draw WebGL at all. */
export function webglAvailable(): boolean {
  try {
    const c = document.createElement("canvas");
    return !!(c.getContext("webgl2") || c.getContext("webgl"));
  } catch {
    return false;
  }
}

let softwareGl: boolean | undefined;

/**
 * Whether WebGL is drawn on the CPU here (SwiftShader, llvmpipe): a browser without GPU
 * access, as in many virtual machines and remote desktops, or headless.
 */
export function webglInSoftware(): boolean {
  if (softwareGl === undefined) {
    softwareGl = false;
    try {
      const gl = document.createElement("canvas").getContext("webgl");
      if (gl) {
        const info = gl.getExtension("WEBGL_debug_renderer_info");
        const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
        softwareGl = /swiftshader|llvmpipe|softpipe|software/i.test(name);
        gl.getExtension("WEBGL_lose_context")?.loseContext();
      }
    } catch {
      // No WebGL at all: webglAvailable() says so where it matters.
    }
  }
  return softwareGl;
}

/**
 * The viewers' WebGL renderer. Multisampling (antialias) only where a GPU draws: in software
 * it multiplies the cost of every frame (measured on 843,168 triangles in SwiftShader: 0.65 s
 * a frame with it, 0.25 s without), and large results would turn sluggish.
 */
export function createRenderer(): THREE.WebGLRenderer {
  return new THREE.WebGLRenderer({ antialias: !webglInSoftware(), preserveDrawingBuffer: true });
}

/** Downloads a binary with a progress callback (0..1, or NaN when the size is unknown). */
export async function download(url: string, progress: (f: number) => void): Promise<ArrayBuffer> {
  const r = await fetch(url, { credentials: "same-origin" });
  if (!r.ok || !r.body) throw new Error(`the surface could not be loaded (${r.status} ${r.statusText})`);
  const total = Number(r.headers.get("content-length") ?? NaN);
  const reader = r.body.getReader();
  const parts: Uint8Array[] = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
    progress(got / total);
  }
  const out = new Uint8Array(got);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out.buffer;
}
