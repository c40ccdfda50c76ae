using AccelSim.Core.Devices;
using AccelSim.Core.Graph;
using AccelSim.Reports.Internal;
using Spectre.Console;

namespace AccelSim.Reports;

/// <summary>A device card as a table (<c>accelsim list hardware</c>): peak FLOP/s per data type, the
/// bandwidth of each channel, the capacity of each tier, the ridge point, the power cap and the family's
/// own figures.</summary>
public static class DeviceCardReport
{
    public static Table ToTable(DeviceCard card, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(card);
        var t = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(title ?? $"{card.Name} ({card.Kind})"));
        t.AddColumn("Figure");
        t.AddColumn(new TableColumn("Value").RightAligned());
        void Row(string a, string b) => t.AddRow(new Text(a), new Text(b));
        Row("peak FLOP/s", string.Join(", ", card.PeakFlops.Select(p => $"{p.Key.Name()} {Units.FlopRate(p.Value)}")));
        foreach (var b in card.Bandwidths) Row($"bandwidth {b.Name}", Units.Rate(b.Value));
        foreach (var c in card.Capacities) Row($"capacity {c.Name}", Units.Bytes(c.Value));
        Row("ridge point", $"{Units.Intensity(card.RidgePointFlopPerByte)} ({card.RidgeDType.Name()} peak / main-memory bandwidth)");
        Row("power cap", card.PowerCapW is { } w ? Units.Num(w, 0) + " W" : "none in the config");
        foreach (var d in card.Details) Row(d.Name, Figure(d));
        return t;
    }

    private static string Figure(CardFigure f) => f.Unit switch
    {
        "Hz" => Units.Num(f.Value / 1e6, 0) + " MHz",
        "B/s" => Units.Rate(f.Value),
        "B" => Units.Bytes(f.Value),
        "s" => Units.Time(f.Value),
        "J" => Units.Energy(f.Value),
        "" => f.Value == Math.Floor(f.Value) ? Units.Count(f.Value) : Units.Num(f.Value, 3),
        _ => Units.Num(f.Value, f.Value == Math.Floor(f.Value) ? 0 : 3) + " " + f.Unit,
    };
}
