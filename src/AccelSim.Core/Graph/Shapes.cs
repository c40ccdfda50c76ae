namespace AccelSim.Core.Graph;

/// <summary>A (batched) matrix product C[b] = A[b] (M x K) * B[b] (K x N).
/// <see cref="WeightShared"/> says B is one weight matrix shared by the whole batch (a linear layer);
/// otherwise each batch element has its own B (attention-style bmm).</summary>
public readonly record struct GemmShape(long Batch, long M, long N, long K, bool WeightShared = true)
{
    /// <summary>2·B·M·N·K; a product past 2^63 - 1 throws <see cref="OverflowException"/> rather than wrapping.</summary>
    public long Flops => checked(2 * Batch * M * N * K);
}

/// <summary>Scaled-dot-product attention over <see cref="QueryLen"/> new tokens attending to
/// <see cref="KvLen"/> keys (the cache plus the new tokens). Causal masking halves the work of the
/// square part in prefill.</summary>
public readonly record struct AttentionShape(
    long Batch, long HeadsQ, long HeadsKv, long HeadDim, long QueryLen, long KvLen, bool Causal)
{
    /// <summary>Multiply-adds of QK^T and PV (2 flops each), counting only unmasked positions.</summary>
    public long Flops
    {
        get
        {
            // Pairs (query i, key j) that are computed: with causal masking and a prefix of
            // KvLen - QueryLen cached keys, query i sees the prefix plus i+1 new keys.
            // Checked: a count past 2^63 - 1 throws OverflowException rather than wrapping.
            checked
            {
                long pairs;
                if (Causal)
                {
                    var prefix = KvLen - QueryLen;
                    pairs = QueryLen * prefix + QueryLen * (QueryLen + 1) / 2;
                }
                else
                {
                    pairs = QueryLen * KvLen;
                }
                return 4 * Batch * HeadsQ * HeadDim * pairs;
            }
        }
    }
}
