using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Dropout;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Scoring;

public static class ModelStatus
{
    public const string Candidate = "candidate";
    public const string Active = "active";
    public const string Retired = "retired";
    public const string RolledBack = "rolled-back";
}

/// <summary>A request the registry cannot carry out, with the reason in plain words.</summary>
public sealed class ModelRegistryException(string message, bool notFound = false) : Exception(message)
{
    public bool NotFound { get; } = notFound;
}

/// <summary>Trains and registers model versions; promotes and rolls back. One active version per kind.</summary>
public sealed class ModelRegistry(EarlyWarningDbContext db, LoadedModels models, IOptions<ModelOptions> options, ILogger<ModelRegistry> logger, TimeProvider clock)
{
    public async Task<ModelVersionRecord> TrainAsync(string kind, int students, int seed, bool promote, CancellationToken ct)
    {
        if (students is < 0 || students > options.Value.MaximumTrainingStudents)
        {
            throw new ModelRegistryException($"students must be between 1 and {options.Value.MaximumTrainingStudents} (0 means 20000); got {students}.");
        }
        var (train, test, seedUsed) = (students == 0 ? 20_000 : students, Math.Max(500, (students == 0 ? 20_000 : students) / 2), seed == 0 ? 42 : seed);
        // Cold start for both kinds: synthetic students until the district has labelled history of its own.
        var data = kind switch
        {
            AttendanceFeatures.Kind => AttendanceSimulator.Dataset(train, test, seedUsed),
            // With the previous-year setting on, the dropout cold start reads last year too (unknown years included), so a model
            // trained later from the district's history has the same inputs.
            K12DropoutFeatures.Kind => K12DropoutSimulator.Dataset(train, test, seedUsed, options.Value.PriorYear),
            _ => throw new ModelRegistryException($"Unknown model kind '{kind}': use '{AttendanceFeatures.Kind}' or '{K12DropoutFeatures.Kind}' (the OULAD model is an offline benchmark: ./beacon eval oulad)."),
        };
        var record = await RegisterAsync(await TrainOnAsync(data, ct), ct);
        return promote ? await PromoteAsync(record.ModelId, ct) : record;
    }

    /// <summary>Trains every scorer on a data set (synthetic or the district's history) off the request thread.</summary>
    /// <param name="scoredAt">For training rows cut at several points of a student's year, the point the model is scored at (<see cref="TrainingOptions.ScoredAt"/>).</param>
    public Task<TrainingResult> TrainOnAsync(RiskDataset data, CancellationToken ct, int? scoredAt = null)
    {
        var progress = new Progress<string>(m => logger.LogInformation("Training {Kind}: {Progress}", data.Features.Kind, m));
        return Task.Run(() => new RiskModelTrainer(progress).Train(data, new TrainingOptions { Trees = options.Value.Trees, ScoredAt = scoredAt }), ct);
    }

    /// <summary>Saves the served model's file and registers it as a candidate, its card naming the data and the held-out figures.</summary>
    public async Task<ModelVersionRecord> RegisterAsync(TrainingResult result, CancellationToken ct)
    {
        var kind = result.Data.Features.Kind;
        var version = (await db.Models.Where(m => m.Kind == kind).MaxAsync(m => (int?)m.Version, ct) ?? 0) + 1;
        var id = Guid.NewGuid();
        // The model is data in this database (every replica reads it there), never a file in the container.
        var artifact = ModelArtifact.For(id, RiskModelFile.Serialize(result));
        var card = RiskModelFile.Card(result);
        var record = new ModelVersionRecord
        {
            ModelId = id,
            Kind = kind,
            Version = version,
            Algorithm = card.Algorithm,
            Status = ModelStatus.Candidate,
            Threshold = card.Threshold,
            DataSource = card.DataSource,
            TrainedAt = card.TrainedAt,
            FileName = $"{kind}-v{version}-{id:N}.zip",
            CardJson = RiskModelFile.SerializeCard(card),
        };
        db.Models.Add(record);
        db.ModelArtifacts.Add(artifact);
        await db.SaveChangesAsync(ct);
        logger.LogInformation("Registered {Kind} v{Version} ({ModelId}, {Size} bytes, sha256 {Sha256}); held-out AUC {Auc:F3}, rule baseline {Baseline:F3}",
            kind, version, id, artifact.Size, artifact.Sha256, result.Served.Report.Auc, result.Baseline.Auc);
        return record;
    }

    public async Task<ModelVersionRecord> PromoteAsync(Guid modelId, CancellationToken ct)
    {
        var record = await db.Models.FindAsync([modelId], ct) ?? throw new ModelRegistryException($"No model '{modelId}'.", notFound: true);
        if (record.Status == ModelStatus.Active)
        {
            return record;
        }
        models.Get(record);   // refuse to promote a file that does not load
        foreach (var active in await db.Models.Where(m => m.Kind == record.Kind && m.Status == ModelStatus.Active).ToListAsync(ct))
        {
            active.Status = ModelStatus.Retired;
        }
        record.Status = ModelStatus.Active;
        record.ActivatedAt = clock.GetUtcNow();
        db.Publish(new ModelActivated(record.ModelId, record.Kind, record.Version, record.ActivatedAt.Value));
        await db.SaveChangesAsync(ct);
        return record;
    }

    /// <summary>Retires the active version and re-activates the one active before it.</summary>
    public async Task<ModelVersionRecord> RollbackAsync(string kind, CancellationToken ct)
    {
        var versions = await db.Models.Where(m => m.Kind == kind).ToListAsync(ct);
        var active = versions.SingleOrDefault(m => m.Status == ModelStatus.Active)
            ?? throw new ModelRegistryException($"No active '{kind}' model to roll back.");
        var previous = versions.Where(m => m.Status == ModelStatus.Retired && m.ActivatedAt is not null)
            .OrderByDescending(m => m.ActivatedAt).FirstOrDefault()
            ?? throw new ModelRegistryException($"No earlier active '{kind}' model to roll back to.");
        models.Get(previous);   // refuse to roll back to a version that does not load
        active.Status = ModelStatus.RolledBack;
        previous.Status = ModelStatus.Active;
        db.Publish(new ModelActivated(previous.ModelId, previous.Kind, previous.Version, clock.GetUtcNow()));
        await db.SaveChangesAsync(ct);
        return previous;
    }
}
