"""Writes traces/chakra-example.et, the Chakra execution trace of docs/chakra-et.md.

Standard-library Python: the protobuf wire format is written by hand with the field numbers of
Chakra's et_def.proto, so the example needs no protobuf package. Run from the repository root:

    python3 traces/chakra_example.py
"""

import os


def varint(value):
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def field_varint(number, value):
    return varint(number << 3) + varint(value)


def field_bytes(number, payload):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def attr(name, int64=None, uint64=None, string=None):
    body = field_bytes(1, name)
    if int64 is not None:
        body += field_varint(9, int64)
    if uint64 is not None:
        body += field_varint(13, uint64)
    if string is not None:
        body += field_bytes(29, string)
    return field_bytes(10, body)


def io_info(values, shapes, types):
    return field_bytes(1, values) + field_bytes(2, shapes) + field_bytes(3, types)


def node(node_id, name, node_type, data_deps=(), inputs=None, outputs=None, attrs=b"", duration_micros=0):
    body = field_varint(1, node_id) + field_bytes(2, name) + field_varint(3, node_type)
    if data_deps:
        body += field_bytes(5, b"".join(varint(d) for d in data_deps))  # packed repeated uint64
    if duration_micros:
        body += field_varint(7, duration_micros)
    if inputs:
        body += field_bytes(8, io_info(*inputs))
    if outputs:
        body += field_bytes(9, io_info(*outputs))
    return body + attrs


MEM_STORE_NODE, COMP_NODE, COMM_COLL_NODE, ALL_REDUCE = 3, 4, 7, 0
BF16 = "'Tensor(c10::BFloat16)'"

METADATA = field_bytes(1, "0.0.4") + field_bytes(2, field_bytes(1, "schema") + field_bytes(29, "1.0.2-chakra.0.0.4"))


def write(path, nodes):
    """Writes a trace: the metadata message, then each node, every message prefixed by its length."""
    with open(path, "wb") as f:
        for message in [METADATA] + nodes:
            f.write(varint(len(message)) + message)


NODES = [
    node(1, "aten::mm", COMP_NODE,
         inputs=("[[1, 1, 0, 2048, 2, 'cuda:0'], [2, 2, 0, 512, 2, 'cuda:0']]", "[[64, 32], [32, 16]]", f"[{BF16}, {BF16}]"),
         outputs=("[[3, 3, 0, 1024, 2, 'cuda:0']]", "[[64, 16]]", f"[{BF16}]"),
         duration_micros=4),
    node(2, "activations.store", MEM_STORE_NODE, data_deps=[1], attrs=attr("tensor_size", uint64=2048)),
    node(3, "grad_allreduce", COMM_COLL_NODE, data_deps=[1],
         attrs=attr("comm_type", int64=ALL_REDUCE) + attr("comm_size", int64=4096)),
    node(4, "fused_epilogue", COMP_NODE, data_deps=[2, 3],
         attrs=attr("num_ops", int64=65536) + attr("tensor_size", uint64=4096), duration_micros=2),
]

if __name__ == "__main__":
    write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "chakra-example.et"), NODES)
