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

    private static string FirstSentence(string message)
    {
        var i = message.IndexOf(". Path", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message.TrimEnd('.');
    }
}
