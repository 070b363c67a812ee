#!/usr/bin/env python3
"""Validates `rootwatch replay --format asff` output (JSON Lines on stdin or in the files named)
against botocore's service model of Security Hub: each line must be a valid member of
`BatchImportFindings`' `Findings` (types, required attributes), offline, with
`botocore.validate.validate_parameters`; plus the limits the model does not encode (Title at most
256 characters, Description at most 1024, at least one resource, SchemaVersion 2018-10-08).
Exits 1 naming the line and the error."""
import json
import sys

import botocore.session
from botocore.validate import validate_parameters


def main():
    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    sources = [(p, open(p, encoding="utf-8")) for p in sys.argv[1:]] or [("<stdin>", sys.stdin)]
    count = 0
    for name, f in sources:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                validate_parameters({"Findings": [doc]}, shape)
                err = None
                if doc.get("SchemaVersion") != "2018-10-08":
                    err = f"SchemaVersion is {doc.get('SchemaVersion')!r}"
                elif len(doc["Title"]) > 256:
                    err = f"Title has {len(doc['Title'])} characters (at most 256)"
                elif len(doc["Description"]) > 1024:
                    err = f"Description has {len(doc['Description'])} characters (at most 1024)"
                elif not doc["Resources"]:
                    err = "no resource"
            except Exception as e:  # noqa: BLE001 - every failure is reported with its line
                err = str(e)
            if err:
                print(f"{name}:{n}: invalid ASFF finding: {err}", file=sys.stderr)
                return 1
            count += 1
    if count == 0:
        print("no ASFF document in the input", file=sys.stderr)
        return 1
    print(f"{count} ASFF findings valid against botocore's securityhub model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
