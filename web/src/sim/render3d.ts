/**
 * three.js view of a MuJoCo simulation: one three.js mesh per visible geom (simple shapes and meshes),
 * posed every frame from MuJoCo's geom_xpos / geom_xmat. MuJoCo is z-up; so is this camera.
 */
import * as THREE from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import type { Simulation } from "./mujoco";

const GEOM = { plane: 0, hfield: 1, sphere: 2, capsule: 3, ellipsoid: 4, cylinder: 5, box: 6, mesh: 7 } as const;
/** MuJoCo's viewer shows geom groups 0-2 by default; 3+ are usually collision-only duplicates. */
const VISIBLE_GROUPS = 3;

/** three.js geometry for one MuJoCo geom (null for types not drawn, e.g. height fields). */
export function geomGeometry(sim: Simulation, g: number): THREE.BufferGeometry | null {
  const m = sim.model;
  const type = (m.geom_type as Int32Array)[g];
  const size = (m.geom_size as Float64Array).subarray(3 * g, 3 * g + 3);
  switch (type) {
    case GEOM.plane: {
      const sx = size[0] > 0 ? size[0] : 10;
      const sy = size[1] > 0 ? size[1] : 10;
      return new THREE.PlaneGeometry(2 * sx, 2 * sy);
    }
    case GEOM.sphere:
      return new THREE.SphereGeometry(size[0], 24, 16);
    case GEOM.ellipsoid:
      return new THREE.SphereGeometry(1, 24, 16).scale(size[0], size[1], size[2]);
    case GEOM.capsule:
      return new THREE.CapsuleGeometry(size[0], 2 * size[1], 8, 16).rotateX(Math.PI / 2);
    case GEOM.cylinder:
      return new THREE.CylinderGeometry(size[0], size[0], 2 * size[1], 24).rotateX(Math.PI / 2);
    case GEOM.box:
      return new THREE.BoxGeometry(2 * size[0], 2 * size[1], 2 * size[2]);
    case GEOM.mesh: {
      const id = (m.geom_dataid as Int32Array)[g];
      if (id < 0) return null;
      const vadr = (m.mesh_vertadr as Int32Array)[id];
      const vnum = (m.mesh_vertnum as Int32Array)[id];
      const fadr = (m.mesh_faceadr as Int32Array)[id];
      const fnum = (m.mesh_facenum as Int32Array)[id];
      const verts = (m.mesh_vert as Float32Array).slice(3 * vadr, 3 * (vadr + vnum));
      const faces = (m.mesh_face as Int32Array).slice(3 * fadr, 3 * (fadr + fnum));
      const geo = new THREE.BufferGeometry();
      geo.setAttribute("position", new THREE.BufferAttribute(verts, 3));
      geo.setIndex(new THREE.BufferAttribute(new Uint32Array(faces), 1));
      // Faceted shading reads better than smoothed normals for robot parts made of few triangles.
      const flat = geo.toNonIndexed();
      flat.computeVertexNormals();
      geo.dispose();
      return flat;
    }
    default:
      return null;
  }
}

/** RGBA of a geom: its material's colour when it has one, else its own rgba. */
export function geomColor(sim: Simulation, g: number): [number, number, number, number] {
  const m = sim.model;
  const mat = (m.geom_matid as Int32Array)[g];
  const src = mat >= 0 ? (m.mat_rgba as Float32Array) : (m.geom_rgba as Float32Array);
  const i = 4 * (mat >= 0 ? mat : g);
  return [src[i], src[i + 1], src[i + 2], src[i + 3]];
}

function checkerTexture(): THREE.DataTexture {
  const n = 8;
  const data = new Uint8Array(n * n * 4);
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      const v = (x + y) % 2 ? 58 : 40;
      data.set([v, v + 14, v + 30, 255], 4 * (y * n + x));
    }
  const tex = new THREE.DataTexture(data, n, n);
  tex.wrapS = tex.wrapT = THREE.RepeatWrapping;
  tex.magFilter = THREE.NearestFilter;
  tex.needsUpdate = true;
  return tex;
}

export class SceneView {
  readonly renderer: THREE.WebGLRenderer;
  readonly scene = new THREE.Scene();
  readonly camera: THREE.PerspectiveCamera;
  private controls: OrbitControls;
  private meshes: { g: number; obj: THREE.Mesh }[] = [];
  private tracked: number;
  private lastTarget = new THREE.Vector3();
  private m4 = new THREE.Matrix4();

  constructor(
    private canvas: HTMLCanvasElement,
    private sim: Simulation,
  ) {
    this.renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.scene.background = new THREE.Color(0x16182a);
    this.scene.add(new THREE.HemisphereLight(0xdde8ff, 0x303040, 1.6));
    const sun = new THREE.DirectionalLight(0xffffff, 1.8);
    sun.position.set(2, -3, 5);
    this.scene.add(sun);

    const m = sim.model;
    for (let g = 0; g < m.ngeom; g++) {
      if ((m.geom_group as Int32Array)[g] >= VISIBLE_GROUPS) continue;
      const [r, gr, b, a] = geomColor(sim, g);
      if (a <= 0) continue;
      const geo = geomGeometry(sim, g);
      if (!geo) continue;
      const isPlane = (m.geom_type as Int32Array)[g] === GEOM.plane;
      const mat = new THREE.MeshStandardMaterial({
        color: new THREE.Color(r, gr, b),
        transparent: a < 1,
        opacity: a,
        roughness: 0.7,
        metalness: 0.05,
        side: isPlane ? THREE.DoubleSide : THREE.FrontSide,
      });
      if (isPlane) {
        mat.color.set(0xffffff);
        mat.map = checkerTexture();
        const size = (m.geom_size as Float64Array).subarray(3 * g, 3 * g + 2);
        mat.map.repeat.set(Math.max(1, (size[0] || 10) * 2), Math.max(1, (size[1] || 10) * 2));
      }
      const obj = new THREE.Mesh(geo, mat);
      obj.matrixAutoUpdate = false;
      this.scene.add(obj);
      this.meshes.push({ g, obj });
    }

    // Track the first body under the world (the robot's root), as the training videos do.
    this.tracked = m.nbody > 1 ? 1 : 0;
    const extent = m.stat.extent || 2;
    this.camera = new THREE.PerspectiveCamera(45, 1, extent / 100, extent * 100);
    this.camera.up.set(0, 0, 1);
    const target = this.trackedPosition();
    // stat.extent spans the whole model (rails, arenas); clamp it so the robot fills a good part of the view.
    const dist = Math.min(Math.max(extent, 0.6), 3) * 1.3;
    const dir = new THREE.Vector3(0.35, -1, 0.4).normalize().multiplyScalar(dist);
    this.camera.position.copy(target).add(dir);
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.target.copy(target);
    this.controls.enableDamping = true;
    this.lastTarget.copy(target);
    this.update();
  }

  private trackedPosition(): THREE.Vector3 {
    const x = this.sim.data.xpos as Float64Array;
    const b = this.tracked;
    return new THREE.Vector3(x[3 * b], x[3 * b + 1], x[3 * b + 2]);
  }

  /** Poses every geom from the simulation state and keeps the camera following the robot. */
  update(): void {
    const pos = this.sim.data.geom_xpos as Float64Array;
    const mat = this.sim.data.geom_xmat as Float64Array;
    for (const { g, obj } of this.meshes) {
      const p = 3 * g;
      const r = 9 * g;
      this.m4.set(
        mat[r], mat[r + 1], mat[r + 2], pos[p],
        mat[r + 3], mat[r + 4], mat[r + 5], pos[p + 1],
        mat[r + 6], mat[r + 7], mat[r + 8], pos[p + 2],
        0, 0, 0, 1,
      );
      obj.matrix.copy(this.m4);
      obj.matrixWorldNeedsUpdate = true;
    }
    const t = this.trackedPosition();
    const delta = t.clone().sub(this.lastTarget);
    this.camera.position.add(delta);
    this.controls.target.add(delta);
    this.lastTarget.copy(t);
  }

  render(): void {
    const w = this.canvas.clientWidth;
    const h = this.canvas.clientHeight;
    if (w && h && (this.canvas.width !== Math.floor(w * this.renderer.getPixelRatio()) || this.camera.aspect !== w / h)) {
      this.renderer.setSize(w, h, false);
      this.camera.aspect = w / h;
      this.camera.updateProjectionMatrix();
    }
    this.controls.update();
    this.renderer.render(this.scene, this.camera);
  }

  get geomCount(): number {
    return this.meshes.length;
  }

  dispose(): void {
    this.controls.dispose();
    for (const { obj } of this.meshes) {
      obj.geometry.dispose();
      const m = obj.material as THREE.MeshStandardMaterial;
      m.map?.dispose();
      m.dispose();
    }
    this.renderer.dispose();
  }
}
