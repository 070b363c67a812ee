#!/usr/bin/env python3
"""Validates `rootwatch replay --format ocsf` output (JSON Lines on stdin or in the files named)
against the OCSF schema as modelled by the pinned `py-ocsf-models` (requirements-test.txt):
every line must parse, be a Detection Finding (class_uid 2004) that the package's
`DetectionFinding` model accepts, name the OCSF version the package models in
`metadata.version`, and have no top-level attribute outside the class (its profiles' `actor`
aside: the package does not model the host profile). Exits 1 naming the line and the error."""
import json
import sys

from py_ocsf_models import OCSF_VERSION
from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from pydantic import ValidationError

# Attributes an OCSF profile adds to the class that py-ocsf-models does not model: `actor` (host
# profile). https://schema.ocsf.io/1.5.0/profiles/host
PROFILE_ATTRIBUTES = {"actor"}


def check(line):
    doc = json.loads(line)
    if not isinstance(doc, dict):
        return "not a JSON object"
    DetectionFinding.model_validate(doc)
    if doc.get("class_uid") != 2004:
        return f"class_uid is {doc.get('class_uid')!r}, not 2004"
    version = doc.get("metadata", {}).get("version")
    if version != OCSF_VERSION:
        return f"metadata.version is {version!r}, the validator models {OCSF_VERSION}"
    unknown = set(doc) - set(DetectionFinding.model_fields) - PROFILE_ATTRIBUTES
    if unknown:
        return f"attributes not in Detection Finding: {sorted(unknown)}"
    return None


def main():
    sources = [(p, open(p, encoding="utf-8")) for p in sys.argv[1:]] or [("<stdin>", sys.stdin)]
    count = 0
    for name, f in sources:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                err = check(line)
            except (ValueError, ValidationError) as e:
                err = str(e)
            if err:
                print(f"{name}:{n}: invalid OCSF Detection Finding: {err}", file=sys.stderr)
                return 1
            count += 1
    if count == 0:
        print("no OCSF document in the input", file=sys.stderr)
        return 1
    print(f"{count} OCSF {OCSF_VERSION} Detection Findings valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
