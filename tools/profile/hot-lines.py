#!/usr/bin/env python3
"""CPU samples by method and source line of the project's own code.

Usage: hot-lines.py SAMPLES.json [PACKAGE-PREFIX]

SAMPLES.json is `jfr print --json --events jdk.ExecutionSample` of a recording. Each sample is
charged to its deepest frame in PACKAGE-PREFIX (default io/fewshotstreams/, as JFR spells it), so JDK and native work
(Math.exp, Math.log) counts for the line of ours that called it; inlined methods keep their lines,
and a small helper's line is followed by the line that called it ("axpy4:299 <- evaluate:146").
"""
import json
import sys
from collections import Counter

HELPERS = (".axpy:", ".axpy4:", "Vectors.")


def main():
    path = sys.argv[1]
    prefix = sys.argv[2] if len(sys.argv) > 2 else "io/fewshotstreams/"
    events = json.load(open(path, encoding="utf-8"))["recording"]["events"]
    lines = Counter()
    methods = Counter()
    for e in events:
        frames = (e["values"].get("stackTrace") or {}).get("frames") or []
        ours = []
        for f in frames:  # leaf first
            m = f["method"]
            name = m["type"]["name"] + "." + m["name"]
            if name.startswith(prefix):
                ours.append(f"{name}:{f.get('lineNumber', '?')}")
        where = ours[0] if ours else "(outside " + prefix + ")"
        if ours and len(ours) > 1 and any(h in ours[0] for h in HELPERS):
            where += " <- " + ours[1].rsplit("/", 1)[-1]
        lines[where] += 1
        methods[where.split(":")[0]] += 1
    total = sum(lines.values())
    if total == 0:
        sys.exit("expected execution samples in " + path + ", found none")
    print(f"{total} samples; by method:")
    for k, v in methods.most_common(12):
        print(f"  {100 * v / total:5.1f}%  {k}")
    print("by line:")
    for k, v in lines.most_common(30):
        print(f"  {100 * v / total:5.1f}%  {k}")


if __name__ == "__main__":
    main()
