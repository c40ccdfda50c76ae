namespace AccelSim.Core.Graph;

/// <summary>Numeric formats of tensors and of the arithmetic that consumes them.</summary>
public enum DType
{
    Fp32,
    Tf32,
    Bf16,
    Fp16,
    Fp8,
    Int8,
    Int4,
}

public static class DTypes
{
    public static readonly DType[] All = Enum.GetValues<DType>();

    /// <summary>Storage width in bits (tf32 is stored as fp32).</summary>
    public static int Bits(this DType d) => d switch
    {
        DType.Fp32 or DType.Tf32 => 32,
        DType.Bf16 or DType.Fp16 => 16,
        DType.Fp8 or DType.Int8 => 8,
        DType.Int4 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(d)),
    };

    /// <summary>Bytes to store <paramref name="elements"/> values, rounded up to whole bytes.</summary>
    public static long BytesFor(this DType d, long elements)
    {
        // Whole groups of 8 elements first, so that only a true overflow of the byte count throws.
        var bits = d.Bits();
        return checked(elements / 8 * bits + (elements % 8 * bits + 7) / 8);
    }

    /// <summary>The lowercase name used in configs, traces and reports.</summary>
    public static string Name(this DType d) => d switch
    {
        DType.Fp32 => "fp32",
        DType.Tf32 => "tf32",
        DType.Bf16 => "bf16",
        DType.Fp16 => "fp16",
        DType.Fp8 => "fp8",
        DType.Int8 => "int8",
        DType.Int4 => "int4",
        _ => throw new ArgumentOutOfRangeException(nameof(d)),
    };

    public static bool TryParse(string? text, out DType dtype)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "fp32" or "float32" or "float": dtype = DType.Fp32; return true;
            case "tf32": dtype = DType.Tf32; return true;
            case "bf16" or "bfloat16": dtype = DType.Bf16; return true;
            case "fp16" or "float16" or "half": dtype = DType.Fp16; return true;
            case "fp8" or "float8" or "float8_e4m3fn" or "float8_e5m2": dtype = DType.Fp8; return true;
            case "int8": dtype = DType.Int8; return true;
            case "int4": dtype = DType.Int4; return true;
            default: dtype = default; return false;
        }
    }

    public const string Expected = "one of fp32, tf32, bf16, fp16, fp8, int8, int4";
}
