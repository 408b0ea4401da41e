using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;

namespace Beacon.Testing;

/// <summary>
/// Hosts one service in memory against the real RabbitMQ and its own fresh database (a temp SQLite
/// file unless a connection string is given). Queues get a unique prefix and auto-delete, and exchanges a
/// prefix of the factory's <see cref="BusScope"/>, so a service hears only the events of its own test: on one
/// virtual host, without it, every test's service received every other test's events (a district-wide
/// calendar published by one test closed the school days another test counted).
/// </summary>
public class ServiceFactory<TProgram> : WebApplicationFactory<TProgram>
    where TProgram : class
{
    /// <summary>A database connection string; null means a fresh SQLite file.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>Extra configuration for the service under test.</summary>
    public Dictionary<string, string?> Settings { get; init; } = [];

    /// <summary>
    /// Named HTTP/gRPC clients of the service sent to an in-memory handler instead of a port, for example
    /// <c>["RosterClient"] = () =&gt; ingestion.Server.CreateHandler()</c> to answer with a real Ingestion.
    /// </summary>
    public Dictionary<string, Func<HttpMessageHandler>> ClientHandlers { get; init; } = [];

    public string DataDirectory { get; } = TestEnvironment.NewTempDirectory(typeof(TProgram).Assembly.GetName().Name!.ToLowerInvariant());
    public string QueuePrefix { get; } = $"test-{Guid.NewGuid():N}"[..13];

    /// <summary>
    /// The exchanges this service publishes to and hears from: unique per factory. Services of one test that
    /// exchange events share it (<c>BusScope = other.BusScope</c>); a test reading the broker directly uses it too.
    /// </summary>
    public string BusScope { get; init; } = $"t{Guid.NewGuid():N}"[..11];

    /// <summary>What the service logged at level Error and above.</summary>
    public ErrorLog ErrorLog { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("ConnectionStrings:RabbitMQ", TestEnvironment.RabbitMq);
        builder.UseSetting("Beacon:DataDirectory", DataDirectory);
        builder.UseSetting("Bus:QueuePrefix", QueuePrefix);
        builder.UseSetting("Bus:TemporaryQueues", "true");
        builder.UseSetting("Bus:ExchangePrefix", BusScope);
        builder.UseSetting("Auth:SigningKey", TestTokens.SigningKey);
        if (ConnectionString is not null)
        {
            builder.UseSetting("ConnectionStrings:Database", ConnectionString);
        }
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }
        builder.ConfigureServices(services =>
        {
            services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(ErrorLog);
            foreach (var (client, handler) in ClientHandlers)
            {
                services.Configure<HttpClientFactoryOptions>(client, o => o.HttpMessageHandlerBuilderActions.Add(b => b.PrimaryHandler = handler()));
            }
            ConfigureTestServices(services);
        });
    }

    protected virtual void ConfigureTestServices(IServiceCollection services)
    {
    }

    /// <summary>Clients act as an administrator unless a test sets another token (<see cref="TestTokens.WithToken"/>).</summary>
    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        client.WithToken(TestTokens.Administrator);
    }

    private readonly SemaphoreSlim _seedLock = new(1, 1);
    private object? _seed;
    private bool _seeded;

    /// <summary>
    /// Runs a test class's seed once per factory, after the service is ready (a health probe or a
    /// publish before the bus is up would fail the first test), and returns what the seed returned.
    /// </summary>
    public async Task<T> SeedOnceAsync<T>(Func<Task<T>> seed)
    {
        await _seedLock.WaitAsync();
        try
        {
            if (!_seeded)
            {
                await this.WaitUntilReadyAsync();
                _seed = await seed();
                _seeded = true;
            }
            return (T)_seed!;
        }
        finally
        {
            _seedLock.Release();
        }
    }

    public Task SeedOnceAsync(Func<Task> seed) => SeedOnceAsync(async () =>
    {
        await seed();
        return true;
    });

    /// <summary>A client with no token, or with the given one.</summary>
    public HttpClient CreateClientAs(string? token) => CreateClient().WithToken(token);

    /// <summary>Runs work against the service's own DbContext.</summary>
    public async Task<T> WithDbAsync<TContext, T>(Func<TContext, Task<T>> work)
        where TContext : notnull
    {
        await using var scope = Services.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<TContext>());
    }
}

public static class ServiceFactoryExtensions
{
    /// <summary>Waits for /healthz/ready (database and bus up, queues bound) so published messages are not lost.</summary>
    public static async Task WaitUntilReadyAsync<TProgram>(this WebApplicationFactory<TProgram> factory, TimeSpan? timeout = null)
        where TProgram : class
    {
        using var client = factory.CreateClient();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            using var response = await client.GetAsync("/healthz/ready");
            if (response.IsSuccessStatusCode)
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{typeof(TProgram).Assembly.GetName().Name} was not ready: {await response.Content.ReadAsStringAsync()}");
            }
            await Task.Delay(100);
        }
    }
}
