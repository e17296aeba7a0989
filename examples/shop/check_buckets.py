#!/usr/bin/env python3
"""Recompute every `bucket("SALT", "UNIT") = N` written in the comments of
the .flag files under the given folders (default: this one), so that a
reader can check the tests that depend on bucketing.

    bucket(salt, unit) = murmur3_x86_32(utf8(salt) ++ ":" ++ utf8(unit), seed 0) mod 100000

Needs `pip install mmh3`.
"""
import pathlib
import re
import sys

import mmh3

CLAIM = re.compile(r'bucket\("([^"]*)", "([^"]*)"\) = (\d+)')


def bucket(salt: str, unit: str) -> int:
    return mmh3.hash(f"{salt}:{unit}".encode(), 0, signed=False) % 100_000


def main() -> int:
    roots = [pathlib.Path(a) for a in sys.argv[1:]] or [pathlib.Path(__file__).parent]
    checked = wrong = 0
    for root in roots:
        for path in sorted(root.rglob("*.flag")):
            for lineno, line in enumerate(path.read_text().splitlines(), 1):
                for salt, unit, claimed in CLAIM.findall(line):
                    checked += 1
                    actual = bucket(salt, unit)
                    if actual != int(claimed):
                        wrong += 1
                        print(f"{path}:{lineno}: bucket({salt!r}, {unit!r}) is {actual}, not {claimed}")
    print(f"{checked} bucket claims checked, {wrong} wrong")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
