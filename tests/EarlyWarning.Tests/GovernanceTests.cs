using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Tests;

/// <summary>Erasure and retention in Early warning against the real broker (SQLite; <see cref="PostgresGovernanceTests"/> runs them on PostgreSQL).</summary>
public class GovernanceTests : GovernanceTestBase<Program, EarlyWarningDbContext>
{
    protected override string ServiceName => "early-warning";

    protected override Dictionary<string, string?> Settings => new()
    {
        ["Retention:RiskAlerts"] = "P1Y",
        ["Retention:AttendanceDays"] = "P400D",
        ["Retention:ProcessedMessages"] = "P30D",
        ["EarlyWarning:Scoring:Enabled"] = "false",
        ["EarlyWarning:Monitoring:Enabled"] = "false",
    };

    protected override Task SeedAsync(string student, DateTimeOffset at) => Db(db =>
    {
        var day = DateOnly.FromDateTime(at.UtcDateTime);
        var alertId = Guid.NewGuid();
        db.AttendanceDays.AddRange(new AttendanceDay { StudentId = student, Date = day, Status = "absent" },
            new AttendanceDay { StudentId = student, Date = day.AddDays(-1), Status = "present" });
        // Their pack, as the attendance consumer writes it beside the day rows.
        db.AttendancePacks.Add(AttendancePacking.Pack(student, [KeyValuePair.Create(day, "absent"), KeyValuePair.Create(day.AddDays(-1), "present")])!);
        db.RiskStates.Add(new StudentRiskState { StudentId = student, SchoolId = "gov", DaysEnrolled = 2, DaysAbsent = 1, UpdatedAt = at });
        db.Alerts.Add(new RiskAlert { AlertId = alertId, StudentId = student, SchoolId = "gov", Kind = "chronic-absence", Crossing = 1, Reason = "missed 1 of 2", RaisedAt = at });
        db.RiskScores.Add(new StudentRiskScore { StudentId = student, Kind = "chronic-absence", SchoolId = "gov", Band = "high", FactorsJson = "[]", ScoredAt = at });
        db.ScoreSnapshots.Add(new ScoreSnapshot { StudentId = student, Kind = "chronic-absence", WeekStart = day, SchoolId = "gov", ScoredAt = at });
        db.Outcomes.Add(new OutcomeLabel { StudentId = student, Kind = "chronic-absence", Outcome = "chronically-absent", KnownOn = day, RecordedAt = at });
        db.Feedback.Add(new AlertFeedback
        {
            FeedbackId = Guid.NewGuid(),
            AlertId = alertId,
            StudentId = student,
            AlertKind = "chronic-absence",
            Verdict = "false-alarm",
            Reason = $"{student} was ill",
            GivenBy = "c1",
            Source = "counselor",
            RecordedAt = at,
        });
        db.Demographics.Add(new StudentDemographics { StudentId = student, Sex = "F" });
        db.Roster.Add(new StudentRosterRow { StudentId = student, SchoolId = "gov", GivenName = "Ada", FamilyName = student, GradeLevel = "09", OccurredAt = at });
        db.CourseMarks.Add(new CourseMarkRow { StudentId = student, CourseId = "math", Term = "T1", SchoolId = "gov", MarkPercent = 55, Date = day, OccurredAt = at });
        db.BehaviorIncidents.Add(new BehaviorIncidentRow { IncidentId = $"inc-{student}", StudentId = student, SchoolId = "gov", Date = day, Category = "fighting", Severity = "major", OccurredAt = at });
        db.LmsActivity.Add(new LmsActivityRow { StatementId = $"st-{student}", StudentId = student, Verb = "completed", ObjectId = "unit-1", Timestamp = at });
        db.SkillMastery.Add(new SkillMasteryRow { StudentId = student, SkillId = "fractions", ProbabilityMastered = 0.3, Attempts = 4, OccurredAt = at });
        db.IndicatorStates.Add(new IndicatorStateRow { StudentId = student, Kind = RiskKinds.Behavior, SchoolId = "gov", Flagged = true, Crossings = 1, Explanation = "1 incident", UpdatedAt = at });
        db.AttendanceVersions.Add(new AttendanceVersion { StudentId = student, Date = day, Status = "absent", KnownFrom = at });
        db.StudentExits.Add(new Monitoring.StudentExitRow { StudentId = student, SchoolId = "gov", ExitCode = "other", Reason = "left", ExitedOn = day, OccurredAt = at });
        db.YearOutcomes.Add(new Monitoring.YearOutcomeRow { StudentId = student, Kind = "dropout", SchoolYear = "2025-2026", Outcome = "withdrew", AtRisk = true, KnownOn = day, RecordedAt = at });
        db.Publish(new RiskAlertRaised(alertId, student, "gov", "chronic-absence", "missed", 0.5, at));
        return db.SaveChangesAsync();
    });

    protected override async Task<Dictionary<string, int>> RowsOfAsync(EarlyWarningDbContext db, string student) => new()
    {
        ["AttendanceDays"] = await db.AttendanceDays.CountAsync(x => x.StudentId == student),
        ["AttendancePacks"] = await db.AttendancePacks.CountAsync(x => x.StudentId == student),
        ["AttendanceVersions"] = await db.AttendanceVersions.CountAsync(x => x.StudentId == student),
        ["RiskStates"] = await db.RiskStates.CountAsync(x => x.StudentId == student),
        ["Alerts"] = await db.Alerts.CountAsync(x => x.StudentId == student),
        ["RiskScores"] = await db.RiskScores.CountAsync(x => x.StudentId == student),
        ["ScoreSnapshots"] = await db.ScoreSnapshots.CountAsync(x => x.StudentId == student),
        ["Outcomes"] = await db.Outcomes.CountAsync(x => x.StudentId == student),
        ["Feedback"] = await db.Feedback.CountAsync(x => x.StudentId == student),
        ["Demographics"] = await db.Demographics.CountAsync(x => x.StudentId == student),
        ["CourseMarks"] = await db.CourseMarks.CountAsync(x => x.StudentId == student),
        ["BehaviorIncidents"] = await db.BehaviorIncidents.CountAsync(x => x.StudentId == student),
        ["LmsActivity"] = await db.LmsActivity.CountAsync(x => x.StudentId == student),
        ["SkillMastery"] = await db.SkillMastery.CountAsync(x => x.StudentId == student),
        ["IndicatorStates"] = await db.IndicatorStates.CountAsync(x => x.StudentId == student),
        ["StudentExits"] = await db.StudentExits.CountAsync(x => x.StudentId == student),
        ["YearOutcomes"] = await db.YearOutcomes.CountAsync(x => x.StudentId == student),
        ["Roster"] = await db.Roster.CountAsync(x => x.StudentId == student),
        ["outbox"] = await OutboxRowsAboutAsync(db, student),
    };

    [SkippableFact]
    public async Task Erasure_removes_the_student_keeps_the_other_confirms_with_counts_and_a_redelivery_changes_nothing()
    {
        SkipUnlessRunning();
        var a = await EraseOneOfTwoAsync(new()
        {
            ["AttendanceDays"] = 2,
            ["AttendancePacks"] = 1,
            ["AttendanceVersions"] = 1,
            ["RiskStates"] = 1,
            ["Alerts"] = 1,
            ["RiskScores"] = 1,
            ["ScoreSnapshots"] = 1,
            ["Outcomes"] = 1,
            ["Feedback"] = 1,
            ["Demographics"] = 1,
            ["CourseMarks"] = 1,
            ["BehaviorIncidents"] = 1,
            ["LmsActivity"] = 1,
            ["SkillMastery"] = 1,
            ["IndicatorStates"] = 1,
            ["StudentExits"] = 1,
            ["YearOutcomes"] = 1,
            ["Roster"] = 1,
            ["outbox"] = 1,
        });

        // Late demographics for A are ignored; the same event for another student is stored.
        await AssertLateEventIgnoredAsync(a, s => new StudentDemographicsRecorded(s, "F", null, true, null, null, DateTimeOffset.UtcNow),
            (db, s) => db.Demographics.CountAsync(d => d.StudentId == s));

        // Late attendance for A too (consumed in batches, which the consume filter does not see into).
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-3);
        await AssertLateEventIgnoredAsync(a, s => new AttendanceRecorded(s, "gov", day, "absent", false, DateTimeOffset.UtcNow),
            (db, s) => db.AttendanceDays.CountAsync(d => d.StudentId == s));
        Assert.Equal(0, await Db(db => db.RiskStates.CountAsync(d => d.StudentId == a)));
    }

    [SkippableFact]
    public async Task Retention_purges_alerts_and_attendance_older_than_their_period_and_unset_kinds_keep_everything()
    {
        SkipUnlessRunning();
        var (old, young) = (NewStudent("ret-o"), NewStudent("ret-y"));
        await SeedAsync(old, DateTimeOffset.UtcNow.AddDays(-500));
        await SeedAsync(young, DateTimeOffset.UtcNow.AddDays(-30));
        var (oldMessage, youngMessage) = (Guid.NewGuid(), Guid.NewGuid());
        await Db(db =>
        {
            db.Set<InboxMessage>().AddRange(new InboxMessage { MessageId = oldMessage, ProcessedAt = DateTimeOffset.UtcNow.AddDays(-31) },
                new InboxMessage { MessageId = youngMessage, ProcessedAt = DateTimeOffset.UtcNow.AddDays(-1) });
            return db.SaveChangesAsync();
        });

        var kinds = await RunRetentionAsync("/api/early-warning/v1");
        Assert.True(kinds["RiskAlerts"].GetProperty("deleted").GetInt32() >= 1);
        Assert.True(kinds["AttendanceDays"].GetProperty("deleted").GetInt32() >= 2);

        var oldRows = await RowsOfAsync(old);
        Assert.Equal(0, oldRows["Alerts"]);
        Assert.Equal(0, oldRows["AttendanceDays"]);
        Assert.Equal(0, oldRows["AttendancePacks"]);   // every day of it was older: the pack goes with them
        Assert.Equal(1, oldRows["RiskScores"]);      // Retention:RiskScores unset: kept
        Assert.Equal(1, oldRows["Feedback"]);        // Retention:Feedback unset: kept
        var youngRows = await RowsOfAsync(young);
        Assert.Equal(1, youngRows["Alerts"]);
        Assert.Equal(2, youngRows["AttendanceDays"]);
        Assert.Equal(1, youngRows["AttendancePacks"]);
        // The inbox forgets consumed message ids after Retention:ProcessedMessages.
        Assert.False(await Db(db => db.Set<InboxMessage>().AnyAsync(m => m.MessageId == oldMessage)));
        Assert.True(await Db(db => db.Set<InboxMessage>().AnyAsync(m => m.MessageId == youngMessage)));
    }
}

/// <summary>The same erasure and retention on PostgreSQL (skipped unless BEACON_TEST_POSTGRES is set).</summary>
public sealed class PostgresGovernanceTests : GovernanceTests
{
    protected override bool OnPostgres => true;
}
