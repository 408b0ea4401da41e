using System.Diagnostics;
using Beacon.Testing;
using Xunit.Abstractions;

namespace Beacon.Dashboard.Tests;

/// <summary>
/// The dashboard's ES modules (gateway/wwwroot/js) have no import cycle and no page imports the shell or another
/// page (check-imports.mjs beside this file). A cycle works in a browser only while the order of evaluation
/// happens to suit it; shared components belong in modules of their own. Needs node only, no browser or server.
/// </summary>
public sealed class ImportCycleTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Dashboard_modules_import_no_cycle_and_pages_import_neither_the_shell_nor_each_other()
    {
        Skip.If(!OnPath("node"), "node is needed to check the dashboard's imports; install nodejs");

        var root = TestEnvironment.RepositoryRoot();
        var start = new ProcessStartInfo("node",
            [Path.Combine(root, "tests", "Dashboard.Tests", "check-imports.mjs"), Path.Combine(root, "gateway", "wwwroot", "js")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        var text = await stdout + await stderr;
        output.WriteLine(text);

        Assert.True(process.ExitCode == 0, $"check-imports.mjs exited with {process.ExitCode}:\n{text}");
        Assert.Contains("0 problems", text);
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(dir => File.Exists(Path.Combine(dir, tool)));
}
