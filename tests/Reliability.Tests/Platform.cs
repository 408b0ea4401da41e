using Beacon.ServiceDefaults;
using Beacon.Testing;

namespace Beacon.Reliability.Tests;

/// <summary>
/// The five services and the gateway as separate real processes on free loopback ports, wired exactly as
/// ./beacon up wires them (same --Key=Value arguments), each of which the test can kill and restart on
/// its own. Durable queues (no prefix, no auto-delete): the broker is the test's private node.
/// </summary>
public sealed class Platform : IAsyncDisposable
{
#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif

    public static readonly string[] ServiceNames = ["Ingestion", "Mastery", "EarlyWarning", "Interventions", "Notifications"];

    private readonly Dictionary<string, ServiceProcess> _processes = [];
    private readonly int _port;
    private readonly string _root;

    public string DataDirectory { get; }
    public string Broker { get; }

    /// <summary>Where the five services keep their data (the gateway's audit log stays a SQLite file).</summary>
    public ServiceStores Stores { get; }
    public Uri Gateway => new($"http://127.0.0.1:{_port}");
    public IReadOnlyDictionary<string, ServiceProcess> Processes => _processes;
    public ServiceProcess this[string name] => _processes[name];

    private Platform(string broker, string dataDirectory, ServiceStores stores, int port, IEnumerable<string> gatewayOptions)
    {
        Broker = broker;
        DataDirectory = dataDirectory;
        Stores = stores;
        _port = port;
        _root = TestEnvironment.RepositoryRoot();
        Directory.CreateDirectory(Path.Combine(dataDirectory, "db"));
        Directory.CreateDirectory(Path.Combine(dataDirectory, "logs"));

        // As ./beacon up: every process reads its ports and its peers' from topology.json, all shifted by one offset.
        var topology = Topology.Load(Path.Combine(_root, Topology.FileName));
        var offset = port - topology.Components["gateway"].Http;
        var gatewayArgs = new List<string> { $"--Topology:PortOffset={offset}", "--Auth:DevIssuer:Enabled=true", $"--Auth:SigningKey={_signingKey}" };
        gatewayArgs.AddRange(gatewayOptions);
        foreach (var name in ServiceNames)
        {
            var args = new List<string>(Common) { $"--Topology:PortOffset={offset}" };
            args.AddRange(stores.ArgumentsFor(name));
            var (_, component) = topology.Find(name) ?? throw new InvalidOperationException($"topology.json has no component built from {name}.");
            Add(name, Path.Combine(_root, Path.GetDirectoryName(component.Project)!, "bin", Configuration, "net10.0"), component.Http + offset, args);
        }
        Add("Gateway", Path.Combine(_root, "gateway", "bin", Configuration, "net10.0"), port, gatewayArgs);
    }

    /// <summary>Every process validates tokens signed with this key (as ./beacon up does with its per-folder key).</summary>
    private readonly string _signingKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    private IEnumerable<string> Common =>
    [
        $"--ConnectionStrings:RabbitMQ={Broker}",
        $"--Beacon:DataDirectory={Path.Combine(DataDirectory, "db")}",
        $"--Auth:SigningKey={_signingKey}",
    ];

    private void Add(string name, string directory, int http, IEnumerable<string> args) =>
        _processes[name] = new ServiceProcess(name, directory, name + ".dll", new Uri($"http://127.0.0.1:{http}"),
            Path.Combine(DataDirectory, "logs", name + ".log"), args);

    /// <summary>Starts all six, the services on SQLite files under the data directory.</summary>
    public static Task<Platform> StartAsync(string broker, string dataDirectory, TimeSpan timeout, params string[] gatewayOptions) =>
        StartAsync(broker, dataDirectory, new SqliteStores(dataDirectory), timeout, gatewayOptions);

    /// <summary>Starts all six; if one cannot bind its port (taken between our check and its start), tries another range.</summary>
    public static async Task<Platform> StartAsync(string broker, string dataDirectory, ServiceStores stores, TimeSpan timeout, params string[] gatewayOptions)
    {
        for (var attempt = 1; ; attempt++)
        {
            var platform = new Platform(broker, dataDirectory, stores, Ports.FreePlatformBase(410, 480), gatewayOptions);
            foreach (var process in platform._processes.Values)
            {
                process.Start();
            }
            try
            {
                await Task.WhenAll(platform._processes.Values.Select(p => p.WaitReadyAsync(timeout)));
                return platform;
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await platform.DisposeAsync();
            }
            catch
            {
                await platform.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>From its next start, the (stopped) service uses a fresh store holding only <paramref name="keepTables"/> of its current one.</summary>
    public async Task UseFreshStoreAsync(string service, params string[] keepTables)
    {
        foreach (var argument in await Stores.UseFreshAsync(service, keepTables))
        {
            _processes[service].Override(argument);
        }
    }

    public string Logs(int lines) =>
        string.Join('\n', _processes.Values.Select(p => $"--- {p.Name}\n{p.Tail(lines)}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes.Values)
        {
            await process.DisposeAsync();
        }
    }
}
