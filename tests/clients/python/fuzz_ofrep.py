"""Schemathesis, an independent fuzzer driven by OFREP's OpenAPI document,
against a running `vexil serve`: both OFREP endpoints get generated
requests, valid and not (bodies, contexts, headers, query), and every answer
must be no server error, a status the specification lists, the content type
and headers it names, and a body its schema accepts; a request without the
key must be refused. Schemathesis's own run decides; this script only sets
it up.

The schema is OFREP's own with the two readings `server/tests/common/
contract.rs` documents, applied here the same way: the reason `DEFAULT`
(OpenFeature's reason when no rule matched, which OFREP's enum omits), and
the value's `oneOf` read as `anyOf` (`codeDefaultFlag`, an object with no
properties, matches every success, so no success could match exactly one).

Left out: the check that requests outside the schema are refused. Vexil
accepts a context without `targetingKey` (OpenFeature makes it optional; a
flag that needs it answers TARGETING_KEY_MISSING) and ignores the
`flagConfigEtag` and `flagConfigLastModified` hints, whatever they hold
(README: "OFREP").

usage: fuzz_ofrep.py SPEC URL KEY EXAMPLES SEED
"""

import json
import os
import sys
import tempfile

import yaml

from schemathesis_run import run_schemathesis


def readings(spec):
    success = spec["components"]["schemas"]["evaluationSuccess"]["allOf"]
    reasons = success[0]["properties"]["reason"]["enum"]
    assert "DEFAULT" not in reasons, "OFREP's reasons changed: review the DEFAULT reading"
    reasons.append("DEFAULT")
    alternatives = success[1].pop("oneOf", None)
    assert alternatives is not None, "OFREP's value alternatives changed: review the oneOf reading"
    success[1]["anyOf"] = alternatives
    return spec


def main():
    spec_path, url, key, examples, seed = sys.argv[1:6]
    with open(spec_path, encoding="utf-8") as f:
        spec = readings(yaml.safe_load(f))
    with tempfile.TemporaryDirectory() as work:
        patched = os.path.join(work, "ofrep.json")
        with open(patched, "w", encoding="utf-8") as f:
            json.dump(spec, f)
        status = run_schemathesis(
            patched, url, examples, seed, work,
            extra=("--header", f"X-API-Key: {key}", "--exclude-checks", "negative_data_rejection"),
        )
    sys.exit(status)


if __name__ == "__main__":
    main()
