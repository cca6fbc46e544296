"""A minimal MATLAB 5 (.mat) reader for double arrays, so scipy is not a dependency."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["load_mat"]

_MI_INT8, _MI_INT32, _MI_UINT32, _MI_DOUBLE, _MI_MATRIX, _MI_COMPRESSED = 1, 5, 6, 9, 14, 15
_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}


def _elements(buf: bytes, endian: str):
    pos = 0
    while pos + 8 <= len(buf):
        dtype, nbytes = struct.unpack_from(endian + "II", buf, pos)
        if dtype >> 16:  # small data element: 4 bytes of data packed into the tag
            nbytes, dtype = dtype >> 16, dtype & 0xFFFF
            yield dtype, buf[pos + 4 : pos + 4 + nbytes]
            pos += 8
        else:
            yield dtype, buf[pos + 8 : pos + 8 + nbytes]
            pos += 8 + nbytes + (-nbytes % 8 if dtype != _MI_COMPRESSED else 0)


def _matrix(payload: bytes, endian: str) -> tuple[str, np.ndarray]:
    parts = list(_elements(payload, endian))
    if len(parts) < 4:
        raise ValueError("truncated matrix element")
    dims = np.frombuffer(parts[1][1], dtype=endian + "i4")
    name = parts[2][1].decode("ascii")
    dtype, real = parts[3]
    if dtype not in _DTYPES:
        raise ValueError(f"variable {name!r}: unsupported data type {dtype}")
    data = np.frombuffer(real, dtype=endian + _DTYPES[dtype]).astype(np.float64)
    return name, data.reshape(tuple(dims), order="F")


def load_mat(path: str | Path) -> dict[str, np.ndarray]:
    """Read the numeric (real, non-sparse) arrays of a MATLAB 5 file as float64 arrays."""
    raw = Path(path).read_bytes()
    if len(raw) < 128:
        raise ValueError(f"{path}: too short to be a MATLAB 5 file")
    endian = "<" if raw[126:128] == b"IM" else ">"
    out = {}
    for dtype, payload in _elements(raw[128:], endian):
        if dtype == _MI_COMPRESSED:
            dtype, payload = next(_elements(zlib.decompress(payload), endian))
        if dtype == _MI_MATRIX:
            name, array = _matrix(payload, endian)
            out[name] = array
    return out
