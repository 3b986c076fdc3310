#!/usr/bin/env python3
"""Writes the PTX of every gpu.binary object (format isa) read from stdin to
PREFIX.0.ptx, PREFIX.1.ptx, ... (one kernel module per file, as ptxas wants),
and prints how many it wrote.

gpu-module-to-binary{format=isa} stores the PTX as an MLIR string attribute,
`assembly = "..."`, with MLIR's escapes (\\XX hex bytes, \\\\, \\"). This
undoes them so that ptxas can assemble the text.
"""
import re
import sys

text = sys.stdin.read()
found = re.findall(r'assembly = "((?:[^"\\]|\\.)*)"', text)
if not found:
    sys.exit("extract-ptx: no `assembly = \"...\"` in the input "
             "(was the GPU pipeline run with format=isa?)")
if len(sys.argv) != 2:
    sys.exit("usage: extract-ptx.py PREFIX < module.mlir")
for index, ptx in enumerate(found):
    out = bytearray()
    i = 0
    while i < len(ptx):
        c = ptx[i]
        if c == "\\" and i + 1 < len(ptx):
            nxt = ptx[i + 1]
            if nxt in '\\"':
                out += nxt.encode()
                i += 2
                continue
            out += bytes([int(ptx[i + 1:i + 3], 16)])
            i += 3
            continue
        out += c.encode()
        i += 1
    with open(f"{sys.argv[1]}.{index}.ptx", "w") as f:
        f.write(out.decode())
print(f"extracted {len(found)} PTX modules")
