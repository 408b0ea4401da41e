using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Hosting;

namespace Beacon.ServiceDefaults;

/// <summary>
/// The platform's topology, declared once in <c>topology.json</c> at the repository root (copied next to every
/// process): each component, its HTTP/1.1 and HTTP/2 (gRPC) ports on one machine and the components it calls.
/// </summary>
public sealed record Topology(IReadOnlyDictionary<string, TopologyComponent> Components)
{
    public const string FileName = "topology.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Topology Load(string path) =>
        JsonSerializer.Deserialize<Topology>(File.ReadAllText(path), Json)
        ?? throw new InvalidOperationException($"{path} holds no topology.");

    /// <summary>The component built from the project whose assembly is <paramref name="applicationName"/>.</summary>
    public (string Name, TopologyComponent Component)? Find(string applicationName) =>
        Components.Where(c => Path.GetFileNameWithoutExtension(c.Value.Project) == applicationName)
            .Select(c => ((string, TopologyComponent)?)(c.Key, c.Value)).FirstOrDefault();

    /// <summary>The address other processes resolve by name for a component's gRPC endpoint (service discovery).</summary>
    public static Uri GrpcAddress(string component) => new($"http://_grpc.{component}");

    /// <summary>The address other processes resolve by name for a component's HTTP/1.1 endpoint.</summary>
    public static Uri HttpAddress(string component) => new($"http://{component}");
}

public sealed record TopologyComponent(string Project, int Http, int Grpc, IReadOnlyList<string>? Calls);

public static class TopologyExtensions
{
    /// <summary>
    /// Defaults from the topology, below every other configuration source (appsettings, environment, command line
    /// win): where this process listens (<c>Kestrel:Endpoints:Http:Url</c>, <c>...:Grpc:Url</c>) and where each
    /// component it calls listens, as <c>services:&lt;name&gt;:http:0</c> and <c>services:&lt;name&gt;:grpc:0</c>, the keys
    /// Microsoft.Extensions.ServiceDiscovery's configuration provider reads. <c>Topology:PortOffset</c> shifts every
    /// port (side-by-side runs: ./beacon up --port, the tests' platforms); <c>Topology:Host</c> is the address
    /// (default 127.0.0.1). In Kubernetes the chart sets the same keys to the cluster's Service names.
    /// </summary>
    public static IHostApplicationBuilder AddTopology(this IHostApplicationBuilder builder)
    {
        var path = builder.Configuration["Topology:File"] ?? Path.Combine(AppContext.BaseDirectory, Topology.FileName);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"The topology file {path} is missing (it is copied next to every process from the repository root).");
        }
        var topology = Topology.Load(path);
        // A process the topology does not name (a tool) only reads it.
        if (topology.Find(builder.Environment.ApplicationName) is not { } found)
        {
            return builder;
        }
        var self = found.Component;
        var offset = builder.Configuration.GetValue("Topology:PortOffset", 0);
        var host = builder.Configuration["Topology:Host"] ?? "127.0.0.1";
        string Url(int port) => $"http://{host}:{port + offset}";
        var values = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Http:Url"] = Url(self.Http),
            ["Kestrel:Endpoints:Grpc:Url"] = Url(self.Grpc),
        };
        foreach (var name in self.Calls ?? [])
        {
            var callee = topology.Components.TryGetValue(name, out var c) ? c
                : throw new InvalidOperationException($"{path}: {builder.Environment.ApplicationName} calls '{name}', which is not a component.");
            values[$"services:{name}:http:0"] = Url(callee.Http);
            values[$"services:{name}:grpc:0"] = Url(callee.Grpc);
        }
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = values });
        return builder;
    }
}
