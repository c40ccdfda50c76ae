using AccelSim.Bench;
using BenchmarkDotNet.Running;

if (args.Contains("--quick"))
{
    QuickBench.Run(Console.Out);
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(DesBenchmarks).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args);
return 0;
