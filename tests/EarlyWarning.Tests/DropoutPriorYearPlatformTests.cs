using System.Net.Http.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Apis;
using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels;
using Beacon.RiskModels.Calendars;
using Beacon.RiskModels.Dropout;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// The dropout model's previous-year inputs on the platform, against the real broker: last year's incidents and marks, kept
/// in the projections, are read as last year's (not this year's) by the scoring path, the features export and the training
/// set from history alike; a model whose card names them loads with them.
/// </summary>
public sealed class DropoutPriorYearPlatformTests : IAsyncLifetime
{
    // Two years no other test class uses: Mon 2039-09-05 and Mon 2040-09-03.
    private static readonly SchoolYearCalendar Year1 = new("dpy-2039", new DateOnly(2039, 9, 5), new DateOnly(2040, 6, 15), new HashSet<DateOnly>());
    private static readonly SchoolYearCalendar Year2 = new("dpy-2040", new DateOnly(2040, 9, 3), new DateOnly(2041, 6, 14), new HashSet<DateOnly>());
    private const int Point = 5;

    private readonly ServiceFactory<Program> _service = new()
    {
        Settings = { ["EarlyWarning:Monitoring:Enabled"] = "false", ["EarlyWarning:Scoring:Enabled"] = "false", ["EarlyWarning:Models:PriorYear"] = "true" },
    };
    private readonly string _p = $"dpy{Guid.NewGuid():N}"[..10];

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task Last_years_incidents_and_marks_are_read_as_last_years_by_scoring_export_and_training()
    {
        await _service.AddCalendarYearsAsync(Year1, Year2);
        var (student, school) = ($"{_p}-s", $"{_p}-school");
        DateTimeOffset Evening(DateOnly d) => new(d.ToDateTime(new TimeOnly(18, 0)), TimeSpan.Zero);
        var days = Enumerable.Range(1, Point).Select(n => Year2.SchoolDay(n)!.Value).ToList();
        var bus = _service.Services.GetRequiredService<IBus>();
        await bus.Publish(new AttendanceBatchRecorded([.. days.Select(d => new AttendanceRecorded(student, school, d, "present", false, Evening(d)))]));
        var lastYear = new DateOnly(2040, 3, 5);
        var marks = new[]
        {
            new GradeRecorded(student, school, "MATH8", "Q4", 50, Year1.LastDay, false, Evening(Year1.LastDay)),
            new GradeRecorded(student, school, "ENG8", "Q4", 80, Year1.LastDay, false, Evening(Year1.LastDay)),
            new GradeRecorded(student, school, "MATH9", "P1", 90, days[2], false, Evening(days[2])),
        };
        var incidents = new[]
        {
            new BehaviorIncidentRecorded($"{_p}-1", student, school, lastYear, "out-of-school-suspension", "major", false, Evening(lastYear)),
            new BehaviorIncidentRecorded($"{_p}-2", student, school, lastYear.AddDays(1), "defiance", "minor", false, Evening(lastYear.AddDays(1))),
            new BehaviorIncidentRecorded($"{_p}-3", student, school, days[1], "disruption", "minor", false, Evening(days[1])),
        };
        foreach (var message in marks.Cast<object>().Concat(incidents))
        {
            await bus.Publish(message);
        }
        await Eventually.WaitAsync(() => _service.WithDbAsync<EarlyWarningDbContext, (int, int, int)>(async db => (
                await db.CourseMarks.CountAsync(m => m.StudentId == student), await db.BehaviorIncidents.CountAsync(i => i.StudentId == student),
                await db.AttendanceVersions.CountAsync(v => v.StudentId == student))),
            n => n == (3, 3, Point), TimeSpan.FromSeconds(90));

        var set = K12PriorYear.Set;
        void AssertInputs(IReadOnlyList<float> f, string where)
        {
            Assert.True(set.Count == f.Count, $"{where}: {f.Count} inputs");
            Assert.Equal((1f, 1f, 1f), (f[set.IndexOf("incidents_term")], f[set.IndexOf(K12PriorYear.SuspensionsFeature)], f[set.IndexOf(K12PriorYear.MinorFeature)]));
            Assert.Equal((1f, 1f, 0f), (f[set.IndexOf("courses_graded")], f[set.IndexOf(K12PriorYear.FailedFeature)], f[set.IndexOf("courses_failing")]));
            Assert.Equal((2f, 65f), (f[set.IndexOf(K12PriorYear.GradedFeature)], f[set.IndexOf(K12PriorYear.MeanMarkFeature)]));
        }

        // The scoring path: this year's signals only in this year's inputs, last year's in the previous year's.
        using var scope = _service.Services.CreateScope();
        var row = (await scope.ServiceProvider.GetRequiredService<StudentSignalsReader>().LoadAsync(K12DropoutFeatures.Kind, [student], null, default, days[^1])).Single();
        Assert.Equal(2, row.Signals.Previous!.Incidents.Count);
        AssertInputs(ScoredKinds.Features(K12DropoutFeatures.Kind, row.Signals, days[^1], DateTimeOffset.UtcNow, set), "scoring");
        // A model that does not read last year is served the kind's inputs only.
        Assert.Equal(K12DropoutFeatures.Set.Count, ScoredKinds.Features(K12DropoutFeatures.Kind, row.Signals, days[^1], DateTimeOffset.UtcNow, K12DropoutFeatures.Set).Length);

        // The features export, asked for the previous year too.
        var export = await _service.CreateClient().GetFromJsonAsync<FeatureExport>($"/api/early-warning/v1/features?kind=dropout&asOf={days[^1]:yyyy-MM-dd}&priorYear=true");
        Assert.Equal(set.Names, export!.Features);
        AssertInputs(export.Students.Single(s => s.StudentId == student).Values, "export");

        // The training set from history, at the point of year 2.
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            db.YearOutcomes.Add(new YearOutcomeRow { StudentId = student, Kind = K12DropoutFeatures.Kind, SchoolYear = Year2.Label, Outcome = "finished-year", KnownOn = Year2.LastDay });
            return db.SaveChangesAsync();
        });
        var examples = await scope.ServiceProvider.GetRequiredService<HistoryTrainingSet>().BuildAsync(K12DropoutFeatures.Kind, Point, [Year2.Label], default, withPriorYear: true);
        AssertInputs(examples.Single(e => e.StudentId == student).Features, "history");
        Assert.Equal(set.Names, FeatureSets.For(K12DropoutFeatures.Kind, set.Names).Names);
    }
}
