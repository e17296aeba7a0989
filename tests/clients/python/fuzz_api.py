"""Schemathesis, an independent fuzzer, driven by the server's own OpenAPI
document (`server/openapi.yaml`: every endpoint but OFREP's evaluations,
which `fuzz_ofrep.py` fuzzes, and the dashboard) against a running
`vexil serve` with an admin key: every operation gets generated requests,
valid and not (bodies, path, query and headers), in every phase
(examples, coverage, fuzzing, and stateful sequences following the
document's links, such as a key made then revoked), and every answer must
be no server error, a status the document lists for the operation, the
content type and headers it names, and a body its schema accepts; a
request without the key must be refused, a required header missing
refused, a method the document does not list answered 405 with `Allow`,
requests outside the schema refused and requests inside it accepted.
Schemathesis's own run decides; this script only sets it up.

Every check runs (`--checks all`). Three are told of statuses the
document alone cannot predict, in the configuration below, each with its
reason; none is left out.

This file is also the run's hooks module (Schemathesis imports it):
JSON Lines bodies of `POST /v1/events` are written one event per line.

usage: fuzz_api.py SPEC URL KEY EXAMPLES SEED
"""

import json
import os
import sys
import tempfile
import urllib.request

import schemathesis

from schemathesis_run import run_schemathesis

# The configuration of the run. The flags the server serves are put in
# a dictionary, so that a `{flag}` path parameter names a real flag half
# the time (an override is set on it, an explanation given) and a
# generated name the other half.
CONFIG = """
hooks = "fuzz_api"

# The admin key, as the document's `X-API-Key` scheme: Schemathesis knows
# it for the credential it is, and checks that requests without it, or
# with another, are refused.
[auth.openapi.ApiKeyAuth]
api_key = "${{VEXIL_FUZZ_KEY}}"

# The event stream opens with the token its URL carries (from the key's
# `GET /v1/bundle`). It sends a message only when a version is swapped
# in, so each stream is read for a second, then closed.
[auth.openapi.StreamToken]
api_key = "{token}"

[[operations]]
include-name = "GET /ofrep/v1/event-stream"
request-timeout = 1

[dictionaries.flags]
values = {flags}

[parameters]
"path.flag" = {{ dictionary = "flags", probability = 0.5 }}

# A required header missing: `If-Match` on an override write gets 428
# Precondition Required, the status RFC 6585 defines for exactly that (the
# check's default list lacks it).
[checks.missing_required_header]
expected-statuses = [400, 401, 403, 406, 415, 422, 428]

# Valid requests the server may still refuse for what the document cannot
# know: an override the version served cannot apply (a flag, variant or
# rule it lacks, a value of another type than the flag's: 400), and an
# `If-Match` naming a state the store has moved past (412).
[[operations]]
include-name = "PUT /v1/overrides/{{flag}}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 400, 401, 403, 404, 409, 412, 429]

[[operations]]
include-name = "DELETE /v1/overrides/{{flag}}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 401, 403, 404, 409, 412, 429]

# `since` and `hours` are each valid, and refused together (400): a pair
# OpenAPI cannot forbid between query parameters.
[[operations]]
include-name = "GET /v1/usage"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 400, 401, 403, 404, 409, 429]

# Events are checked one by one: a body with some events outside the
# schema stores the others and names the bad ones (207 Multi-Status), by
# design (README, "Events intake"); a body of bad events only is 400.
[[operations]]
include-name = "POST /v1/events"
checks.negative_data_rejection.expected-statuses = [207, 400, 401, 403, 404, 405, 406, 409, 415, 422, 428, 429]
"""


@schemathesis.serializer("application/x-ndjson")
def json_lines(ctx, value):
    """The document's list of events, one JSON object per line; anything
    else (a negative case's) as its JSON text."""
    if isinstance(value, list):
        return "".join(json.dumps(item) + "\n" for item in value).encode()
    return json.dumps(value).encode()


def get(url, path, key):
    request = urllib.request.Request(f"{url}{path}", headers={"X-API-Key": key})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def served(url, key):
    """Every flag and experiment the server serves (`GET /v1/usage`), and
    the key's event-stream token (`GET /v1/bundle`)."""
    flags = [f["flag"] for f in get(url, "/v1/usage?hours=1", key)["flags"] if f["served"]]
    stream = get(url, "/v1/bundle", key)["eventStream"]
    return flags, stream.partition("token=")[2]


def main():
    spec, url, key, examples, seed = sys.argv[1:6]
    spec = os.path.abspath(spec)
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as work:
        config = os.path.join(work, "schemathesis.toml")
        with open(config, "w", encoding="utf-8") as f:
            flags, token = served(url, key)
            f.write(CONFIG.format(flags=json.dumps(flags), token=token))
        status = run_schemathesis(
            spec, url, examples, seed, work,
            before=("--config-file", config),
            # This file is the hooks module.
            env={"PYTHONPATH": here, "VEXIL_FUZZ_KEY": key},
        )
    sys.exit(status)


if __name__ == "__main__":
    main()
