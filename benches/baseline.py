"""The usual Python root-activity handler, as a baseline for `cargo bench --bench ratios -- python`.

json.loads of every CloudTrail file, then the checks most hand-written handlers make: the CIS
root filter (type Root, no invokedBy, not an AwsServiceEvent), console logins with MFA, and the
AssumeRoot caller. Far less than rootwatch does (no task catalog, no sessions, no alert text).
"""
import gzip
import json
import os
import sys


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return []
    try:
        doc = json.loads(data)
    except ValueError:
        return []
    if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
        return doc["Records"]
    if isinstance(doc, dict) and "detail" in doc:
        return [doc["detail"]]
    return [doc] if isinstance(doc, dict) else []


def check(r):
    ident = r.get("userIdentity") or {}
    found = []
    if ident.get("type") == "Root":
        if r.get("eventName") == "ConsoleLogin":
            mfa = (r.get("additionalEventData") or {}).get("MFAUsed", "")
            found.append("root-console-login" + ("" if str(mfa).lower() == "yes" else "-nomfa"))
        elif "invokedBy" not in ident and r.get("eventType") != "AwsServiceEvent":
            found.append("root-credential-use")
    if r.get("eventName") == "AssumeRoot":
        found.append("root-session")
    return found


def main(root):
    n = hits = 0
    for d, _, names in os.walk(root):
        for name in sorted(names):
            base = name[:-3] if name.endswith(".gz") else name
            if not base.endswith((".json", ".jsonl", ".ndjson")):
                continue
            for r in records(os.path.join(d, name)):
                if isinstance(r, dict):
                    n += 1
                    hits += len(check(r))
    print(n, hits)


if __name__ == "__main__":
    main(sys.argv[1])
