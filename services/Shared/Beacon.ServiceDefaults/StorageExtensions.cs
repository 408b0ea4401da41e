using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
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
        // Interceptors registered by the other shared libraries (the outbox's, from Beacon.Messaging) join every context.
        builder.Services.AddDbContext<TContext>((sp, options) => options.UseServiceDatabase(connectionString)
            .AddInterceptors(sp.GetServices<IInterceptor>()));
        builder.Services.AddHealthChecks().AddDbContextCheck<TContext>(tags: [HostingExtensions.ReadyTag]);
        return builder;
    }

    /// <summary>The provider a connection string picks (see <see cref="AddServiceDatabase{TContext}"/>), with what it needs on PostgreSQL.</summary>
    public static DbContextOptionsBuilder UseServiceDatabase(this DbContextOptionsBuilder options, string connectionString) =>
        IsPostgres(connectionString)
            ? options.UseNpgsql(connectionString).AddInterceptors(new PostgresTextInterceptor(), UnitOfWork.CommitOnSave.Instance)
            : options.UseSqlite(connectionString).AddInterceptors(SqliteBusyTimeout.Instance, UnitOfWork.CommitOnSave.Instance);

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
    /// migrations come when a schema first has to change under live data. Until then a database made by an
    /// earlier version gets the tables, indexes and columns added since (a new column needs a default value in
    /// the model, or to be nullable); a changed column is never altered.
    /// </summary>
    public static async Task InitializeDatabaseAsync<TContext>(this WebApplication app)
        where TContext : DbContext
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        if (!await db.Database.EnsureCreatedAsync())
        {
            await AddMissingTablesAsync(db);
            await AddMissingColumnsAsync(db);
        }
        if (db.Database.IsSqlite())
        {
            // WAL lets readers work while the single writer commits.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
        }
    }

    private static async Task AddMissingColumnsAsync(DbContext db)
    {
        var sql = db.GetService<ISqlGenerationHelper>();
        // One look per table: an owned type shares its owner's table.
        foreach (var tableTypes in db.Model.GetEntityTypes().Where(e => e.GetTableName() is not null).GroupBy(e => (Table: e.GetTableName()!, Schema: e.GetSchema())))
        {
            var (table, schema) = tableTypes.Key;
            var store = StoreObjectIdentifier.Table(table, schema);
#pragma warning disable EF1002 // names and literals come from this model, not from input
            var existing = (await db.Database.SqlQueryRaw<string>(db.Database.IsSqlite()
                    ? $"SELECT name AS \"Value\" FROM pragma_table_info('{table}')"
                    : $"SELECT column_name AS \"Value\" FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{table}'")
                .ToListAsync()).ToHashSet(StringComparer.Ordinal);
            foreach (var property in tableTypes.SelectMany(e => e.GetProperties()))
            {
                if (property.GetColumnName(store) is not { } column || !existing.Add(column))
                {
                    continue;
                }
                var defaultValue = property.GetDefaultValue();
                if (defaultValue is null && !property.IsColumnNullable(store))
                {
                    throw new InvalidOperationException(
                        $"The database's table {table} has no column {column}, and the model gives it no default value to add it with: it needs a migration.");
                }
                var definition = property.GetColumnType(store) + (property.IsColumnNullable(store) ? "" : " NOT NULL")
                    + (defaultValue is null ? "" : " DEFAULT " + property.GetRelationalTypeMapping().GenerateSqlLiteral(defaultValue));
                await db.Database.ExecuteSqlRawAsync(
                    $"ALTER TABLE {sql.DelimitIdentifier(table, schema)} ADD COLUMN {sql.DelimitIdentifier(column)} {definition}");
            }
#pragma warning restore EF1002
        }
    }

    private static async Task AddMissingTablesAsync(DbContext db)
    {
        var script = db.Database.GenerateCreateScript();
        foreach (var statement in script.Split(";", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var idempotent = statement
                .Replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", StringComparison.Ordinal)
                .Replace("CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX IF NOT EXISTS ", StringComparison.Ordinal)
                .Replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", StringComparison.Ordinal);
            if (idempotent.StartsWith("CREATE ", StringComparison.Ordinal))
            {
#pragma warning disable EF1002 // the statements come from EF's own script for this model, not from input
                await db.Database.ExecuteSqlRawAsync(idempotent);
#pragma warning restore EF1002
            }
        }
    }
}
