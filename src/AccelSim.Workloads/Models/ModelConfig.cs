using AccelSim.Core.Graph;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Models;

/// <summary>The fields of a Hugging Face <c>config.json</c> that decide a decoder's compute and
/// memory. Built by <see cref="ModelConfigLoader"/>, which validates every field; immutable.</summary>
public sealed class ModelConfig
{
    internal ModelConfig(
        string name,
        string source,
        string modelType,
        IReadOnlyList<string> architectures,
        int hiddenSize,
        int intermediateSize,
        int numAttentionHeads,
        int numKeyValueHeads,
        int numHiddenLayers,
        int vocabSize,
        bool tieWordEmbeddings,
        int? headDimField,
        int? slidingWindow,
        int? maxPositionEmbeddings,
        DType? torchDType,
        double? rmsNormEps,
        JObject raw)
    {
        Name = name;
        Source = source;
        ModelType = modelType;
        Architectures = architectures;
        HiddenSize = hiddenSize;
        IntermediateSize = intermediateSize;
        NumAttentionHeads = numAttentionHeads;
        NumKeyValueHeads = numKeyValueHeads;
        NumHiddenLayers = numHiddenLayers;
        VocabSize = vocabSize;
        TieWordEmbeddings = tieWordEmbeddings;
        HeadDimField = headDimField;
        SlidingWindow = slidingWindow;
        MaxPositionEmbeddings = maxPositionEmbeddings;
        TorchDType = torchDType;
        RmsNormEps = rmsNormEps;
        Raw = raw;
    }

    /// <summary>The model's name: the config file name without <c>.json</c> (for a HF download
    /// called <c>config.json</c>, the name of its folder).</summary>
    public string Name { get; }

    /// <summary>The file the config was read from (used in error messages).</summary>
    public string Source { get; }

    /// <summary>HF <c>model_type</c> (lowercase), e.g. <c>llama</c>, <c>mistral</c>.</summary>
    public string ModelType { get; }

    /// <summary>HF <c>architectures</c>, e.g. <c>LlamaForCausalLM</c>; may be empty.</summary>
    public IReadOnlyList<string> Architectures { get; }

    public int HiddenSize { get; }
    public int IntermediateSize { get; }
    public int NumAttentionHeads { get; }

    /// <summary><c>num_key_value_heads</c>; equals <see cref="NumAttentionHeads"/> when absent (MHA).</summary>
    public int NumKeyValueHeads { get; }

    public int NumHiddenLayers { get; }
    public int VocabSize { get; }
    public bool TieWordEmbeddings { get; }

    /// <summary><c>head_dim</c> as written in the file, if it is.</summary>
    public int? HeadDimField { get; }

    /// <summary>Per-head width: <c>head_dim</c> if given, else hidden_size / num_attention_heads.</summary>
    public int HeadDim => HeadDimField ?? HiddenSize / NumAttentionHeads;

    /// <summary>Mistral's <c>sliding_window</c>: each query attends to at most this many keys
    /// (itself included). Null when absent or null in the file.</summary>
    public int? SlidingWindow { get; }

    public int? MaxPositionEmbeddings { get; }

    /// <summary><c>torch_dtype</c> parsed, or null when absent.</summary>
    public DType? TorchDType { get; }

    public double? RmsNormEps { get; }

    /// <summary>The whole JSON object (keys starting with "_" removed), for builders that need
    /// family-specific fields.</summary>
    public JObject Raw { get; }

    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    /// <summary>Records a family field a builder reads (<see cref="Internal.ConfigChecks"/>), so that it is
    /// a known key even if no list names it.</summary>
    internal void MarkRead(string key)
    {
        lock (_read) _read.Add(key);
    }

    internal IReadOnlyCollection<string> ReadKeys
    {
        get
        {
            lock (_read) return _read.ToArray();
        }
    }

    /// <summary>The data type a workload uses unless the request names one: <c>torch_dtype</c>, else bf16.</summary>
    public DType DefaultDType => TorchDType ?? DType.Bf16;

    public override string ToString() =>
        $"{Name} ({ModelType}: {NumHiddenLayers} layers, hidden {HiddenSize}, heads {NumAttentionHeads}/{NumKeyValueHeads})";
}
