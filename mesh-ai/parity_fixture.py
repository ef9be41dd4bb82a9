#!/usr/bin/env python3
"""Writes the expected outputs for the Rust/ONNX prediction-parity test: runs a model
directory's mesh_ai.onnx with ONNX Runtime on a fixture geometry's grid (from `flowcfd
mesh-ai voxelize`, the shared voxeliser) and given raw features, and stores inputs and
outputs as expected.json beside the model.

    python mesh-ai/parity_fixture.py MODEL_DIR GEOMETRY.stl FLOWCFD "f1,f2,…"
"""
import base64
import json
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort

model_dir, geometry, flowcfd, raw = sys.argv[1:5]
meta = json.load(open(os.path.join(model_dir, "model.json")))
n = meta["grid"]
vox = json.loads(subprocess.check_output([flowcfd, "mesh-ai", "voxelize", "--geometry", geometry, "--size", str(n)]))
bits = np.frombuffer(base64.b64decode(vox["bits"]), dtype=np.uint8)
grid = np.unpackbits(bits)[: n**3].astype(np.float32).reshape(1, 1, n, n, n)
features = np.array([float(x) for x in raw.split(",")], dtype=np.float32)
norm = ((features - np.array(meta["mean"], dtype=np.float32)) / np.array(meta["std"], dtype=np.float32)).reshape(1, -1)
s = ort.InferenceSession(os.path.join(model_dir, "mesh_ai.onnx"))
out = s.run(None, {"voxels": grid, "features": norm.astype(np.float32)})
names = [o.name for o in s.get_outputs()]
json.dump({"geometry": os.path.basename(geometry), "features": features.tolist(),
           "outputs": {k: v.reshape(-1).tolist() for k, v in zip(names, out)}, "onnxruntime": ort.__version__},
          open(os.path.join(model_dir, "expected.json"), "w"), indent=1)
print("wrote", os.path.join(model_dir, "expected.json"))
