#!/usr/bin/env python3
"""Fuzz/load-seeds.py OUT: seeds for the `load` fuzz target (Fuzz/FuzzLoad/FuzzLoad.swift) in OUT.

Structured seeds (first byte even: parts `KIND NAME\\n` + content, `@dN`/`@hN`/`@sN`/`@self`/`@canary`
filled in by the harness) for a docker-archive and an oci-archive, good and hostile, and raw seeds
(first byte odd: the tar itself). Made at run time so no binary is committed; each under 64 KiB.
"""
import io, json, os, sys, tarfile

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def tar_bytes(members):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode='w', format=tarfile.PAX_FORMAT) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1600000000; ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()

LAYER = tar_bytes([('etc/app', b'app\n'), ('usr/bin/tool', b'#!/bin/sh\necho tool\n')])
SEP = b'\n=====\n'

def structured(name, parts, flags=0):
    with open(os.path.join(out, name), 'wb') as f:
        f.write(bytes([flags]) + SEP.join(parts))

def docker(layer_part=b'f L/layer.tar\n' + LAYER, config=b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["@d3"]}}',
           manifest=b'[{"Config":"C.json","RepoTags":["fuzz/app:1"],"Layers":["L/layer.tar"]}]', extra=()):
    return [b'f manifest.json\n' + manifest, b'f C.json\n' + config, b'd L/\n', layer_part] + list(extra)

structured('docker-good', docker())
structured('docker-good-gz', docker(), flags=2)
structured('docker-layer-link-canary', docker(layer_part=b'l L/layer.tar\n@canary'))
structured('docker-layer-link-in-root', docker(layer_part=b'l L/layer.tar\n/inner/layer.tar', extra=[b'd inner/\n', b'f inner/layer.tar\n' + LAYER],
                                              config=b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["@d5"]}}'))
structured('docker-dir-link-canary', [b'f manifest.json\n[{"Config":"C.json","Layers":["L/secret"]}]', b'f C.json\n{"rootfs":{"diff_ids":["@d2"]}}',
                                      b'l L\n@canary/..'])
structured('docker-two-images', docker(manifest=b'[{"Config":"C.json","RepoTags":["a:1"],"Layers":["L/layer.tar"]},{"Config":"C.json","RepoTags":["b:1"],"Layers":["M/layer.tar"]}]',
                                       extra=[b'd M/\n', b'l M/layer.tar\n../L/layer.tar']))

def oci(layer=LAYER, index_extra=b'', config_diff=b'"@d5"', links=()):
    index = (b'f index.json\n{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@d3","size":@s3,'
             b'"annotations":{"org.opencontainers.image.ref.name":"fuzz:1"}}' + index_extra + b']}')
    manifest = (b'f blobs/sha256/@self\n{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
                b'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"@d4","size":@s4},'
                b'"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"@d5","size":@s5}]}')
    config = b'f blobs/sha256/@self\n{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[' + config_diff + b']}}'
    return [index, b'f oci-layout\n{"imageLayoutVersion":"1.0.0"}', b'd blobs/sha256/\n', manifest, config, b'f blobs/sha256/@self\n' + layer] + list(links)

structured('oci-good', oci())
structured('oci-good-gz', oci(), flags=2)
structured('oci-diff-mismatch', oci(config_diff=b'"sha256:0000000000000000000000000000000000000000000000000000000000000000"'))
# The layer's blob file is a link to the canary; part 6 holds the bytes its name and the config describe.
linked = [p.replace(b'@d5', b'@d6').replace(b'@s5', b'@s6') for p in oci()[:5]]
structured('oci-blob-link-canary', linked + [b'l blobs/sha256/@h6\n@canary', b'f layer-bytes\n' + LAYER])

# Raw: the tar as pkglayer reads it.
def raw(name, members):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode='w', format=tarfile.PAX_FORMAT) as t:
        for kind, path, data in members:
            ti = tarfile.TarInfo(path); ti.mtime = 1600000000; ti.mode = 0o644
            if kind == 'f':
                ti.size = len(data); t.addfile(ti, io.BytesIO(data))
            elif kind == 'l':
                ti.type = tarfile.SYMTYPE; ti.linkname = data.decode(); t.addfile(ti)
            elif kind == 'd':
                ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
    with open(os.path.join(out, name), 'wb') as f:
        f.write(b'\x01' + b.getvalue())

import hashlib
diff = 'sha256:' + hashlib.sha256(LAYER).hexdigest()
config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff]}}).encode()
manifest = json.dumps([{"Config": "C.json", "RepoTags": ["fuzz/raw:1"], "Layers": ["L/layer.tar"]}]).encode()
raw('raw-docker-good', [('f', 'C.json', config), ('d', 'L/', b''), ('f', 'L/layer.tar', LAYER), ('f', 'manifest.json', manifest)])
raw('raw-docker-link-shadow', [('f', 'C.json', config), ('d', 'L/', b''), ('l', 'L/layer.tar', b'/etc/shadow'), ('f', 'manifest.json', manifest)])
