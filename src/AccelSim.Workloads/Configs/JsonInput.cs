using AccelSim.Core.Config;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Configs;

/// <summary>Reads a JSON file (optionally gzip-compressed) into a token, turning every I/O or syntax
/// problem into an <see cref="InputException"/> naming the file and the position.</summary>
public static class JsonInput
{
    public static JToken Load(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            Stream s = stream;
            if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
                s = new System.IO.Compression.GZipStream(stream, System.IO.Compression.CompressionMode.Decompress);
            using var text = new StreamReader(s);
            using var reader = new JsonTextReader(text) { DateParseHandling = DateParseHandling.None, FloatParseHandling = FloatParseHandling.Double };
            var token = JToken.ReadFrom(reader, new JsonLoadSettings { DuplicatePropertyNameHandling = DuplicatePropertyNameHandling.Error, LineInfoHandling = LineInfoHandling.Load });
            if (reader.Read() && reader.TokenType != JsonToken.Comment)
                throw new InputException(path, null, $"unexpected content after the JSON value at line {reader.LineNumber}");
            WidenBigIntegers(token);
            return token;
        }
        catch (JsonReaderException e)
        {
            throw new InputException(path, string.IsNullOrEmpty(e.Path) ? null : e.Path,
                $"malformed JSON at line {e.LineNumber}, position {e.LinePosition}: {FirstSentence(e.Message)}");
        }
        catch (InvalidDataException e)
        {
            throw new InputException(path, null, $"cannot decompress: {e.Message}");
        }
        catch (IOException e)
        {
            throw new InputException(path, null, $"cannot read: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new InputException(path, null, $"cannot read: {e.Message}");
        }
    }

    public static JObject LoadObject(string path)
    {
        var token = Load(path);
        return token as JObject ?? throw new InputException(path, "$", $"expected a JSON object, got {token.Type}");
    }

    /// <summary>An integer literal beyond 64 bits (<c>1e20</c> written out) parses as a BigInteger, which
    /// no reader expects; it becomes the nearest double, so range checks report it like any large number.</summary>
    private static void WidenBigIntegers(JToken token)
    {
        if (token is JValue { Value: System.Numerics.BigInteger big } value) value.Value = (double)big;
        else if (token is JContainer container)
        {
            foreach (var v in container.Descendants())
                if (v is JValue { Value: System.Numerics.BigInteger b } jv) jv.Value = (double)b;
        }
    }

    private static string FirstSentence(string message)
    {
        var i = message.IndexOf(". Path", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message.TrimEnd('.');
    }
}
