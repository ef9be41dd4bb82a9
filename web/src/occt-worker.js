// Runs OpenCASCADE (occt-import-js, WASM) off the page's thread: a large STEP file does not
// freeze the page, and the emscripten glue, which needs `eval`, runs here under this
// worker's own CSP instead of loosening the page's. Copied as it is to dist/vendor/.
/* global importScripts, occtimportjs */
importScripts("occt-import-js.js");
const ready = occtimportjs({ locateFile: (name) => name });
onmessage = async (e) => {
  const { bytes, params, iges } = e.data;
  try {
    const occt = await ready;
    const r = iges ? occt.ReadIgesFile(bytes, params) : occt.ReadStepFile(bytes, params);
    const meshes = r.success
      ? r.meshes.map((m) => ({
          name: m.name,
          position: Float32Array.from(m.attributes.position.array),
          index: Uint32Array.from(m.index.array),
          faces: (m.brep_faces || []).map((f) => ({ first: f.first, last: f.last, name: f.name })),
        }))
      : [];
    postMessage({ ok: true, success: r.success, meshes });
  } catch (err) {
    postMessage({ ok: false, error: String(err && err.message ? err.message : err) });
  }
};
