using System.Globalization;
using System.Text;
using Newtonsoft.Json.Linq;

namespace AccelSim.Workloads.Import.Internal;

/// <summary>Parses the argument texts of a Chakra <c>IOInfo</c>: Chakra's converters write them with
/// Python's <c>str()</c> (<c>[[5, 6, 0, 64, 2, 'cuda:0']]</c>, <c>['Tensor(c10::BFloat16)']</c>,
/// <c>True</c>, <c>None</c>), others as JSON. Both are read into JSON tokens: lists and tuples become
/// arrays, integers longs (doubles beyond 64 bits), <c>None</c>/<c>null</c> a JSON null.</summary>
internal static class PyLiteral
{
    /// <summary>The error's character position and what was expected there.</summary>
    public sealed class SyntaxError(int position, string message) : Exception(message)
    {
        public int Position { get; } = position;
    }

    public static JToken Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var p = new Parser(text);
        p.Skip();
        var value = p.Value(0);
        p.Skip();
        if (!p.AtEnd) throw new SyntaxError(p.Pos, "unexpected text after the value");
        return value;
    }

    private sealed class Parser(string s)
    {
        private const int MaxDepth = 64;

        public int Pos;

        public bool AtEnd => Pos >= s.Length;

        public void Skip()
        {
            while (Pos < s.Length && char.IsWhiteSpace(s[Pos])) Pos++;
        }

        public JToken Value(int depth)
        {
            if (depth > MaxDepth) throw new SyntaxError(Pos, $"lists nested deeper than {MaxDepth}");
            if (AtEnd) throw new SyntaxError(Pos, "unexpected end of text; expected a value");
            var c = s[Pos];
            switch (c)
            {
                case '[': return List(']', depth);
                case '(': return List(')', depth);
                case '\'' or '"': return new JValue(String(c));
            }
            if (c is '-' or '+' or '.' || char.IsAsciiDigit(c)) return Number();
            if (char.IsAsciiLetter(c) || c == '_')
            {
                var start = Pos;
                while (Pos < s.Length && (char.IsAsciiLetterOrDigit(s[Pos]) || s[Pos] == '_')) Pos++;
                return s[start..Pos] switch
                {
                    "True" or "true" => new JValue(true),
                    "False" or "false" => new JValue(false),
                    "None" or "null" => JValue.CreateNull(),
                    "inf" or "Infinity" => new JValue(double.PositiveInfinity),
                    "nan" or "NaN" => new JValue(double.NaN),
                    var w => throw new SyntaxError(start, $"unknown word '{w}'; expected a number, a quoted string, a list, True, False or None"),
                };
            }
            throw new SyntaxError(Pos, $"unexpected character '{c}'; expected a value");
        }

        private JArray List(char close, int depth)
        {
            Pos++;
            var list = new JArray();
            Skip();
            if (!AtEnd && s[Pos] == close)
            {
                Pos++;
                return list;
            }
            while (true)
            {
                Skip();
                list.Add(Value(depth + 1));
                Skip();
                if (AtEnd) throw new SyntaxError(Pos, $"unexpected end of text; expected ',' or '{close}'");
                if (s[Pos] == ',')
                {
                    Pos++;
                    Skip();
                    if (!AtEnd && s[Pos] == close)
                    {
                        Pos++;
                        return list;
                    }
                    continue;
                }
                if (s[Pos] == close)
                {
                    Pos++;
                    return list;
                }
                throw new SyntaxError(Pos, $"unexpected character '{s[Pos]}'; expected ',' or '{close}'");
            }
        }

        private string String(char quote)
        {
            var start = Pos;
            Pos++;
            var sb = new StringBuilder();
            while (true)
            {
                if (AtEnd) throw new SyntaxError(start, "unterminated string");
                var c = s[Pos++];
                if (c == quote) return sb.ToString();
                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }
                if (AtEnd) throw new SyntaxError(start, "unterminated string");
                var e = s[Pos++];
                switch (e)
                {
                    case 'n': sb.Append('\n'); break;
                    case 't': sb.Append('\t'); break;
                    case 'r': sb.Append('\r'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case '0': sb.Append('\0'); break;
                    case 'x': sb.Append((char)Hex(2)); break;
                    case 'u': sb.Append((char)Hex(4)); break;
                    default: sb.Append(e); break; // \\, \', \", \/ and anything else taken literally
                }
            }
        }

        private int Hex(int digits)
        {
            if (Pos + digits > s.Length || !int.TryParse(s.AsSpan(Pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v))
                throw new SyntaxError(Pos, $"expected {digits} hexadecimal digits");
            Pos += digits;
            return v;
        }

        private JValue Number()
        {
            var start = Pos;
            if (s[Pos] is '-' or '+') Pos++;
            if (Pos < s.Length && char.IsAsciiLetter(s[Pos]))
            {
                var w = Pos;
                while (Pos < s.Length && char.IsAsciiLetter(s[Pos])) Pos++;
                return s[w..Pos] is "inf" or "Infinity"
                    ? new JValue(s[start] == '-' ? double.NegativeInfinity : double.PositiveInfinity)
                    : throw new SyntaxError(start, "malformed number");
            }
            var isFloat = false;
            while (Pos < s.Length && (char.IsAsciiDigit(s[Pos]) || s[Pos] is '.' or 'e' or 'E' or '_'
                       || (s[Pos] is '-' or '+' && s[Pos - 1] is 'e' or 'E')))
            {
                if (s[Pos] is '.' or 'e' or 'E') isFloat = true;
                Pos++;
            }
            var text = s[start..Pos].Replace("_", "", StringComparison.Ordinal);
            if (!isFloat && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return new JValue(l);
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return new JValue(d);
            throw new SyntaxError(start, $"malformed number '{text}'");
        }
    }
}
