using System.Collections.Concurrent;
using System.Security.Cryptography;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Scoring;

/// <summary>
/// A model version's ML.NET zip, stored in Early warning's database beside its record (its own table, so listing the
/// registry never reads the bytes), with the SHA-256 it had when it was trained. Every replica reads it from here:
/// nothing about a model lives on a container's filesystem.
/// </summary>
public sealed class ModelArtifact
{
    public Guid ModelId { get; set; }
    public required byte[] Bytes { get; set; }
    /// <summary>Lower-case hex SHA-256 of <see cref="Bytes"/>; checked on every load.</summary>
    public required string Sha256 { get; set; }
    public long Size { get; set; }

    public static ModelArtifact For(Guid modelId, byte[] bytes) => new() { ModelId = modelId, Bytes = bytes, Sha256 = Hash(bytes), Size = bytes.Length };

    public static string Hash(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}

/// <summary>
/// Loaded models, one per version, read from the database on first use (a version's bytes never change, so it is loaded
/// once per process). A version whose stored bytes do not match their hash is refused, never served. A failed load is
/// not remembered: the next call tries again (the database may have been briefly away).
/// Records from before artifacts were stored in the database still name a file under <c>EarlyWarning:Models:Directory</c>
/// (default Beacon:DataDirectory/models): such a file is read once and copied into the database.
/// </summary>
public sealed class LoadedModels(IServiceScopeFactory scopes, IConfiguration configuration, IOptions<ModelOptions> options, ILogger<LoadedModels> logger)
{
    private readonly ConcurrentDictionary<Guid, Lazy<RiskModel>> _models = new();

    /// <summary>Where files of earlier versions were kept; only ever read.</summary>
    public string LegacyDirectory { get; } = Path.GetFullPath(options.Value.Directory
        ?? Path.Combine(configuration["Beacon:DataDirectory"] ?? Path.Combine(".beacon", "data"), "models"));

    public RiskModel Get(ModelVersionRecord record)
    {
        var lazy = _models.GetOrAdd(record.ModelId, _ => new Lazy<RiskModel>(() => Load(record)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            _models.TryRemove(KeyValuePair.Create(record.ModelId, lazy));
            throw;
        }
    }

    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _activationsHeard = new();

    /// <summary>True when the version is loaded in this process (the promotion event's consumer warms it).</summary>
    public bool IsLoaded(Guid modelId) => _models.TryGetValue(modelId, out var lazy) && lazy.IsValueCreated;

    /// <summary>When this process heard that the version became active (its ModelActivated event), if it did.</summary>
    public DateTimeOffset? ActivationHeard(Guid modelId) => _activationsHeard.TryGetValue(modelId, out var at) ? at : null;

    internal void HeardActivation(Guid modelId) => _activationsHeard[modelId] = DateTimeOffset.UtcNow;

    private RiskModel Load(ModelVersionRecord record)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<EarlyWarningDbContext>();
        var artifact = db.ModelArtifacts.AsNoTracking().SingleOrDefault(a => a.ModelId == record.ModelId) ?? ImportLegacyFile(db, record);
        if (!string.Equals(ModelArtifact.Hash(artifact.Bytes), artifact.Sha256, StringComparison.Ordinal))
        {
            throw new ModelRegistryException($"The stored bytes of {record.Kind} v{record.Version} ({record.ModelId}) do not match their SHA-256 "
                + $"{artifact.Sha256}: the version is not served. Train a new one or roll back.");
        }
        using var zip = new MemoryStream(artifact.Bytes, writable: false);
        // The card names the inputs the version was trained on (a history-trained one may read the previous year too).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var card = RiskModelFile.DeserializeCard(record.CardJson);
        var model = new RiskModel(zip, record.Kind, record.Threshold, card.FeatureNames, card.EarlyLine);
        var loaded = clock.Elapsed;
        model.Warm();
        logger.LogInformation("Loaded {Kind} v{Version} ({ModelId}, {Size} bytes, sha256 {Sha256}) from the database in {LoadMs:F0} ms, first predictions {WarmMs:F0} ms",
            record.Kind, record.Version, record.ModelId, artifact.Size, artifact.Sha256, loaded.TotalMilliseconds, (clock.Elapsed - loaded).TotalMilliseconds);
        return model;
    }

    private ModelArtifact ImportLegacyFile(EarlyWarningDbContext db, ModelVersionRecord record)
    {
        var path = Path.Combine(LegacyDirectory, Path.GetFileName(record.FileName));
        if (!File.Exists(path))
        {
            throw new ModelRegistryException($"{record.Kind} v{record.Version} ({record.ModelId}) has no stored artifact.");
        }
        var artifact = ModelArtifact.For(record.ModelId, File.ReadAllBytes(path));
        db.ModelArtifacts.Add(artifact);
        db.SaveChanges();
        logger.LogWarning("Copied the model file {Path} of {Kind} v{Version} into the database", path, record.Kind, record.Version);
        return artifact;
    }
}

/// <summary>
/// Every replica hears of a promotion or roll-back (a queue of its own per process, deleted when it stops) and loads the
/// newly active version before the first request needs it. Scoring reads the active version from the database on each
/// request, so a replica that misses the event still serves the right version; it only loads it on first use.
/// </summary>
public sealed class ModelActivatedConsumer(EarlyWarningDbContext db, LoadedModels models, ILogger<ModelActivatedConsumer> logger) : IConsumer<ModelActivated>
{
    public async Task Consume(ConsumeContext<ModelActivated> context)
    {
        var record = await db.Models.AsNoTracking().SingleOrDefaultAsync(m => m.ModelId == context.Message.ModelId, context.CancellationToken);
        if (record is null)
        {
            return; // another deployment's model on a shared broker
        }
        models.HeardActivation(record.ModelId);
        if (models.IsLoaded(record.ModelId))
        {
            return;
        }
        await Task.Run(() => models.Get(record), context.CancellationToken);
        logger.LogInformation("Warmed {Kind} v{Version} after its activation", record.Kind, record.Version);
    }
}
