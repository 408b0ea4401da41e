using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Beacon.Testing;

/// <summary>
/// A test class's service on SQLite or, in a subclass that sets <see cref="OnPostgres"/>, on a PostgreSQL database of its
/// own (dropped afterwards): there its tests skip unless BEACON_TEST_POSTGRES is set (./beacon test sets it). Test methods
/// are [SkippableFact] and start with <see cref="SkipUnlessRunning"/>.
/// </summary>
public abstract class ServiceOnEitherDatabase<TProgram, TContext> : IAsyncLifetime
    where TProgram : class
    where TContext : DbContext
{
    private ServiceFactory<TProgram>? _service;

    /// <summary>True in the subclass that runs the same tests on PostgreSQL.</summary>
    protected virtual bool OnPostgres => false;

    /// <summary>The service's settings for these tests.</summary>
    protected abstract Dictionary<string, string?> Settings { get; }

    protected ServiceFactory<TProgram> Service => _service ?? throw new InvalidOperationException("Call SkipUnlessRunning() first.");

    public async Task InitializeAsync()
    {
        string? connectionString = null;
        if (OnPostgres)
        {
            if (TestEnvironment.Postgres is not { } server)
            {
                return;
            }
            connectionString = TestPostgres.NewDatabase(server);
        }
        _service = new ServiceFactory<TProgram> { ConnectionString = connectionString, Settings = Settings };
        await _service.WaitUntilReadyAsync();
        var provider = await _service.WithDbAsync<TContext, string?>(db => Task.FromResult(db.Database.ProviderName));
        Assert.Equal(OnPostgres ? "Npgsql.EntityFrameworkCore.PostgreSQL" : "Microsoft.EntityFrameworkCore.Sqlite", provider);
        await StartedAsync();
    }

    /// <summary>What the tests need of the started service before they run (a trained model, say).</summary>
    protected virtual Task StartedAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        if (_service is null)
        {
            return;
        }
        if (OnPostgres)
        {
            await _service.WithDbAsync<TContext, bool>(db => db.Database.EnsureDeletedAsync());
        }
        await _service.DisposeAsync();
    }

    /// <summary>First line of every test: on PostgreSQL without BEACON_TEST_POSTGRES the test skips.</summary>
    protected void SkipUnlessRunning() =>
        Skip.If(_service is null, "BEACON_TEST_POSTGRES is not set (a PostgreSQL connection string); ./beacon test sets it.");
}
