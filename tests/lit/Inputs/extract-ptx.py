#!/usr/bin/env python3
"""Writes the PTX of every gpu.binary object (format isa) read from stdin to
PREFIX.0.ptx, PREFIX.1.ptx, ... (one kernel module per file, as ptxas wants),
and prints how many it wrote. With `--assemble PTXAS ARCH`, also assembles
each file with ptxas for ARCH and fails, showing ptxas's message, on the
first module it rejects. With `--summary`, prints one line per module:
`module N: P parameters, B barriers, S shuffles, V vector loads, D integer
div/rem` (what the kernel takes, whether it is a block reduction (barriers
between warps, warp shuffles within one), whether it reads global memory
several elements at a time, and how many integer divisions by
a run-time value it does: a division by a constant becomes a multiply and
shift in LLVM, so any integer div/rem left divides by a parameter).

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
summary = "--summary" in args
if summary:
    args.remove("--summary")
assemble = None
if len(args) == 4 and args[1] == "--assemble":
    assemble = (args[2], args[3])
    args = args[:1]
if len(args) != 1:
    sys.exit("usage: extract-ptx.py PREFIX [--summary] [--assemble PTXAS ARCH] < module.mlir")
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
    if summary:
        lines = out.decode().splitlines()
        params = sum(1 for l in lines if re.match(r"\s*\.param\b", l))
        barriers = sum(1 for l in lines if re.match(r"\s*bar\.sync\b", l))
        shuffles = sum(1 for l in lines if re.match(r"\s*shfl\.sync\b", l))
        vectors = sum(1 for l in lines
                      if re.match(r"\s*ld\.global(\.nc)?\.v[248]\.", l))
        divisions = sum(1 for l in lines
                        if re.match(r"\s*(div|rem)\.[su](16|32|64)\b", l))
        print(f"module {index}: {params} parameters, {barriers} barriers, "
              f"{shuffles} shuffles, {vectors} vector loads, "
              f"{divisions} integer div/rem")
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
