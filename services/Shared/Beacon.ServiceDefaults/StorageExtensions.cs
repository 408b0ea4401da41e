using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Beacon.ServiceDefaults;

public static class StorageExtensions
{
    /// <summary>
    /// Registers the service's own database. ConnectionStrings:Database picks the provider: a PostgreSQL
    /// connection string (Host=...) uses Npgsql; anything else, or nothing, is SQLite, by default a file
    /// named after the service under Beacon:DataDirectory (./.beacon/data).
    /// </summary>
    public static IHostApplicationBuilder AddServiceDatabase<TContext>(this IHostApplicationBuilder builder, string serviceName)
        where TContext : DbContext
    {
        var connectionString = ResolveConnectionString(builder.Configuration, serviceName);
        builder.Services.AddSingleton<OutboxSignal>();
        builder.Services.AddDbContext<TContext>((sp, options) =>
        {
            if (IsPostgres(connectionString))
            {
                options.UseNpgsql(connectionString);
            }
            else
            {
                options.UseSqlite(connectionString);
            }
            options.AddInterceptors(new OutboxSaveInterceptor(sp.GetRequiredService<OutboxSignal>()));
        });
        builder.Services.AddHealthChecks().AddDbContextCheck<TContext>(tags: [HostingExtensions.ReadyTag]);
        return builder;
    }

    public static string ResolveConnectionString(IConfiguration configuration, string serviceName)
    {
        var configured = configuration.GetConnectionString("Database");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }
        var dataDirectory = Path.GetFullPath(configuration["Beacon:DataDirectory"] ?? Path.Combine(".beacon", "data"));
        Directory.CreateDirectory(dataDirectory);
        return $"Data Source={Path.Combine(dataDirectory, serviceName + ".db")}";
    }

    public static bool IsPostgres(string connectionString) =>
        connectionString.Contains("Host=", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Creates the schema if it is missing. The skeleton uses EnsureCreated (one schema, two providers);
    /// migrations come when a schema first has to change under live data.
    /// </summary>
    public static async Task InitializeDatabaseAsync<TContext>(this WebApplication app)
        where TContext : DbContext
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        await db.Database.EnsureCreatedAsync();
        if (db.Database.IsSqlite())
        {
            // WAL lets readers work while the single writer commits.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
        }
    }
}
