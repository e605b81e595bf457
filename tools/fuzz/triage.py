#!/usr/bin/env python3
"""Group saved divergences (build/fuzz/divergences/*.txt) by their first
differing line: for a CQE, by opcode, SQE flags and Linux's vs pysentry's res."""
import difflib
import glob
import os
import sys

from gen import OPS  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
D = os.path.join(os.path.dirname(os.path.dirname(HERE)), "build", "fuzz", "divergences")


def load(path):
    text = open(path).read()
    head, rest = text.split("\n# native\n", 1)
    native, sandbox = rest.split("\n# pysentry\n", 1)
    script = head.split("\n", 1)[1]
    return script, native.splitlines(), sandbox.splitlines()


def signature(script, native, sandbox):
    sqes = {}
    for line in script.splitlines():
        w = line.split()
        if w[0] == "sqe":
            sqes[int(w[9])] = (int(w[1]), int(w[2]))
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, native, sandbox).get_opcodes():
        if tag == "equal":
            continue
        a = native[i1] if i1 < i2 else ""
        b = sandbox[j1] if j1 < j2 else ""
        line = a or b
        if line.startswith("cqe"):
            ud = int(line.split()[1])
            op, fl = sqes.get(ud, (-1, 0))
            ra = a.split()[3] if a.startswith("cqe %d " % ud) else "-"
            rb = b.split()[3] if b.startswith("cqe %d " % ud) else "-"
            return "cqe op=%d flags=%#x linux=%s pysentry=%s" % (op, fl, ra, rb)
        return "%s | %s" % (a[:60], b[:60])
    return "?"


def main():
    groups = {}
    for path in sorted(glob.glob(os.path.join(D, "*.txt")), key=lambda p: int(os.path.basename(p)[:-4])):
        sig = signature(*load(path))
        groups.setdefault(sig, []).append(os.path.basename(path)[:-4])
    for sig, seeds in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print("%4d  %s   seeds %s" % (len(seeds), sig, " ".join(seeds[:8])))


if __name__ == "__main__":
    sys.exit(main())
