namespace AccelSim.Core.Config;

/// <summary>One problem with user input: where it is and what was expected there.</summary>
public sealed record InputProblem(string? File, string? Path, string Message)
{
    public override string ToString()
    {
        var where = (File, Path) switch
        {
            (not null, not null and not "") => $"{File}: at {Path}: ",
            (not null, _) => $"{File}: ",
            (null, not null and not "") => $"at {Path}: ",
            _ => "",
        };
        return where + Message;
    }
}

/// <summary>Bad user input (a config, a trace, a command-line value). The command line prints the
/// problems and exits with code 2; this is never a crash.</summary>
public sealed class InputException : Exception
{
    public InputException(IReadOnlyList<InputProblem> problems)
        : base(string.Join(Environment.NewLine, problems.Select(p => p.ToString())))
    {
        Problems = problems;
    }

    public InputException(string? file, string? path, string message)
        : this([new InputProblem(file, path, message)])
    {
    }

    public IReadOnlyList<InputProblem> Problems { get; }
}
