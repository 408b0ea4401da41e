using System.Globalization;
using System.Linq.Expressions;
using System.Xml;
using Beacon.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Beacon.Governance;

/// <summary>
/// One kind of data a service keeps for a limited time (Retention:&lt;Kind&gt;, an ISO 8601 duration such as
/// P3Y or P90D; unset keeps it forever). The service supplies the purge: delete what is older than the cutoff.
/// </summary>
public sealed record RetentionRule(string Kind, Func<IServiceProvider, DateTimeOffset, CancellationToken, Task<int>> PurgeAsync);

/// <summary>What one kind's purge did: its period (null = kept forever), the cutoff and the rows deleted.</summary>
public sealed record RetentionOutcome(string Kind, string? Period, DateTimeOffset? Cutoff, int Deleted);

public sealed record RetentionRunResult(DateTimeOffset RanAt, IReadOnlyList<RetentionOutcome> Kinds);

public static class RetentionPeriods
{
    public const string Section = "Retention";

    /// <summary>Keys of the Retention section that are settings, not kinds of data.</summary>
    public static readonly IReadOnlySet<string> Settings = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "Interval", "Enabled" };

    /// <summary>An ISO 8601 duration (P3Y, P18M, P90D, PT6H; a year is 365 days, a month 30, as XmlConvert reads them), or null when unset.</summary>
    public static TimeSpan? Parse(IConfiguration configuration, string key)
    {
        var text = configuration[$"{Section}:{key}"];
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        TimeSpan period;
        try
        {
            period = XmlConvert.ToTimeSpan(text.Trim());
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{Section}:{key} = '{text}' is not an ISO 8601 duration (for example P3Y, P90D, PT6H).");
        }
        return period > TimeSpan.Zero
            ? period
            : throw new InvalidOperationException($"{Section}:{key} = '{text}' must be longer than zero (leave it unset to keep the data forever).");
    }
}

/// <summary>Each rule's configured period, parsed once at start (where a bad one already stopped the service).</summary>
public sealed record RetentionSchedule(IReadOnlyDictionary<string, (TimeSpan? Period, string? Text)> Periods)
{
    public static RetentionSchedule From(IConfiguration configuration, IEnumerable<RetentionRule> rules) =>
        new(rules.ToDictionary(r => r.Kind, r => (RetentionPeriods.Parse(configuration, r.Kind), configuration[$"{RetentionPeriods.Section}:{r.Kind}"]?.Trim()),
            StringComparer.OrdinalIgnoreCase));
}

/// <summary>Runs every rule once; one run at a time (the schedule and the on-demand trigger share it).</summary>
public sealed class RetentionRunner(IServiceScopeFactory scopes, RetentionSchedule schedule, IEnumerable<RetentionRule> rules, TimeProvider clock,
    ILogger<RetentionRunner> logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public IReadOnlyList<RetentionRule> Rules { get; } = rules.ToList();

    public async Task<RetentionRunResult> RunAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var now = clock.GetUtcNow();
            var outcomes = new List<RetentionOutcome>();
            foreach (var rule in Rules)
            {
                var (period, text) = schedule.Periods[rule.Kind];
                if (period is null)
                {
                    outcomes.Add(new RetentionOutcome(rule.Kind, null, null, 0));
                    continue;
                }
                var cutoff = now - period.Value;
                await using var scope = scopes.CreateAsyncScope();
                var deleted = await rule.PurgeAsync(scope.ServiceProvider, cutoff, ct);
                logger.LogInformation("Retention {Kind}: deleted {Deleted} row(s) older than {Cutoff:O} ({Period})", rule.Kind, deleted, cutoff, text);
                outcomes.Add(new RetentionOutcome(rule.Kind, text, cutoff, deleted));
            }
            return new RetentionRunResult(now, outcomes);
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>The scheduled purge: every Retention:Interval (default PT6H), first one interval after start; Retention:Enabled=false stops it.</summary>
public sealed class RetentionService(RetentionRunner runner, IConfiguration configuration, ILogger<RetentionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!configuration.GetValue($"{RetentionPeriods.Section}:Enabled", true))
        {
            return;
        }
        var interval = RetentionPeriods.Parse(configuration, "Interval") ?? TimeSpan.FromHours(6);
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await runner.RunAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A failed purge deletes nothing it should keep; the next tick tries again.
                    logger.LogError(ex, "Retention purge failed; retrying at the next interval");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

public static class RetentionExtensions
{
    /// <summary>
    /// Registers the service's retention rules, the scheduled purge and the runner. A Retention key that is
    /// not one of the rules' kinds, or a period that does not parse, stops the start with the key named.
    /// </summary>
    public static IHostApplicationBuilder AddRetention(this IHostApplicationBuilder builder, params RetentionRule[] rules)
    {
        var kinds = rules.Select(r => r.Kind).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var setting in builder.Configuration.GetSection(RetentionPeriods.Section).GetChildren())
        {
            if (!kinds.Contains(setting.Key) && !RetentionPeriods.Settings.Contains(setting.Key))
            {
                throw new InvalidOperationException(
                    $"{RetentionPeriods.Section}:{setting.Key} is not a kind of data this service keeps; use {string.Join(", ", kinds.Order())}.");
            }
            if (setting.Key.Equals("Interval", StringComparison.OrdinalIgnoreCase))
            {
                RetentionPeriods.Parse(builder.Configuration, setting.Key);
            }
        }
        foreach (var rule in rules)
        {
            builder.Services.AddSingleton(rule);
        }
        // Parses each kind's period (a bad one stops the start here); runs reuse them.
        builder.Services.AddSingleton(RetentionSchedule.From(builder.Configuration, rules));
        builder.Services.AddSingleton<RetentionRunner>();
        builder.Services.AddHostedService<RetentionService>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>POST {apiPrefix}/retention/run (administrators): purge now and answer the counts per kind.</summary>
    public static RouteHandlerBuilder MapRetentionEndpoint(this IEndpointRouteBuilder app, string apiPrefix) =>
        app.MapPost($"{apiPrefix}/retention/run", async (RetentionRunner runner, CancellationToken ct) => Results.Ok(await runner.RunAsync(ct)))
            .RequireAuthorization(Policies.Administrators);

    /// <summary>
    /// Deletes the rows of <typeparamref name="TEntity"/> whose date column is before the cutoff, in batches
    /// (1000 rows per statement by default) so a large purge never holds one long write lock.
    /// Raw SQL because EF Core will not compare DateTimeOffset on SQLite; there it compares EF's stored text
    /// (UTC values, so the order is right; a value stored with another offset is off by at most that offset).
    /// </summary>
    public static async Task<int> DeleteOlderThanAsync<TEntity>(this DbContext db, Expression<Func<TEntity, object?>> column, DateTimeOffset cutoff,
        CancellationToken ct, int batchSize = 1000)
        where TEntity : class
    {
        var member = (column.Body is UnaryExpression { Operand: MemberExpression inner } ? inner : column.Body as MemberExpression)
            ?? throw new ArgumentException("Pass a property, e.g. x => x.RecordedAt.", nameof(column));
        var entity = db.Model.FindEntityType(typeof(TEntity)) ?? throw new InvalidOperationException($"{typeof(TEntity).Name} is not in the model.");
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var property = entity.FindProperty(member.Member.Name)!;
        var columnName = property.GetColumnName(table)!;
        var type = Nullable.GetUnderlyingType(property.ClrType) ?? property.ClrType;
        var sqlite = db.Database.IsSqlite();
        object value = (type, sqlite) switch
        {
            _ when type == typeof(DateOnly) && sqlite => DateOnly.FromDateTime(cutoff.UtcDateTime).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            _ when type == typeof(DateOnly) => DateOnly.FromDateTime(cutoff.UtcDateTime),
            _ when type == typeof(DateTimeOffset) && sqlite => cutoff.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss.FFFFFFFzzz", CultureInfo.InvariantCulture),
            _ when type == typeof(DateTimeOffset) => cutoff.ToUniversalTime(),
            _ => throw new InvalidOperationException($"{typeof(TEntity).Name}.{member.Member.Name} is not a DateOnly or DateTimeOffset."),
        };
        var quotedTable = table.Schema is null ? $"\"{table.Name}\"" : $"\"{table.Schema}\".\"{table.Name}\"";
        var rowId = sqlite ? "rowid" : "ctid";
        var sql = $"DELETE FROM {quotedTable} WHERE {rowId} IN (SELECT {rowId} FROM {quotedTable} WHERE \"{columnName}\" < {{0}} LIMIT {batchSize})";
        var total = 0;
        while (true)
        {
            var deleted = await db.Database.ExecuteSqlRawAsync(sql, [value], ct);
            total += deleted;
            if (deleted < batchSize)
            {
                return total;
            }
        }
    }
}
