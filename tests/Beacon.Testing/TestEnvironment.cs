namespace Beacon.Testing;

/// <summary>Where the real servers the tests use are. .ci/run starts both; see README "Tests".</summary>
public static class TestEnvironment
{
    public static string RabbitMq =>
        Environment.GetEnvironmentVariable("BEACON_TEST_RABBITMQ") is { Length: > 0 } uri ? uri : "amqp://guest:guest@127.0.0.1:5672/";

    /// <summary>PostgreSQL connection string, or null. In CI (CI=true) its absence is a failure, not a skip.</summary>
    public static string? Postgres
    {
        get
        {
            var cs = Environment.GetEnvironmentVariable("BEACON_TEST_POSTGRES");
            if (string.IsNullOrWhiteSpace(cs) && string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException("CI=true but BEACON_TEST_POSTGRES is not set: .ci/run must start PostgreSQL.");
            }
            return string.IsNullOrWhiteSpace(cs) ? null : cs;
        }
    }

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
