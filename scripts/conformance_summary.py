"""Per-operation counts of the answers schemathesis got, from its HAR reports: conformance_summary.py SPEC HAR...

Prints one line per operation of SPEC with how many answers were 2xx, 4xx and 5xx, and exits 1 if an operation
got no 2xx answer at all (it was never really exercised) or any 5xx."""

import json
import re
import sys
from urllib.parse import urlsplit

import yaml


def main(spec_path, har_paths):
    spec = yaml.safe_load(open(spec_path))
    operations = []  # (method, template, pattern)
    for template, item in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
        for method in item:
            if method not in ("get", "put", "post", "delete", "patch"):
                continue
            # A server-sent event stream never ends, so schemathesis cannot take its answer (LiveEventsTests do).
            if "text/event-stream" in item[method].get("responses", {}).get("200", {}).get("content", {}):
                continue
            operations.append((method.upper(), template, pattern))
    counts = {(method, template): [0, 0, 0] for method, template, _ in operations}
    for har_path in har_paths:
        for entry in json.load(open(har_path))["log"]["entries"]:
            method, path = entry["request"]["method"], urlsplit(entry["request"]["url"]).path
            status = entry["response"]["status"]
            bucket = {2: 0, 4: 1, 5: 2}.get(status // 100)
            for op_method, template, pattern in operations:
                if bucket is not None and op_method == method and pattern.match(path):
                    counts[(op_method, template)][bucket] += 1
                    break
    unexercised = []
    print(f"{'operation':<62} {'2xx':>5} {'4xx':>5} {'5xx':>5}")
    for (method, template), (ok, client, server) in counts.items():
        print(f"{method + ' ' + template:<62} {ok:>5} {client:>5} {server:>5}")
        if ok == 0 or server > 0:
            unexercised.append(f"{method} {template}")
    if unexercised:
        print("conformance: no 2xx answer, or a 5xx, for: " + ", ".join(unexercised))
        return 1
    print(f"conformance: every one of {len(counts)} operations got 2xx answers, none a 5xx")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
