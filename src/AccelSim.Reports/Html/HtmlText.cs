using System.Globalization;
using System.Text;

namespace AccelSim.Reports.Html;

/// <summary>Escaping and number formatting for the HTML report: every text and attribute value passes through
/// <see cref="Esc"/>; every number is written with the invariant culture, so the same report gives the same
/// bytes on any machine.</summary>
internal static class HtmlText
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Text safe in element content and in a double-quoted attribute: &amp; &lt; &gt; &quot; and
    /// &#39; become entities; control characters other than tab and newline are dropped.</summary>
    public static string Esc(string? s)
    {
        if (string.IsNullOrEmpty(s)) return "";
        var sb = new StringBuilder(s.Length + 16);
        foreach (var c in s)
        {
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                case '\t' or '\n': sb.Append(c); break;
                default:
                    if (!char.IsControl(c)) sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>A number as a data attribute carries it: shortest round-trip form, "" when not finite.</summary>
    public static string Raw(double v) => double.IsFinite(v) ? (v == 0 ? 0.0 : v).ToString("R", Inv) : "";

    public static string Raw(long v) => v.ToString(Inv);

    /// <summary>An SVG coordinate: two decimals at most.</summary>
    public static string C(double v) => double.IsFinite(v) ? Math.Round(v, 2).ToString("0.##", Inv) : "0";
}
