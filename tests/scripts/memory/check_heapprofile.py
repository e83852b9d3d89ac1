#!/usr/bin/env python3
"""check_heapprofile.py FILE — a strict structural check of a DevTools sampling heap profile
(HeapProfiler.SamplingHeapProfile): the fields DevTools' Memory panel and speedscope read, with
their types; unique node ids; every sample naming a node of the tree, with unique ordinals; the
tree's selfSize per node equal to the bytes of its samples. Exit 0, or 1 with the first problem."""
import json, sys
from collections import defaultdict

def fail(msg):
    print(f"check_heapprofile: {sys.argv[1]}: {msg}", file=sys.stderr)
    sys.exit(1)

doc = json.load(open(sys.argv[1]))
if not isinstance(doc, dict) or set(doc) - {"head", "samples", "$mrprof"}:
    fail(f"top-level keys {sorted(doc) if isinstance(doc, dict) else type(doc)}")
ids, self_size, stack = set(), {}, [(doc.get("head"), 0)]
while stack:
    node, depth = stack.pop()
    if not isinstance(node, dict):
        fail(f"a node is {type(node).__name__}")
    cf = node.get("callFrame")
    if not isinstance(cf, dict):
        fail(f"node {node.get('id')} has no callFrame")
    for k, t in (("functionName", str), ("scriptId", str), ("url", str), ("lineNumber", int), ("columnNumber", int)):
        if not isinstance(cf.get(k), t):
            fail(f"node {node.get('id')}: callFrame.{k} is {cf.get(k)!r}, expected {t.__name__}")
    nid, size = node.get("id"), node.get("selfSize")
    if not isinstance(nid, int) or nid in ids:
        fail(f"node id {nid!r} is not a unique integer")
    if not isinstance(size, int) or size < 0:
        fail(f"node {nid}: selfSize {size!r}")
    if not isinstance(node.get("children"), list):
        fail(f"node {nid}: children is not a list")
    ids.add(nid)
    self_size[nid] = size
    stack.extend((c, depth + 1) for c in node["children"])
samples = doc.get("samples")
if not isinstance(samples, list) or not samples:
    fail("no samples")
ordinals, by_node = set(), defaultdict(int)
for s in samples:
    if set(s) != {"size", "nodeId", "ordinal"}:
        fail(f"sample keys {sorted(s)}")
    if s["nodeId"] not in ids:
        fail(f"sample {s['ordinal']} names node {s['nodeId']}, not in the tree")
    if not isinstance(s["size"], int) or s["size"] < 0 or s["ordinal"] in ordinals:
        fail(f"sample {s}")
    ordinals.add(s["ordinal"])
    by_node[s["nodeId"]] += s["size"]
for nid, size in self_size.items():
    if size != by_node.get(nid, 0):
        fail(f"node {nid}: selfSize {size}, its samples hold {by_node.get(nid, 0)}")
print(f"ok: {len(ids)} nodes, {len(samples)} samples, {sum(self_size.values())} bytes")
