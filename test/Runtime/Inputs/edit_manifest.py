"""Applies one Python statement (over `m`, the manifest) to an artifact's
manifest.json: how the tests forge manifests."""
import json
import sys

path = sys.argv[1] + "/manifest.json"
m = json.load(open(path))
exec(sys.argv[2], {"json": json, "m": m})
json.dump(m, open(path, "w"))
