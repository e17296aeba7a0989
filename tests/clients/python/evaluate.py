"""Evaluates flags through the official OpenFeature Python SDK and its OFREP
provider, unchanged, as a service would: the end-to-end test (cli/tests/
clients.rs) gives the cases as JSON on stdin and compares the details this
prints, as JSON on stdout, with what `vexil eval` says.

stdin: {"url": BASE_URL, "key": API_KEY or null,
        "cases": [{"flag", "type": "bool"|"string"|"int"|"float"|"json",
                   "default", "context": OFREP context}]}
stdout: [{"value", "variant", "reason", "errorCode", "metadata"}] in order.
"""

import json
import sys

from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext


def main() -> None:
    request = json.load(sys.stdin)
    key = request.get("key")
    headers = (lambda: {"Authorization": f"Bearer {key}"}) if key else None
    api.set_provider(OFREPProvider(request["url"], headers_factory=headers))
    client = api.get_client()
    getters = {
        "bool": client.get_boolean_details,
        "string": client.get_string_details,
        "int": client.get_integer_details,
        "float": client.get_float_details,
        "json": client.get_object_details,
    }
    results = []
    for case in request["cases"]:
        attributes = dict(case["context"])
        targeting_key = attributes.pop("targetingKey", None)
        context = EvaluationContext(targeting_key=targeting_key, attributes=attributes)
        details = getters[case["type"]](case["flag"], case["default"], context)
        results.append(
            {
                "value": details.value,
                "variant": details.variant,
                "reason": str(details.reason.value) if details.reason else None,
                "errorCode": details.error_code.value if details.error_code else None,
                "metadata": dict(details.flag_metadata),
            }
        )
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
