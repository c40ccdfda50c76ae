using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Models;

/// <summary>Turns a model family's config into workload graphs. One builder serves one or more
/// Hugging Face <c>model_type</c>s; <see cref="ModelBuilderRegistry"/> dispatches to it.</summary>
public interface IModelBuilder
{
    /// <summary>Lowercase id, e.g. <c>llama</c>.</summary>
    string Id { get; }

    /// <summary>HF <c>model_type</c> values this builder understands (lowercase).</summary>
    IReadOnlyList<string> ModelTypes { get; }

    /// <summary>HF <c>architectures</c> class names this builder understands, each with the
    /// model_type it stands for; used when a config has no <c>model_type</c>.</summary>
    IReadOnlyDictionary<string, string> Architectures { get; }

    /// <summary>Rewrites, in place, the family's own names of the common fields into the names
    /// <see cref="ModelConfigLoader"/> reads (<c>hidden_size</c>, <c>intermediate_size</c>,
    /// <c>num_attention_heads</c>, <c>num_key_value_heads</c>, <c>num_hidden_layers</c>,
    /// <c>max_position_embeddings</c>, <c>tie_word_embeddings</c>) and fills the family's defaults
    /// (GPT-2's <c>n_embd</c>, OPT's <c>ffn_dim</c>, Falcon's <c>multi_query</c>). Returns, for every
    /// key it set, the key of the file it came from, so that errors name the field the user wrote.</summary>
    IReadOnlyDictionary<string, string> Normalize(JObject root) => NoAliases;

    /// <summary>No renamed fields.</summary>
    static readonly IReadOnlyDictionary<string, string> NoAliases = new Dictionary<string, string>();

    /// <summary>The fields of the family's Hugging Face config class(es) that a config may carry besides
    /// <see cref="HfConfigKeys.Common"/> and the fields <see cref="ModelConfigLoader"/> reads, whether this
    /// builder uses them or not (dropout rates, router loss weights, ...). Any other key is an error.</summary>
    IReadOnlySet<string> KnownKeys => NoKeys;

    /// <summary>No family fields.</summary>
    static readonly IReadOnlySet<string> NoKeys = new HashSet<string>();

    /// <summary>Adds a problem for every field of <paramref name="model"/> that would change the
    /// compute in a way this builder does not model (a guess is never made silently).</summary>
    void Check(ModelConfig model, ICollection<InputProblem> problems);

    /// <summary>Builds the graph of one forward step (prefill, decode) or one training step. Throws <see cref="InputException"/> for a bad request.</summary>
    WorkloadGraph Build(ModelConfig model, WorkloadRequest request);
}
