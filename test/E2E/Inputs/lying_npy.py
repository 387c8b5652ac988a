"""Writes .npy and .pb input files whose headers lie about their data."""
import struct
import sys

from onnx import TensorProto

out = sys.argv[1]


def npy(name, header, data=b"\0" * 16, declared=None):
    text = header.encode()
    length = len(text) if declared is None else declared
    with open(f"{out}/{name}.npy", "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", length) + text + data)


npy("huge", "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 99999999999), }\n")
npy("negative", "{'descr': '<i8', 'fortran_order': False, 'shape': (-1, 5), }\n")
npy("overflow", "{'descr': '<i8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n")
npy("toolong", "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 99999999999999999999999), }\n")
npy("header", "{'descr': '<i8', ", data=b"", declared=60000)


def pb(name, dims):
    t = TensorProto(name="input_ids", data_type=TensorProto.INT64, dims=dims)
    t.raw_data = b"\0" * 16
    with open(f"{out}/{name}.pb", "wb") as f:
        f.write(t.SerializeToString())


pb("huge", [1, 99999999999])
pb("negative", [-1, 2])
