#!/usr/bin/env python3
"""Rewrite a float32 .safetensors file as a PyTorch `torch.save(state_dict)` zip archive.

No torch needed: the pickle (protocol 2, an OrderedDict of
torch._utils._rebuild_tensor_v2 calls with persistent storage ids) and the zip layout (stored
entries, data aligned to 64 bytes, ZIP64 when large) are written by hand, the way torch's own
serializer lays them out. Used to benchmark loading official-format checkpoints of released
sizes (e.g. base1B) that cannot be downloaded here.

usage: safetensors-to-torch.py IN.safetensors OUT.pt
"""
import json
import struct
import sys
import zipfile

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {info['dtype']}, only F32 is converted")
        start, end = info["data_offsets"]
        yield name, info["shape"], data[start:end]


def pickle_state_dict(entries):
    """Protocol-2 pickle of OrderedDict{name: _rebuild_tensor_v2(storage, 0, shape, stride, False, OrderedDict())}."""
    out = bytearray(b"\x80\x02")
    memo = {}

    def put():
        idx = len(memo)
        memo[idx] = True
        out.extend(b"r" + struct.pack("<I", idx))  # LONG_BINPUT
        return idx

    def glob(module, name):
        out.extend(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def unicode(s):
        b = s.encode()
        out.extend(b"X" + struct.pack("<I", len(b)) + b)

    def integer(v):
        out.extend(b"J" + struct.pack("<i", v))  # BININT

    def int_tuple(values):
        out.extend(b"(")
        for v in values:
            integer(v)
        out.extend(b"t")

    glob("collections", "OrderedDict")
    out.extend(b")R")
    out.extend(b"(")
    for key, (name, shape) in enumerate(entries):
        unicode(name)
        glob("torch._utils", "_rebuild_tensor_v2")
        out.extend(b"(")
        out.extend(b"(")  # persistent id tuple
        unicode("storage")
        glob("torch", "FloatStorage")
        unicode(str(key))
        unicode("cpu")
        integer(int(np.prod(shape)) if shape else 1)
        out.extend(b"tQ")  # TUPLE, BINPERSID
        integer(0)
        int_tuple(shape)
        strides = []
        acc = 1
        for d in reversed(shape):
            strides.insert(0, acc)
            acc *= d
        int_tuple(strides)
        out.extend(b"\x89")  # NEWFALSE
        glob("collections", "OrderedDict")
        out.extend(b")R")
        out.extend(b"tR")  # TUPLE, REDUCE
    out.extend(b"u.")  # SETITEMS, STOP
    return bytes(out)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    tensors = list(read_safetensors(src))
    top = "archive"
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        def add(name, payload):
            info = zipfile.ZipInfo(f"{top}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            # Pad the local header's extra field so the entry's data starts 64-byte aligned,
            # as torch does (this is what makes zero-copy mapping possible).
            offset = z.fp.tell() + 30 + len(info.filename.encode())
            large = len(payload) >= 0xFFFFFFFF
            if large:
                offset += 20  # zip64 extra field written by zipfile
            pad = (-(offset + 4)) % 64
            info.extra = struct.pack("<HH", 0xF5F5, pad) + b"\0" * pad
            with z.open(info, "w", force_zip64=large) as f:
                step = 1 << 26
                for i in range(0, len(payload), step):
                    f.write(memoryview(payload[i:i + step]))
        add("data.pkl", pickle_state_dict([(n, s) for n, s, _ in tensors]))
        add("byteorder", b"little")
        for key, (_, _, raw) in enumerate(tensors):
            add(f"data/{key}", raw)
        add("version", b"3\n")
    print(f"{dst}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
