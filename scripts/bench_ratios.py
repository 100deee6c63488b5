#!/usr/bin/env python3
"""Print criterion's mean estimates and the ratios of each benchmark to a baseline in the same
group, from target/criterion/<group>/<function>/<input>/new/estimates.json.

usage: scripts/bench_ratios.py GROUP BASELINE_FUNCTION
"""
import json
import os
import pathlib
import sys

group, baseline = sys.argv[1], sys.argv[2]
root = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", pathlib.Path(__file__).resolve().parent.parent / "target")) / "criterion" / group
means = {}
for est in sorted(root.glob("*/*/new/estimates.json")):
    function, value = est.parts[-4], est.parts[-3]
    means[(function, value)] = json.loads(est.read_text())["mean"]["point_estimate"]
for (function, value), mean in sorted(means.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    base = means.get((baseline, value))
    ratio = f"{mean / base:.3f}" if base else "-"
    print(f"| {value} | {function} | {mean / 1000:.3f} µs | {ratio} |")
