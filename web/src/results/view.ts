// The results page's three.js view: the shown layers (wall surface, cut plane, isosurface,
// streamlines), each streamed in chunk by chunk and coloured by one field, the cut plane's
// draggable handle, click picking for the probe, camera presets. Renders on demand only.
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { aimCamera, createRenderer } from "../viewer";
import { drawLegend, lut } from "./colormap";
import { fetchStream, type Kind, type Meta } from "./stream";

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
    drawLegend(canvas, this.lutData, this.currentRange(), label);
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
