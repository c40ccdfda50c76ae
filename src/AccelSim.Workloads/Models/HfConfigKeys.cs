namespace AccelSim.Workloads.Models;

/// <summary>Keys that Hugging Face writes into a <c>config.json</c> and that change neither compute nor
/// memory, so that a model loader accepts them without reading them. A key in a config must be read by the
/// loader or its builder, be one of these, or be one of its builder's
/// <see cref="IModelBuilder.KnownKeys"/> (its HF config class's fields); any other key is a misspelling or
/// a field this simulator does not know, and an error. Keys starting with '_' are comments.
/// See docs/workloads.md ("Strict inputs").</summary>
public static class HfConfigKeys
{
    /// <summary>Fields of HF's <c>PretrainedConfig</c>, present and past (v4 and v5), that every model
    /// type may carry: bookkeeping, fine-tuning heads, token ids, generation defaults, quantisation.</summary>
    public static readonly IReadOnlySet<string> Common = new HashSet<string>(StringComparer.Ordinal)
    {
        // bookkeeping
        "architectures", "model_type", "transformers_version", "name_or_path", "auto_map", "custom_pipelines",
        "dtype", "torch_dtype", "use_bfloat16", "torchscript", "tf_legacy_loss", "quantization_config",
        // outputs and structure
        "return_dict", "output_hidden_states", "output_attentions", "chunk_size_feed_forward", "is_encoder_decoder",
        "is_decoder", "cross_attention_hidden_size", "add_cross_attention", "tie_encoder_decoder", "pruned_heads",
        "tie_word_embeddings", "use_cache", "initializer_range", "gradient_checkpointing",
        // fine-tuning tasks
        "finetuning_task", "id2label", "label2id", "num_labels", "problem_type", "task_specific_params", "prefix",
        "tokenizer_class",
        // token ids
        "bos_token_id", "eos_token_id", "pad_token_id", "sep_token_id", "decoder_start_token_id",
        // generation defaults (older configs carry them)
        "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups", "diversity_penalty",
        "temperature", "top_k", "top_p", "typical_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size",
        "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences", "output_scores",
        "return_dict_in_generate", "forced_bos_token_id", "forced_eos_token_id", "remove_invalid_values",
        "exponential_decay_length_penalty", "suppress_tokens", "begin_suppress_tokens",
    };

    /// <summary>Rotary-embedding fields shared by the rotary families (old names and v5's <c>rope_parameters</c>).</summary>
    public static readonly IReadOnlyList<string> Rope = ["rope_theta", "rope_scaling", "rope_parameters"];

    /// <summary>A set of the given keys.</summary>
    public static IReadOnlySet<string> Of(params IEnumerable<string>[] groups)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var g in groups) set.UnionWith(g);
        return set;
    }
}
