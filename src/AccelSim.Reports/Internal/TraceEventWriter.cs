using System.Globalization;
using Newtonsoft.Json;

namespace AccelSim.Reports.Internal;

/// <summary>The primitives of a Chrome/Perfetto trace-event file: events separated one per line, strings
/// JSON-escaped, numbers in the invariant culture, times as exact microseconds. A timeline writer derives
/// from it and adds the events it emits.</summary>
internal abstract class TraceEventWriter(TextWriter writer)
{
    private bool _first = true;
    private readonly char[] _buf = new char[64];

    /// <summary>Where the events go.</summary>
    protected TextWriter Out { get; } = writer;

    /// <summary>Starts the next event (a separator after the one before).</summary>
    protected void Next()
    {
        if (!_first) Out.Write(",\n");
        _first = false;
    }

    public void Str(string s) => Out.Write(JsonConvert.ToString(s));

    /// <summary>Closes an event with its one argument: <c>,"args":{"key":value}}</c>.</summary>
    protected void OneArg(string key, string value)
    {
        ArgsKey(key); Str(value); Out.Write("}}");
    }

    /// <inheritdoc cref="OneArg(string, string)"/>
    protected void OneArg(string key, long value)
    {
        ArgsKey(key); Long(value); Out.Write("}}");
    }

    /// <summary>Closes an event with its one argument, a double rounded to 6 decimals.</summary>
    protected void OneArg(string key, double value)
    {
        ArgsKey(key); Double(Math.Round(value, 6)); Out.Write("}}");
    }

    private void ArgsKey(string key)
    {
        Out.Write(",\"args\":{"); Str(key); Out.Write(':');
    }

    public void Long(long v)
    {
        v.TryFormat(_buf, out var n, default, CultureInfo.InvariantCulture);
        Out.Write(_buf, 0, n);
    }

    public void Double(double v)
    {
        if (!double.IsFinite(v)) { Out.Write("null"); return; }
        if (v == 0) { Out.Write('0'); return; }
        v.TryFormat(_buf, out var n, "R", CultureInfo.InvariantCulture);
        Out.Write(_buf, 0, n);
    }

    /// <summary>Picoseconds as microseconds, exact: integer part, then up to six decimals without trailing zeros.</summary>
    public void Us(long ps)
    {
        if (ps < 0) { Out.Write('-'); ps = -ps; }
        Long(ps / 1_000_000);
        var frac = ps % 1_000_000;
        if (frac == 0) return;
        var digits = 6;
        while (frac % 10 == 0) { frac /= 10; digits--; }
        Out.Write('.');
        frac.TryFormat(_buf, out var n, "D" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        Out.Write(_buf, 0, n);
    }
}
