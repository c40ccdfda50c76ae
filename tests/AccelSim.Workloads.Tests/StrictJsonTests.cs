using AccelSim.Core.Config;
using AccelSim.Workloads.Configs;
using AccelSim.Workloads.Models;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Tests;

/// <summary>JSON is read strictly (trailing commas, duplicate keys, true positions) and model configs accept only
/// keys that are used or known Hugging Face fields.</summary>
public class StrictJsonTests
{
    private static InputException Bad(string json) => Assert.Throws<InputException>(() => JsonInput.ParseText(json, "x.json"));

    [Theory]
    [InlineData("{\"a\": [1, 2,]}", 1, 12, ']')]
    [InlineData("{\"a\": 1,\n}", 1, 8, '}')]
    [InlineData("{\"a\": {\"b\": 1 , /* c */ }}", 1, 15, '}')]
    [InlineData("[1,\n  // last\n]", 1, 3, ']')]
    public void Trailing_commas_are_rejected_with_their_position(string json, int line, int column, char closer)
    {
        var p = Assert.Single(Bad(json).Problems);
        Assert.Equal("x.json", p.File);
        Assert.Contains($"line {line}, column {column}: trailing comma before '{closer}'", p.Message);
    }

    [Theory]
    [InlineData("{\"a\": \",}\", \"b\": \"\\\",]\"}")]
    [InlineData("{\"a\": 1 // ,}\n}")]
    [InlineData("{\"a\": 1 /* ,] */ }")]
    [InlineData("{\"a\": [1, 2], \"b\": {}}")]
    public void Commas_in_strings_and_comments_are_not_trailing_commas(string json) =>
        Assert.IsType<JObject>(JsonInput.ParseText(json, "x.json"));

    [Fact]
    public void The_path_of_a_trailing_comma_is_the_value_before_it()
    {
        var p = Assert.Single(Bad("{\n  \"compute\": {\n    \"sm_count\": 132,\n  }\n}").Problems);
        Assert.Equal("compute.sm_count", p.Path);
        Assert.Contains("line 3, column 20", p.Message);
    }

    [Fact]
    public void Duplicate_keys_and_empty_files_are_rejected()
    {
        Assert.Contains("line 1, column", Bad("{\"a\": 1, \"a\": 2}").Message);
        Assert.Contains("empty", Bad("  \n ").Message);
        Assert.Contains("line 2, column 3", Bad("{\"a\": 1}\n  x").Message);
    }

    [Fact]
    public void Integers_beyond_64_bits_convert_to_doubles()
    {
        var t = JsonInput.ParseText("{\"a\": 100000000000000000000}", "x.json")["a"]!;
        Assert.Equal(1e20, JsonInput.ToDouble(t));
        Assert.Null(JsonInput.ToInt64(t));
    }

    private static JObject Bundled(string name) => JObject.Parse(File.ReadAllText(TestConfigs.ModelPath(name)));

    private static InputProblem LoadBad(JObject json)
    {
        using var f = new TestConfigs.TempFile(json.ToString());
        return Assert.Single(Assert.Throws<InputException>(() => ModelConfigLoader.Load(f.Path)).Problems);
    }

    [Theory]
    [InlineData("llama2-7b", "hidden_sise", "hidden_size")]
    [InlineData("falcon-7b", "multi_querry", "multi_query")]
    [InlineData("gpt2-medium", "n_embedd", "n_embd")]
    [InlineData("deepseek-v2-lite", "kv_lora_rnak", "kv_lora_rank")]
    [InlineData("mixtral-8x7b", "num_local_expert", "num_local_experts")]
    public void An_unknown_model_key_names_the_nearest_known_one(string model, string key, string near)
    {
        var j = Bundled(model);
        j[key] = 1;
        var p = LoadBad(j);
        Assert.Equal(key, p.Path);
        Assert.Contains("unknown key", p.Message);
        Assert.Contains(near, p.Message);
    }

    [Fact]
    public void Every_bundled_model_is_clean_under_strict_keys()
    {
        foreach (var name in Directory.GetFiles(TestConfigs.ModelsDir, "*.json"))
            _ = ModelConfigLoader.Load(name);
    }

    [Fact]
    public void Hf_v5_dtype_names_the_data_type()
    {
        var j = Bundled("llama2-7b");
        j.Remove("torch_dtype");
        j["dtype"] = "bfloat16";
        using var f = new TestConfigs.TempFile(j.ToString());
        Assert.Equal(Core.Graph.DType.Bf16, ModelConfigLoader.Load(f.Path).TorchDType);
        j["dtype"] = "float99";
        Assert.Equal("dtype", LoadBad(j).Path);
    }

    [Theory]
    [InlineData("falcon-7b", "multi_query", "\"yes\"", "expected true or false")]
    [InlineData("falcon-7b", "parallel_attn", "1", "expected true or false")]
    [InlineData("llama2-7b", "tie_word_embeddings", "\"false\"", "expected true or false")]
    [InlineData("llama2-7b", "rms_norm_eps", "100000000000000000000", "expected a number in (0, 1)")]
    [InlineData("llama2-7b", "num_hidden_layers", "1e30", "whole number in [1, 2147483647]")]
    [InlineData("llama2-7b", "num_hidden_layers", "100000000000000000000", "whole number in [1, 2147483647]")]
    [InlineData("mixtral-8x7b", "num_local_experts", "\"8\"", "whole number in [1, 65536]")]
    [InlineData("llama2-7b", "attention_bias", "\"no\"", "expected false")]
    public void Mistyped_and_out_of_range_values_are_errors(string model, string key, string json, string expected)
    {
        var j = Bundled(model);
        j[key] = JToken.Parse(json);
        var p = LoadBad(j);
        Assert.Equal(key, p.Path);
        Assert.Contains(expected, p.Message);
    }
}
