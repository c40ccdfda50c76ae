using System.Globalization;
using System.Numerics;
using AccelSim.Core.Config;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Configs;

/// <summary>Reads a JSON file (optionally gzip-compressed) into a token, turning every I/O or syntax
/// problem into an <see cref="InputException"/> naming the file, the line and the column. Stricter
/// than Newtonsoft's defaults: a duplicate key and a trailing comma (<c>[1, 2,]</c>, <c>{"a": 1,}</c>)
/// are errors, as they are in JSON itself. Comments are allowed.</summary>
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
            return Parse(text, path);
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

    /// <summary>Parses JSON text; <paramref name="source"/> names it in errors.</summary>
    public static JToken ParseText(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var text = new StringReader(json);
        return Parse(text, source);
    }

    /// <summary>A JSON number as a double. Integers beyond 64 bits (which Newtonsoft reads as
    /// <see cref="BigInteger"/>) convert too, to a large finite value or infinity.</summary>
    public static double ToDouble(JToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return token is JValue { Value: BigInteger big } ? (double)big : token.Value<double>();
    }

    /// <summary>A JSON integer as a long, or null when it is not an integer or does not fit.</summary>
    public static long? ToInt64(JToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return token is JValue { Value: long v } ? v : null;
    }

    private static JToken Parse(TextReader text, string source)
    {
        var guard = new CommaGuard(text);
        JToken token;
        try
        {
            using var reader = new JsonTextReader(guard)
            {
                DateParseHandling = DateParseHandling.None,
                FloatParseHandling = FloatParseHandling.Double,
                CloseInput = false,
            };
            var settings = new JsonLoadSettings
            {
                DuplicatePropertyNameHandling = DuplicatePropertyNameHandling.Error,
                LineInfoHandling = LineInfoHandling.Load,
            };
            token = JToken.ReadFrom(reader, settings);
            while (reader.Read())
            {
                if (reader.TokenType == JsonToken.Comment) continue;
                throw new InputException(source, null, $"unexpected content after the JSON value at line {reader.LineNumber}");
            }
        }
        catch (JsonReaderException e)
        {
            if (guard.TrailingComma is { } comma && (comma.Line < e.LineNumber || (comma.Line == e.LineNumber && comma.Column <= e.LinePosition + 1)))
                throw TrailingComma(source, comma, null);
            if (!guard.SawContent)
                throw new InputException(source, null, "the file is empty; expected a JSON value");
            // Newtonsoft counts the characters consumed on the line; the offending one is the next (1-based).
            throw new InputException(source, string.IsNullOrEmpty(e.Path) ? null : e.Path,
                $"malformed JSON at line {e.LineNumber}, column {e.LinePosition + 1}: {FirstSentence(e.Message)}");
        }
        if (guard.TrailingComma is { } c) throw TrailingComma(source, c, token);
        WidenBigIntegers(token);
        return token;
    }

    private static InputException TrailingComma(string source, (int Line, int Column, char Closer) comma, JToken? root)
    {
        // The path of the last value before the comma (tokens carry their start positions).
        string? path = null;
        if (root is not null)
        {
            var best = (Line: 0, Column: 0);
            foreach (var t in root is JContainer c ? c.DescendantsAndSelf() : [root])
            {
                if (t is not IJsonLineInfo info || !info.HasLineInfo()) continue;
                var at = (Line: info.LineNumber, Column: info.LinePosition);
                if (Before(at, (comma.Line, comma.Column)) && !Before(at, best))
                {
                    best = at;
                    path = t.Path;
                }
            }
        }
        return new InputException(source, string.IsNullOrEmpty(path) ? null : path,
            $"malformed JSON at line {comma.Line}, column {comma.Column}: trailing comma before '{comma.Closer}' (JSON allows no comma after the last element)");
    }

    private static bool Before((int Line, int Column) a, (int Line, int Column) b) =>
        a.Line < b.Line || (a.Line == b.Line && a.Column < b.Column);

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

    /// <summary>Passes text through to the JSON reader unchanged while scanning it for a comma
    /// followed (after whitespace and comments) by '}' or ']'. Records the first, with its line and
    /// column (1-based).</summary>
    private sealed class CommaGuard(TextReader inner) : TextReader
    {
        private enum State { Normal, InString, InStringEscape, Slash, LineComment, BlockComment, BlockCommentStar }

        private State _state;
        private int _line = 1, _column;
        private (int Line, int Column)? _pendingComma;

        public (int Line, int Column, char Closer)? TrailingComma { get; private set; }
        public bool SawContent { get; private set; }

        public override int Peek() => inner.Peek();

        public override int Read()
        {
            var c = inner.Read();
            if (c >= 0) Scan((char)c);
            return c;
        }

        public override int Read(char[] buffer, int index, int count)
        {
            var n = inner.Read(buffer, index, count);
            for (var i = 0; i < n; i++) Scan(buffer[index + i]);
            return n;
        }

        public override int Read(Span<char> buffer)
        {
            var n = inner.Read(buffer);
            for (var i = 0; i < n; i++) Scan(buffer[i]);
            return n;
        }

        private void Scan(char c)
        {
            if (c == '\n')
            {
                _line++;
                _column = 0;
            }
            else
            {
                _column++;
            }
            switch (_state)
            {
                case State.InString:
                    if (c == '\\') _state = State.InStringEscape;
                    else if (c == '"') _state = State.Normal;
                    return;
                case State.InStringEscape:
                    _state = State.InString;
                    return;
                case State.LineComment:
                    if (c == '\n') _state = State.Normal;
                    return;
                case State.BlockComment:
                    if (c == '*') _state = State.BlockCommentStar;
                    return;
                case State.BlockCommentStar:
                    _state = c == '/' ? State.Normal : c == '*' ? State.BlockCommentStar : State.BlockComment;
                    return;
                case State.Slash:
                    if (c == '/') { _state = State.LineComment; return; }
                    if (c == '*') { _state = State.BlockComment; return; }
                    _state = State.Normal;
                    break;
            }
            if (char.IsWhiteSpace(c) || c == '\uFEFF') return;
            if (c == '/') { _state = State.Slash; return; }
            SawContent = true;
            if ((c == '}' || c == ']') && _pendingComma is { } comma && TrailingComma is null)
                TrailingComma = (comma.Line, comma.Column, c);
            _pendingComma = c == ',' ? (_line, _column) : null;
            if (c == '"') _state = State.InString;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
