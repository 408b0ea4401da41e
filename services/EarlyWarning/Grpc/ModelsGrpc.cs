using System.Text.Json;
using Beacon.Contracts.EarlyWarning;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels;
using Grpc.Core;

namespace Beacon.EarlyWarning.Grpc;

/// <summary>Mapping between the registry's records and the contract's messages.</summary>
internal static class ModelsGrpc
{
    public static ModelVersion ToMessage(ModelVersionRecord record, IEnumerable<Storage.DistrictThreshold>? thresholds = null)
    {
        var card = RiskModelFile.DeserializeCard(record.CardJson);
        var message = new ModelVersion
        {
            ModelId = record.ModelId.ToString(),
            Kind = record.Kind,
            Version = record.Version,
            Algorithm = record.Algorithm,
            Status = record.Status,
            Threshold = record.Threshold,
            ThresholdRule = card.ThresholdRule,
            TrainedAt = record.TrainedAt.ToString("O"),
            DataSource = record.DataSource,
            Split = card.Split,
            BeatsBaseline = card.BeatsBaseline,
            ActivatedAt = record.ActivatedAt?.ToString("O") ?? "",
            PromotionGate = record.GateJson ?? "",
        };
        message.Features.AddRange(card.FeatureNames);
        message.Metrics.AddRange(card.Reports.Append(card.Baseline).Select(r => new ModelMetrics
        {
            Scorer = r.Name,
            Auc = r.Auc,
            PrAuc = r.PrAuc,
            Precision = r.Precision,
            Recall = r.Recall,
            PrecisionAtTop10 = r.PrecisionAtTop10,
            ExpectedCalibrationError = r.ExpectedCalibrationError,
            Examples = r.Examples,
            Positives = r.Positives,
        }));
        message.DistrictThresholds.AddRange((thresholds ?? []).Select(ToMessage));
        return message;
    }

    public static StudentRisk ToMessage(StudentRiskScore score)
    {
        var factors = JsonSerializer.Deserialize<List<RiskModels.RiskFactor>>(score.FactorsJson) ?? [];
        var message = new StudentRisk
        {
            StudentId = score.StudentId,
            SchoolId = score.SchoolId,
            Kind = score.Kind,
            Score = score.Score,
            Band = score.Band,
            Flagged = score.Flagged,
            Threshold = score.Threshold,
            ModelId = score.ModelId.ToString(),
            ModelVersion = score.ModelVersion,
            ScoredAt = score.ScoredAt.ToString("O"),
            Explanation = RiskScoring.Explain(score.Score, factors, score.Kind, score.ModelVersion),
        };
        if (score.CapacityLine is { } line)
        {
            message.CapacityLine = line;
        }
        message.Factors.AddRange(factors.Select(f => new Contracts.EarlyWarning.RiskFactor
        {
            Text = f.Text,
            RaisesRisk = f.RaisesRisk,
            Feature = f.Feature,
            Contribution = f.Contribution,
        }));
        return message;
    }

    public static Contracts.EarlyWarning.DistrictThreshold ToMessage(Storage.DistrictThreshold t) => new()
    {
        ModelId = t.ModelId.ToString(),
        DistrictId = t.DistrictId,
        Target = t.Target,
        TargetValue = t.TargetValue,
        Threshold = t.Threshold,
        Rule = t.Rule,
        CalibrationPrecision = t.CalibrationPrecision,
        CalibrationFlaggedShare = t.CalibrationFlaggedShare,
        SetAt = t.SetAt.ToString("O"),
    };

    public static Guid ParseModelId(string value) => Guid.TryParse(value, out var id)
        ? id
        : throw new RpcException(new Status(StatusCode.InvalidArgument, $"model_id '{value}' is not a model id (a GUID)."));

    /// <summary>Registry refusals become 400/404 with the reason, never a 500.</summary>
    public static async Task<T> Guard<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (ModelRegistryException e)
        {
            throw new RpcException(new Status(e.NotFound ? StatusCode.NotFound : StatusCode.FailedPrecondition, e.Message));
        }
        catch (ThresholdTargetException e)
        {
            // Aborted is what JSON transcoding answers as 409 Conflict.
            throw new RpcException(new Status(e.Conflict ? StatusCode.Aborted : StatusCode.InvalidArgument, e.Message));
        }
    }
}
