"""Writes traces/chakra-multirank/workload.<rank>.et, the multi-rank Chakra example of docs/chakra-et.md.

Four ranks: a two-stage pipeline (ranks 0 and 1 run stage 0, ranks 2 and 3 stage 1), two data-parallel
replicas per stage. Each stage-0 rank runs a forward matmul, sends its activations to its stage-1 peer
(rank + 2), runs its backward and all-reduces its gradients within stage 0 (process group "stage0");
each stage-1 rank receives, runs forward and backward, and all-reduces within stage 1 ("stage1").
Standard-library Python: the protobuf wire format by hand, with the helpers of traces/chakra_example.py. Run from the
repository root:

    python3 traces/chakra_multirank_example.py
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


COMP_NODE, COMM_SEND_NODE, COMM_RECV_NODE, COMM_COLL_NODE = 4, 5, 6, 7
ALL_REDUCE = 0
ACTIVATIONS = 1 << 20  # bytes sent from stage 0 to stage 1
GRADIENTS = 1 << 24    # bytes all-reduced per stage


def comp(node_id, name, flops, nbytes, deps=()):
    return node(node_id, name, COMP_NODE, data_deps=deps,
                attrs=attr("num_ops", int64=flops) + attr("tensor_size", uint64=nbytes))


def allreduce(node_id, pg, deps):
    return node(node_id, "grad_allreduce", COMM_COLL_NODE, data_deps=deps,
                attrs=attr("comm_type", int64=ALL_REDUCE) + attr("comm_size", int64=GRADIENTS) + attr("pg_name", string=pg))


def stage0(rank):
    return [
        comp(1, "fwd_matmul", 2 * 1024 * 4096 * 4096, 3 * 2 * 4096 * 4096),
        node(2, "send_activations", COMM_SEND_NODE, data_deps=[1],
             attrs=attr("comm_dst", int64=rank + 2) + attr("comm_size", int64=ACTIVATIONS) + attr("comm_tag", int64=0)),
        comp(3, "bwd_matmul", 4 * 1024 * 4096 * 4096, 6 * 2 * 4096 * 4096, deps=[1]),
        allreduce(4, "stage0", [3]),
        comp(5, "optimizer_step", 4 * 4096 * 4096, 16 * 4096 * 4096, deps=[4]),
    ]


def stage1(rank):
    return [
        node(1, "recv_activations", COMM_RECV_NODE,
             attrs=attr("comm_src", int64=rank - 2) + attr("comm_size", int64=ACTIVATIONS) + attr("comm_tag", int64=0)),
        comp(2, "fwd_matmul", 2 * 1024 * 4096 * 4096, 3 * 2 * 4096 * 4096, deps=[1]),
        comp(3, "bwd_matmul", 4 * 1024 * 4096 * 4096, 6 * 2 * 4096 * 4096, deps=[2]),
        allreduce(4, "stage1", [3]),
        comp(5, "optimizer_step", 4 * 4096 * 4096, 16 * 4096 * 4096, deps=[4]),
    ]


metadata = field_bytes(1, "0.0.4") + field_bytes(2, field_bytes(1, "schema") + field_bytes(29, "1.0.2-chakra.0.0.4"))
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chakra-multirank")
os.makedirs(out, exist_ok=True)
for rank in range(4):
    nodes = stage0(rank) if rank < 2 else stage1(rank)
    with open(os.path.join(out, f"workload.{rank}.et"), "wb") as f:
        for message in [metadata] + nodes:
            f.write(varint(len(message)) + message)
