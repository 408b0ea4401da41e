using System.Data.Common;
using Beacon.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Beacon.Reliability.Tests;

/// <summary>
/// Where each service of the test platform keeps its data, and what the test does to it: read it (without holding a
/// lock), make it unavailable for a while, give the service a fresh one for the clean replay. A SQLite file per service
/// (the default, as <c>./beacon up</c> runs) or a PostgreSQL database per service (as a district runs on Kubernetes).
/// </summary>
public abstract class ServiceStores : IAsyncDisposable
{
    /// <summary>The service's arguments that point it at its store.</summary>
    public abstract IEnumerable<string> ArgumentsFor(string service);

    /// <summary>An open connection to the service's current store, without pooling (read-only on SQLite).</summary>
    public abstract DbConnection OpenForReading(string service);

    /// <summary>Nobody else can use the service's store for <paramref name="duration"/>.</summary>
    public abstract Task MakeUnavailableAsync(string service, TimeSpan duration);

    /// <summary>
    /// A fresh store for a stopped service, holding only the rows of <paramref name="keepTables"/> copied from its current
    /// one (configuration, not projections); returns the arguments that point the service at it from its next start.
    /// </summary>
    public abstract Task<IEnumerable<string>> UseFreshAsync(string service, params string[] keepTables);

    public abstract string Describe(string service);

    /// <summary>The query that lists a store's tables, by name.</summary>
    protected abstract string TablesQuery { get; }

    /// <summary>The names of the tables in a store.</summary>
    public List<string> Tables(DbConnection db)
    {
        using var list = db.CreateCommand();
        list.CommandText = TablesQuery;
        using var reader = list.ExecuteReader();
        var tables = new List<string>();
        while (reader.Read())
        {
            tables.Add(reader.GetString(0));
        }
        return tables;
    }

    /// <summary>Empties every table of a store but <paramref name="keepTables"/>.</summary>
    protected void EmptyAllBut(DbConnection db, string[] keepTables)
    {
        foreach (var table in Tables(db).Except(keepTables))
        {
            using var delete = db.CreateCommand();
            delete.CommandText = $"DELETE FROM \"{table}\"";
            delete.ExecuteNonQuery();
        }
    }

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    protected static string FileName(string service) => service.ToLowerInvariant();
}

/// <summary>A SQLite file per service under one folder (as StorageExtensions names them).</summary>
public sealed class SqliteStores(string dataDirectory) : ServiceStores
{
    private readonly Dictionary<string, string> _folders = [];

    private string Folder(string service) => _folders.GetValueOrDefault(service) ?? Path.Combine(dataDirectory, "db");

    public string File(string service) => Path.Combine(Folder(service), FileName(service) + ".db");

    public override IEnumerable<string> ArgumentsFor(string service) => [$"--Beacon:DataDirectory={Folder(service)}"];

    public override DbConnection OpenForReading(string service)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = File(service), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public override async Task MakeUnavailableAsync(string service, TimeSpan duration)
    {
        // EXCLUSIVE in WAL mode: no other connection may write until we let go (readers still read the last commit).
        await using (await SqliteLock.HoldAsync(File(service)))
        {
            await Task.Delay(duration);
        }
    }

    public override Task<IEnumerable<string>> UseFreshAsync(string service, params string[] keepTables)
    {
        var source = File(service);
        var folder = Path.Combine(dataDirectory, "rebuild");
        Directory.CreateDirectory(folder);
        _folders[service] = folder;
        if (keepTables.Length > 0)
        {
            using var db = new SqliteConnection($"Data Source={File(service)};Pooling=False");
            db.Open();
            using (var from = new SqliteConnection($"Data Source={source};Mode=ReadOnly;Pooling=False"))
            {
                // The backup API, not a file copy: it includes what is still in the write-ahead log.
                from.Open();
                from.BackupDatabase(db);
            }
            EmptyAllBut(db, keepTables);
            // Files beside the database (Early warning's model files) go along.
            var files = Path.Combine(Path.GetDirectoryName(source)!, "models");
            if (Directory.Exists(files))
            {
                Directory.CreateDirectory(Path.Combine(folder, "models"));
                foreach (var file in Directory.GetFiles(files))
                {
                    System.IO.File.Copy(file, Path.Combine(folder, "models", Path.GetFileName(file)), overwrite: true);
                }
            }
        }
        return Task.FromResult(ArgumentsFor(service));
    }

    public override string Describe(string service) => File(service);

    protected override string TablesQuery => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
}

/// <summary>
/// A PostgreSQL database per service on one server (its own names, dropped at the end). Unavailable means what a
/// failover or a restart of the server does to the service: its connections are cut and new ones refused.
/// </summary>
public sealed class PostgresStores(string server) : ServiceStores
{
    /// <summary>On the tests' PostgreSQL server, or null when none is set (BEACON_TEST_POSTGRES).</summary>
    public static PostgresStores? OnTestServer() => TestEnvironment.Postgres is { } server ? new PostgresStores(server) : null;

    private readonly string _run = $"beacon_fault_{Guid.NewGuid():N}"[..24];
    private readonly Dictionary<string, string> _databases = [];
    private readonly List<string> _created = [];

    private string Database(string service)
    {
        if (!_databases.TryGetValue(service, out var name))
        {
            _databases[service] = name = $"{_run}_{FileName(service)}";
            _created.Add(name);
        }
        return name;
    }

    private string ConnectionString(string database, bool pooling = true) =>
        new NpgsqlConnectionStringBuilder(server) { Database = database, Pooling = pooling }.ConnectionString;

    public override IEnumerable<string> ArgumentsFor(string service) => [$"--ConnectionStrings:Database={ConnectionString(Database(service))}"];

    public override DbConnection OpenForReading(string service)
    {
        var connection = new NpgsqlConnection(ConnectionString(Database(service), pooling: false));
        connection.Open();
        return connection;
    }

    public override async Task MakeUnavailableAsync(string service, TimeSpan duration)
    {
        await TestPostgres.RefuseConnectionsAsync(server, Database(service));
        await Task.Delay(duration);
        await TestPostgres.AllowConnectionsAsync(server, Database(service));
    }

    public override async Task<IEnumerable<string>> UseFreshAsync(string service, params string[] keepTables)
    {
        var source = Database(service);
        var fresh = $"{source}_r";
        _databases[service] = fresh;
        _created.Add(fresh);
        if (keepTables.Length == 0)
        {
            return ArgumentsFor(service);   // the service creates it at start
        }
        // A copy of the stopped service's database (nobody is connected to it), then emptied but for the kept tables.
        await TestPostgres.ExecuteAsync(server, $"CREATE DATABASE \"{fresh}\" TEMPLATE \"{source}\"");
        await using var db = OpenForReading(service);
        EmptyAllBut(db, keepTables);
        return ArgumentsFor(service);
    }

    public override string Describe(string service) => $"PostgreSQL database {Database(service)}";

    protected override string TablesQuery =>
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name";

    public override async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        foreach (var name in _created)
        {
            await TestPostgres.ExecuteAsync(server, $"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        }
    }
}
