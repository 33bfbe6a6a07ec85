#!/usr/bin/env python3
"""Flattens an OCI image layout into the FuzzOCI harness's input: index.json, then the blobs it
reaches (manifest, config, small layers), separated by lines `=====`, each digest of a later part
written as `@blobN` (the harness puts the real digest back).

usage: oci-parts.py LAYOUT > seed
"""
import json
import os
import sys

MAX_LAYER = 16 << 10


def main() -> None:
    layout = sys.argv[1]
    blob = lambda digest: open(os.path.join(layout, "blobs", *digest.split(":", 1)), "rb").read()
    index = open(os.path.join(layout, "index.json"), "rb").read()
    manifest_digest = json.loads(index)["manifests"][0]["digest"]
    manifest = blob(manifest_digest)
    parsed = json.loads(manifest)
    parts = [index, manifest, blob(parsed["config"]["digest"])]
    names = {manifest_digest: "@blob1", parsed["config"]["digest"]: "@blob2"}
    for layer in parsed.get("layers", []):
        if layer["size"] <= MAX_LAYER and len(parts) < 9:
            names[layer["digest"]] = "@blob%d" % len(parts)
            parts.append(blob(layer["digest"]))
    for i, part in enumerate(parts):
        for digest, name in names.items():
            part = part.replace(digest.encode(), name.encode())
        parts[i] = part
    sys.stdout.buffer.write(b"\n=====\n".join(parts))


if __name__ == "__main__":
    main()
