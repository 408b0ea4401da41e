namespace Beacon.Testing;

/// <summary>Where the real servers and data the tests use are. ./beacon test starts both servers; see README "Run it".</summary>
public static class TestEnvironment
{
    public static string RabbitMq =>
        Environment.GetEnvironmentVariable("BEACON_TEST_RABBITMQ") is { Length: > 0 } uri ? uri : "amqp://guest:guest@127.0.0.1:5672/";

    /// <summary>
    /// The test broker's URI on a virtual host of its own, created for the caller: MassTransit's exchanges are named
    /// by message type, so two platforms on one virtual host receive each other's events whatever their queue
    /// prefixes (./beacon test runs two test projects at once). Needs the node ./beacon test started
    /// (BEACON_TEST_RABBITMQ_NODE) and its rabbitmqctl; a broker named by the caller alone stays shared.
    /// </summary>
    public static string RabbitMqVirtualHost(string name)
    {
        var node = Environment.GetEnvironmentVariable("BEACON_TEST_RABBITMQ_NODE");
        if (string.IsNullOrEmpty(node))
        {
            return RabbitMq;
        }
        Rabbitmqctl(node, "add_vhost", name);
        Rabbitmqctl(node, "set_permissions", "-p", name, "guest", ".*", ".*", ".*");
        return new UriBuilder(RabbitMq) { Path = "/" + name }.Uri.ToString();
    }

    private static void Rabbitmqctl(string node, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo("/usr/lib/rabbitmq/bin/rabbitmqctl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "-n", node }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', args)} failed ({process.ExitCode}): {output.Result}{error}");
        }
    }

    /// <summary>
    /// True when a missing prerequisite must fail the test instead of skipping it: in CI (CI=true) and under
    /// ./beacon test (BEACON_TEST_STRICT=1), which installs and starts everything the tests need.
    /// </summary>
    public static bool Strict =>
        IsTrue("CI") || IsTrue("BEACON_TEST_STRICT");

    /// <summary>PostgreSQL connection string, or null. Under <see cref="Strict"/> its absence is a failure, not a skip.</summary>
    public static string? Postgres
    {
        get
        {
            var cs = Environment.GetEnvironmentVariable("BEACON_TEST_POSTGRES");
            if (string.IsNullOrWhiteSpace(cs))
            {
                Missing("BEACON_TEST_POSTGRES is not set (./beacon test starts a PostgreSQL and sets it)");
                return null;
            }
            return cs;
        }
    }

    /// <summary>
    /// Says why a test cannot run here: under <see cref="Strict"/> by throwing (a failure), otherwise by returning
    /// the reason for a skip. Use it as <c>Skip.If(TestEnvironment.Missing(...) is { } why, why)</c>.
    /// </summary>
    public static string Missing(string why) =>
        Strict ? throw new InvalidOperationException($"{why}. Under ./beacon test or CI nothing may be skipped.") : why;

    /// <summary>
    /// A public data set's folder (the one holding <paramref name="marker"/>), or null with the reason in
    /// <paramref name="why"/>. Looked up in <paramref name="variable"/>, then in BEACON_SHARED_DATA/&lt;name&gt;, then in
    /// shared/data/&lt;name&gt; beside the clone (as in development and CI). The product never reads these; in CI
    /// (CI=true) their absence is a failure, elsewhere the evaluation tests skip.
    /// </summary>
    public static string? SharedData(string name, string marker, string variable, out string why)
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } configured)
        {
            candidates.Add(configured);
        }
        if (Environment.GetEnvironmentVariable("BEACON_SHARED_DATA") is { Length: > 0 } shared)
        {
            candidates.Add(Path.Combine(shared, name));
        }
        for (var dir = new DirectoryInfo(RepositoryRoot()); dir is not null; dir = dir.Parent)
        {
            candidates.Add(Path.Combine(dir.FullName, "shared", "data", name));
        }
        if (candidates.FirstOrDefault(c => File.Exists(Path.Combine(c, marker))) is { } found)
        {
            why = "";
            return found;
        }
        why = $"{name} not found ({marker} in ${variable}, $BEACON_SHARED_DATA/{name} or shared/data/{name} beside the clone; see its SOURCE.md)";
        if (IsTrue("CI"))
        {
            throw new InvalidOperationException($"CI=true but {why}.");
        }
        return null;
    }

    private static bool IsTrue(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { } value
        && (value == "1" || string.Equals(value, "true", StringComparison.OrdinalIgnoreCase));

    /// <summary>The folder holding Platform.sln, found above the test binaries.</summary>
    public static string RepositoryRoot()
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

    public static string NewTempDirectory(string purpose)
    {
        var dir = Path.Combine(Path.GetTempPath(), "beacon-tests", $"{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}

public static class Eventually
{
    /// <summary>Polls until the condition holds or the time is up; returns the last value for the assertion.</summary>
    public static async Task<T> WaitAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await probe();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }
            await Task.Delay(100);
        }
    }
}
