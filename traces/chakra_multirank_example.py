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

from chakra_example import attr, node, write

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


out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chakra-multirank")
os.makedirs(out, exist_ok=True)
for rank in range(4):
    write(os.path.join(out, f"workload.{rank}.et"), stage0(rank) if rank < 2 else stage1(rank))
