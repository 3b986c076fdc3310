#!/usr/bin/env python3
"""Writes the PTX of every gpu.binary object (format isa) read from stdin to
PREFIX.0.ptx, PREFIX.1.ptx, ... (one kernel module per file, as ptxas wants),
and prints how many it wrote. With `--assemble PTXAS ARCH`, also assembles
each file with ptxas for ARCH and fails, showing ptxas's message, on the
first module it rejects.

gpu-module-to-binary{format=isa} stores the PTX as an MLIR string attribute,
`assembly = "..."`, with MLIR's escapes (\\XX hex bytes, \\\\, \\"). This
undoes them so that ptxas can assemble the text.
"""
import re
import subprocess
import sys

text = sys.stdin.read()
found = re.findall(r'assembly = "((?:[^"\\]|\\.)*)"', text)
if not found:
    sys.exit("extract-ptx: no `assembly = \"...\"` in the input "
             "(was the GPU pipeline run with format=isa?)")
args = sys.argv[1:]
assemble = None
if len(args) == 4 and args[1] == "--assemble":
    assemble = (args[2], args[3])
    args = args[:1]
if len(args) != 1:
    sys.exit("usage: extract-ptx.py PREFIX [--assemble PTXAS ARCH] < module.mlir")
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
    path = f"{args[0]}.{index}.ptx"
    with open(path, "w") as f:
        f.write(out.decode())
    if assemble:
        ptxas, arch = assemble
        run = subprocess.run([ptxas, f"-arch={arch}", path, "-o", path + ".cubin"],
                             capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"extract-ptx: ptxas -arch={arch} rejected {path}:\n"
                     f"{run.stderr}")
print(f"extracted {len(found)} PTX modules")
if assemble:
    print(f"assembled {len(found)} PTX modules for {assemble[1]}")
