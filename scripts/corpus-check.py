#!/usr/bin/env python3
"""Compare `rootwatch replay --format jsonl` with the labels of a third-party CloudTrail corpus.

Usage: scripts/corpus-check.py CORPUS_DIR [ROOTWATCH_BINARY]
CORPUS_DIR holds labels.jsonl and records/ (the shared corpus; it is not part of this repository).
Prints the agreement on principal_type, root_login and role_assumption, and every disagreement.
"""
import json, os, subprocess, sys

corpus = sys.argv[1]
binary = sys.argv[2] if len(sys.argv) > 2 else "target/release/rootwatch"
labels = {}
with open(os.path.join(corpus, "labels.jsonl")) as f:
    for line in f:
        d = json.loads(line)
        labels[os.path.basename(d["file"])] = d
run = subprocess.run([binary, "replay", "--format", "jsonl", os.path.join(corpus, "records")],
                     capture_output=True, text=True)
out = {}
for line in run.stdout.splitlines():
    d = json.loads(line)
    out.setdefault(os.path.basename(d["input"]["file"]), d)
LOGIN = {"root-console-login", "root-console-login-failure"}
agree = {"principal_type": 0, "root_login": 0, "role_assumption": 0}
diffs = []
for name, lab in sorted(labels.items()):
    r = out.get(name)
    if r is None:
        diffs.append(f"{name}: no output")
        continue
    rules = {f["rule"] for f in r["findings"]}
    ours = {
        "principal_type": r["principal"]["type"],
        "root_login": bool(rules & LOGIN),
        "role_assumption": r["assumption"] is not None,
    }
    for k, v in ours.items():
        if v == lab[k]:
            agree[k] += 1
        else:
            diffs.append(f"{name}: {k} ours={v} label={lab[k]}")
print(f"records: {len(labels)}, replay exit {run.returncode}")
for k, v in agree.items():
    print(f"{k}: {v}/{len(labels)} agree")
for d in diffs:
    print("DISAGREE", d)
