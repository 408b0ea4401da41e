using System.Text.Json;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Dropout;
using Beacon.RiskModels.History;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Scoring;

/// <summary>What to train: a kind, from synthetic students (the cold start) or the district's history, at a scoring point.</summary>
public sealed record TrainRequest(string Kind, string? Source = null, int Students = 0, int Seed = 0, bool Promote = false, int SchoolDay = 0);

/// <summary>The promotion gate's verdict: the challenger against the champion on the held-out year, and why.</summary>
public sealed record PromotionGate(bool Promoted, string Reason, string HeldOutYear, BinaryReport Challenger, BinaryReport? Champion,
    double? ChallengerFprGap, double? ChampionFprGap, double FprGapMargin);

/// <summary>
/// The one place models are trained (the API, the scheduled retraining and the command line call it): synthetic students as
/// the cold start, or the district's own history: features at the scoring point of every labelled year as then known
/// (HistoryTrainingSet), the earlier years to train, the latest to hold out, every figure reported against the ABC rule
/// and the active model on that year. A history-trained challenger is promoted only if it beats the champion there on AUC
/// and on precision at the top 10 % and does not widen the largest subgroup FPR gap by more than the margin; otherwise it
/// stays a candidate and its card says why.
/// </summary>
public sealed class ModelTraining(EarlyWarningDbContext db, ModelRegistry registry, HistoryTrainingSet history, LoadedModels models, IOptions<ModelOptions> options)
{
    public const string Synthetic = "synthetic", District = "district";

    /// <summary>Where no scoring point is given: the 20th school day (DEWS scores early in the year).</summary>
    public const int DefaultSchoolDay = 20;

    public async Task<ModelVersionRecord> TrainAsync(TrainRequest request, CancellationToken ct)
    {
        var source = string.IsNullOrEmpty(request.Source) ? Synthetic : request.Source;
        if (source == Synthetic)
        {
            return await registry.TrainAsync(request.Kind, request.Students, request.Seed, request.Promote, ct);
        }
        if (source != District)
        {
            throw new ModelRegistryException($"source '{source}' is not known: use '{Synthetic}' (cold start) or '{District}' (the district's history).");
        }
        if (!ScoredKinds.IsScored(request.Kind))
        {
            throw new ModelRegistryException($"Unknown model kind '{request.Kind}': use {ScoredKinds.Named}.");
        }
        var schoolDay = request.SchoolDay is 0 ? DefaultSchoolDay : request.SchoolDay;
        if (schoolDay is < 1 or > 250)
        {
            throw new ModelRegistryException($"schoolDay must be between 1 and 250; got {schoolDay}.");
        }
        var years = await history.YearsAsync(request.Kind, ct);
        if (years.Count < 2)
        {
            throw new ModelRegistryException($"Training from history needs outcomes of two school years or more (the earlier train, the latest is held out); "
                + $"'{request.Kind}' has {years.Count}{(years.Count > 0 ? $" ({string.Join(", ", years)})" : "")}. Until then the synthetic model is the cold start (source '{Synthetic}').");
        }
        var examples = await history.BuildAsync(request.Kind, schoolDay, years, ct, withPriorYear: options.Value.PriorYear);
        var heldOut = years[^1];
        var train = examples.Where(e => e.SchoolYear != heldOut).Select(e => new LabelledExample(e.StudentId, e.Features, e.Label, schoolDay)).ToList();
        var test = examples.Where(e => e.SchoolYear == heldOut).Select(e => new LabelledExample(e.StudentId, e.Features, e.Label, schoolDay)).ToList();
        // The dropout model learns from a district's few hundred dropouts: the training years' students are also cut earlier in
        // the year (TrainingCuts, as `./beacon eval dropout` trains; measured in bench/RESULTS.md), the held-out year only at the point.
        var cuts = request.Kind == K12DropoutFeatures.Kind ? TrainingCuts.For(schoolDay) : [schoolDay];
        foreach (var day in cuts.SkipLast(1))
        {
            train.AddRange((await history.BuildAsync(request.Kind, day, [.. years.SkipLast(1)], ct, withPriorYear: options.Value.PriorYear))
                .Select(e => new LabelledExample(e.StudentId, e.Features, e.Label, day)));
        }
        foreach (var (name, set) in new[] { ("training years", train.Where(e => e.Point == schoolDay).ToList()), ($"held-out year {heldOut}", test) })
        {
            if (set.Count(e => e.Label) < 5 || set.Count(e => !e.Label) < 5)
            {
                throw new ModelRegistryException($"The {name} have {set.Count(e => e.Label)} positive and {set.Count(e => !e.Label)} negative outcomes; at least 5 of each are needed.");
            }
        }
        var features = options.Value.PriorYear ? ScoredKinds.WithPriorYear(request.Kind) : FeatureSets.For(request.Kind);
        var rule = request.Kind == AttendanceFeatures.Kind ? AttendanceFeatures.IndicatorBaseline() : K12DropoutFeatures.Indicators[0];
        var data = new RiskDataset(features, train, test, rule,
            $"district history at school day {schoolDay}: trained on {string.Join(", ", years.SkipLast(1))} ({train.Count(e => e.Point == schoolDay)} students, {train.Count(e => e.Point == schoolDay && e.Label)} positive"
            + (cuts.Count > 1 ? $", each also cut at school day {string.Join(" and ", cuts.SkipLast(1))}" : "") + $"), held out {heldOut} ({test.Count} students, {test.Count(e => e.Label)} positive)",
            "by time: the earlier school years train, the latest complete year is held out");
        var champion = await db.Models.AsNoTracking().FirstOrDefaultAsync(m => m.Kind == request.Kind && m.Status == ModelStatus.Active, ct);
        var result = await registry.TrainOnAsync(data, ct, scoredAt: schoolDay);
        var record = await registry.RegisterAsync(result, ct);

        var labels = test.Select(e => e.Label).ToArray();
        var challengerScores = Scores(models.Get(record), test);
        var challenger = result.Served.Report;
        BinaryReport? championReport = null;
        double[]? championScores = null;
        if (champion is not null)
        {
            championScores = Scores(models.Get(champion), test);
            championReport = Evaluation.Report($"champion v{champion.Version} ({champion.DataSource})", championScores, championScores, labels, champion.Threshold);
        }
        var groups = await GroupsAsync(test.Select(e => e.Id).ToList(), ct);
        var challengerGap = LargestFprGap(challengerScores, labels, record.Threshold, test, groups);
        var championGap = championScores is null ? null : LargestFprGap(championScores, labels, champion!.Threshold, test, groups);
        var margin = options.Value.FprGapMargin;
        var (promote, reason) = championReport switch
        {
            null when request.Promote => (true, "no active model to beat; promoted as asked"),
            null => (false, "no active model to beat: promote it by hand after reading its figures"),
            _ when challenger.Auc <= championReport.Auc => (false, $"held-out AUC {challenger.Auc:F3} does not beat the champion's {championReport.Auc:F3}"),
            _ when challenger.PrecisionAtTop10 < championReport.PrecisionAtTop10 =>
                (false, $"precision at the top 10 % {challenger.PrecisionAtTop10:F3} is below the champion's {championReport.PrecisionAtTop10:F3}"),
            _ when challengerGap is { } c && championGap is { } d && c > d + margin =>
                (false, $"the largest subgroup FPR gap widens from {d:F3} to {c:F3} (margin {margin:F3})"),
            _ => (true, $"beats the champion on {heldOut}: AUC {challenger.Auc:F3} > {championReport.Auc:F3}, precision at the top 10 % {challenger.PrecisionAtTop10:F3} >= {championReport.PrecisionAtTop10:F3}"
                + (challengerGap is null || championGap is null ? "; subgroup FPR gap not measurable (groups too small or no demographics)" : $"; FPR gap {challengerGap:F3} within {championGap:F3} + {margin:F3}")),
        };
        var gate = new PromotionGate(promote, reason, heldOut, challenger, championReport, challengerGap, championGap, margin);
        var stored = await db.Models.FirstAsync(m => m.ModelId == record.ModelId, ct);
        stored.GateJson = JsonSerializer.Serialize(gate);
        await db.SaveChangesAsync(ct);
        return promote ? await registry.PromoteAsync(record.ModelId, ct) : stored;
    }

    /// <summary>
    /// A model's scores on the held-out examples. The examples may carry the previous year's inputs after the kind's; a
    /// champion trained without them reads the kind's only (the prefix).
    /// </summary>
    private static double[] Scores(RiskModel model, IReadOnlyList<LabelledExample> examples) =>
        [.. examples.Select(e => model.Predict(e.Features[..model.Features.Count]).Probability)];

    /// <summary>Each student's subgroup per attribute (sex, race/ethnicity, economically disadvantaged, English learner, disability).</summary>
    private async Task<Dictionary<string, string[]>> GroupsAsync(List<string> ids, CancellationToken ct)
    {
        var result = new Dictionary<string, string[]>();
        foreach (var chunk in ids.Chunk(500))
        {
            foreach (var d in await db.Demographics.AsNoTracking().Where(d => chunk.Contains(d.StudentId)).ToListAsync(ct))
            {
                result[d.StudentId] = [$"sex:{d.Sex}", $"race:{d.RaceEthnicity}", $"econ:{d.EconomicallyDisadvantaged}", $"el:{d.EnglishLearner}", $"disability:{d.Disability}"];
            }
        }
        return result;
    }

    /// <summary>The largest gap in false-positive rate between two groups of one attribute (groups under the minimum size left out); null when none compares.</summary>
    private double? LargestFprGap(double[] scores, bool[] labels, double threshold, IReadOnlyList<LabelledExample> examples, Dictionary<string, string[]> groups)
    {
        var negatives = new Dictionary<string, (int Count, int Flagged)>();
        for (var i = 0; i < examples.Count; i++)
        {
            if (labels[i] || !groups.TryGetValue(examples[i].Id, out var memberOf))
            {
                continue;
            }
            foreach (var group in memberOf)
            {
                var (count, flagged) = negatives.GetValueOrDefault(group);
                negatives[group] = (count + 1, flagged + (scores[i] >= threshold ? 1 : 0));
            }
        }
        var gaps = negatives.Where(g => g.Value.Count >= options.Value.MinimumGroupSize && !g.Key.EndsWith(':'))
            .GroupBy(g => g.Key[..g.Key.IndexOf(':')])
            .Where(a => a.Count() >= 2)
            .Select(a => a.Max(g => (double)g.Value.Flagged / g.Value.Count) - a.Min(g => (double)g.Value.Flagged / g.Value.Count))
            .ToList();
        return gaps.Count == 0 ? null : gaps.Max();
    }
}
