using AccelSim.Core.Config;
using AccelSim.Core.Graph;
using AccelSim.Workloads.Models;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Tests;

public class ModelConfigLoaderTests
{
    private static JObject Llama2_7b() => JObject.Parse(File.ReadAllText(TestConfigs.ModelPath("llama2-7b")));

    private static InputException LoadBad(JObject json, string name = "bad")
    {
        using var f = new TestConfigs.TempFile(json.ToString());
        return Assert.Throws<InputException>(() => ModelConfigLoader.Load(f.Path));
    }

    [Fact]
    public void Llama2_7b_fields_are_read()
    {
        var m = TestConfigs.Load("llama2-7b");
        Assert.Equal("llama2-7b", m.Name);
        Assert.Equal("llama", m.ModelType);
        Assert.Equal(["LlamaForCausalLM"], m.Architectures);
        Assert.Equal(4096, m.HiddenSize);
        Assert.Equal(11008, m.IntermediateSize);
        Assert.Equal(32, m.NumAttentionHeads);
        Assert.Equal(32, m.NumKeyValueHeads);
        Assert.Equal(32, m.NumHiddenLayers);
        Assert.Equal(32000, m.VocabSize);
        Assert.Equal(128, m.HeadDim);
        Assert.False(m.TieWordEmbeddings);
        Assert.Equal(4096, m.MaxPositionEmbeddings);
        Assert.Equal(DType.Fp16, m.TorchDType);
        Assert.Equal(1e-5, m.RmsNormEps);
        Assert.Null(m.SlidingWindow);
        Assert.False(m.Raw.ContainsKey("_source"));
    }

    [Fact]
    public void Mistral_has_a_window_and_gqa()
    {
        var m = TestConfigs.Load("mistral-7b");
        Assert.Equal("mistral", m.ModelType);
        Assert.Equal(4096, m.SlidingWindow);
        Assert.Equal(8, m.NumKeyValueHeads);
        Assert.Equal(DType.Bf16, m.DefaultDType);
    }

    [Fact]
    public void LoadNamed_resolves_bundled_names_and_lists_them_when_unknown()
    {
        _ = TestConfigs.ModelsDir;
        Assert.Equal(8, ModelConfigLoader.LoadNamed("llama3-8b").NumKeyValueHeads);
        var e = Assert.Throws<InputException>(() => ModelConfigLoader.LoadNamed("llama9-1t"));
        Assert.Contains("llama2-7b", e.Message);
    }

    [Fact]
    public void Missing_kv_heads_default_to_heads_and_dtype_to_bf16()
    {
        var j = Llama2_7b();
        j.Remove("num_key_value_heads");
        j.Remove("torch_dtype");
        using var f = new TestConfigs.TempFile(j.ToString());
        var m = ModelConfigLoader.Load(f.Path);
        Assert.Equal(32, m.NumKeyValueHeads);
        Assert.Null(m.TorchDType);
        Assert.Equal(DType.Bf16, m.DefaultDType);
    }

    [Fact]
    public void Missing_field_names_file_and_path()
    {
        var j = Llama2_7b();
        j.Remove("hidden_size");
        var e = LoadBad(j);
        var p = Assert.Single(e.Problems);
        Assert.Equal("hidden_size", p.Path);
        Assert.Contains("missing", p.Message);
        Assert.EndsWith(".json", p.File);
    }

    [Theory]
    [InlineData("num_hidden_layers", -2)]
    [InlineData("intermediate_size", 0)]
    [InlineData("vocab_size", 3.5)]
    [InlineData("num_key_value_heads", "8")]
    public void Bad_numbers_are_rejected_with_their_path(string key, object value)
    {
        var j = Llama2_7b();
        j[key] = JToken.FromObject(value);
        var e = LoadBad(j);
        var p = Assert.Single(e.Problems);
        Assert.Equal(key, p.Path);
        Assert.Contains("whole number in [1, 2147483647]", p.Message);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var j = Llama2_7b();
        j.Remove("vocab_size");
        j["hidden_size"] = -1;
        j["torch_dtype"] = "float13";
        var e = LoadBad(j);
        Assert.Equal(["hidden_size", "torch_dtype", "vocab_size"], e.Problems.Select(p => p.Path!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Kv_heads_must_divide_heads()
    {
        var j = Llama2_7b();
        j["num_key_value_heads"] = 5;
        var e = LoadBad(j);
        Assert.Equal("num_key_value_heads", Assert.Single(e.Problems).Path);
        Assert.Contains("multiple of num_key_value_heads", e.Message);
    }

    [Fact]
    public void Heads_must_divide_hidden_unless_head_dim_is_given()
    {
        var j = Llama2_7b();
        j["num_attention_heads"] = 24;
        j["num_key_value_heads"] = 8;
        var e = LoadBad(j);
        Assert.Contains("hidden_size (4096) must be a multiple of num_attention_heads (24)", e.Message);

        j["head_dim"] = 160;
        using var f = new TestConfigs.TempFile(j.ToString());
        var m = ModelConfigLoader.Load(f.Path);
        Assert.Equal(160, m.HeadDim);
    }

    [Fact]
    public void Unsupported_model_type_lists_the_supported_ones()
    {
        var j = Llama2_7b();
        j["model_type"] = "gpt_neox";
        var e = LoadBad(j);
        var p = Assert.Single(e.Problems);
        Assert.Equal("model_type", p.Path);
        Assert.Contains("gpt_neox", p.Message);
        Assert.Contains("llama, mistral", p.Message);
    }

    [Fact]
    public void Model_type_falls_back_to_architectures()
    {
        var j = TestConfigsJson("mistral-7b");
        j.Remove("model_type");
        using var f = new TestConfigs.TempFile(j.ToString());
        Assert.Equal("mistral", ModelConfigLoader.Load(f.Path).ModelType);
    }

    [Theory]
    [InlineData("num_local_experts", 8)]
    [InlineData("num_experts", 64)]
    [InlineData("attention_bias", true)]
    [InlineData("hidden_act", "gelu")]
    public void Compute_changing_fields_the_builder_does_not_model_are_errors(string key, object value)
    {
        var j = Llama2_7b();
        j[key] = JToken.FromObject(value);
        var e = LoadBad(j);
        Assert.Equal(key, Assert.Single(e.Problems).Path);
    }

    [Fact]
    public void A_sliding_window_on_a_llama_model_type_is_an_error()
    {
        var j = Llama2_7b();
        j["sliding_window"] = 4096;
        var e = LoadBad(j);
        Assert.Equal("sliding_window", Assert.Single(e.Problems).Path);
    }

    [Fact]
    public void Fields_that_do_not_change_flops_are_accepted()
    {
        var j = Llama2_7b();
        j["rope_scaling"] = JObject.Parse("""{"type": "linear", "factor": 2.0}""");
        j["pretraining_tp"] = 2;
        j["_comment"] = "ignored";
        j["num_experts"] = 0;
        using var f = new TestConfigs.TempFile(j.ToString());
        Assert.Equal(4096, ModelConfigLoader.Load(f.Path).HiddenSize);
    }

    [Fact]
    public void Malformed_json_names_the_file_and_line()
    {
        using var f = new TestConfigs.TempFile("{\n  \"hidden_size\": 4096,\n  \"vocab_size\": }\n");
        var e = Assert.Throws<InputException>(() => ModelConfigLoader.Load(f.Path));
        var p = Assert.Single(e.Problems);
        Assert.Equal(f.Path, p.File);
        Assert.Contains("malformed JSON at line 3", p.Message);
    }

    [Fact]
    public void A_json_array_is_not_a_config()
    {
        using var f = new TestConfigs.TempFile("[1, 2]");
        var e = Assert.Throws<InputException>(() => ModelConfigLoader.Load(f.Path));
        Assert.Equal("$", Assert.Single(e.Problems).Path);
    }

    [Fact]
    public void Phase_parsing_reports_valid_values()
    {
        Assert.Equal(Phase.Decode, Phases.Parse("Decode"));
        Assert.Equal(Phase.Train, Phases.Parse("train"));
        var e = Assert.Throws<InputException>(() => Phases.Parse("finetune"));
        Assert.Contains("prefill, decode, train", e.Message);
        Assert.Equal(RequestParameter.Phase, Assert.Single(e.Problems).Path);
    }

    private static JObject TestConfigsJson(string name) => JObject.Parse(File.ReadAllText(TestConfigs.ModelPath(name)));
}
