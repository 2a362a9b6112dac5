#!/usr/bin/env python3
"""Whether two YAML streams hold the same Kubernetes objects.

    same-objects.py A.yaml B.yaml

Objects are matched by kind and name, and compared as data: the order of
the objects, of a mapping's keys, and comments do not count.  Prints
each difference (the object and the path in it) and exits 1 if there is
any; 0 if they are the same.
"""

import sys

import yaml


def objects(path):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    return {(d.get("kind"), d.get("metadata", {}).get("name")): d
            for d in docs}


def diff(a, b, where, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in b:
                out.append("%s.%s: only in the first" % (where, k))
            elif k not in a:
                out.append("%s.%s: only in the second" % (where, k))
            else:
                diff(a[k], b[k], "%s.%s" % (where, k), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, "%s[%d]" % (where, i), out)
    elif a != b:
        out.append("%s: %r != %r" % (where, a, b))


def main():
    a, b = objects(sys.argv[1]), objects(sys.argv[2])
    out = []
    for key in sorted(set(a) | set(b), key=str):
        name = "%s/%s" % key
        if key not in b:
            out.append("%s: only in the first" % name)
        elif key not in a:
            out.append("%s: only in the second" % name)
        else:
            diff(a[key], b[key], name, out)
    for line in out:
        print(line)
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main())
