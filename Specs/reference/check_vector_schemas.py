#!/usr/bin/env python3
"""Validates every vector file in Specs/vectors/ against the JSON Schema it names (Specs/vectors/schemas/).

Each file's "schema" field names a draft 2020-12 schema in the schemas/ folder next to the vectors. Beyond
the schema, it checks what a schema cannot say: numberOfTests matches, tcIds run 1, 2, ... through the file,
and every flag used is explained in the file's notes. Prints one line per file and exits non-zero on any
failure. Needs the `jsonschema` package (scripts/requirements-test.txt pins it).

Usage: python3 Specs/reference/check_vector_schemas.py [VECTOR_DIR]
"""

import json
import os
import sys

from jsonschema import Draft202012Validator


def check_file(path, schemas):
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    schema_name = data.get("schema") if isinstance(data, dict) else None
    if not isinstance(schema_name, str) or os.path.basename(schema_name) != schema_name:
        return ["no valid 'schema' field"]
    schema_path = os.path.join(schemas, schema_name)
    if not os.path.exists(schema_path):
        return [f"names schema {schema_name}, which is not in {schemas}"]
    with open(schema_path, encoding="utf-8") as handle:
        schema = json.load(handle)
    Draft202012Validator.check_schema(schema)
    problems = [f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
                for error in Draft202012Validator(schema).iter_errors(data)]
    if problems:
        return problems
    tests = [test for group in data["testGroups"] for test in group["tests"]]
    if data["numberOfTests"] != len(tests):
        problems.append(f"numberOfTests is {data['numberOfTests']} but {len(tests)} tests follow")
    ids = [test["tcId"] for test in tests]
    if ids != list(range(1, len(tests) + 1)):
        problems.append("tcIds do not run 1, 2, ... in file order")
    unexplained = sorted({flag for test in tests for flag in test["flags"]} - set(data["notes"]))
    if unexplained:
        problems.append(f"flags without a note: {', '.join(unexplained)}")
    return problems


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "vectors")
    schemas = os.path.join(directory, "schemas")
    failed = checked = 0
    for name in sorted(f for f in os.listdir(directory) if f.endswith(".json")):
        problems = check_file(os.path.join(directory, name), schemas)
        checked += 1
        if problems:
            failed += 1
            print(f"FAIL {name}")
            for problem in problems[:20]:
                print(f"     {problem}")
        else:
            print(f"ok   {name}")
    print(f"{checked} files checked against their schemas, {failed} failed")
    return 1 if failed or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
