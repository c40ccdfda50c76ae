namespace AccelSim.Cli;

public static class Program
{
    public static int Main(string[] args) => AccelSimApp.Run(args, Console.Out, Console.Error);
}
