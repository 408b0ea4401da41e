using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Mastery.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Mastery.Tests;

/// <summary>Erasure and retention in Mastery against the real broker (SQLite; <see cref="PostgresGovernanceTests"/> runs them on PostgreSQL).</summary>
public class GovernanceTests : GovernanceTestBase<Program, MasteryDbContext>
{
    protected override string ServiceName => "mastery";

    protected override Dictionary<string, string?> Settings => new() { ["Retention:AnswerHistory"] = "P30D" };

    protected override Task SeedAsync(string student, DateTimeOffset answeredAt) => Db(db =>
    {
        db.Students.Add(new EnrolledStudent { StudentId = student, SchoolId = "gov-school", GivenName = "Given", FamilyName = student });
        db.Mastery.Add(new StudentSkillMastery { StudentId = student, SkillId = "fractions", ProbabilityMastered = 0.4, Attempts = 2, UpdatedAt = answeredAt });
        db.AppliedResponses.Add(new AppliedResponse { StudentId = student, ItemId = "i1", AttemptNumber = 1, Correct = true, SkillIds = "fractions", AnsweredAt = answeredAt });
        db.Steps.AddRange(
            new MasteryStep { StudentId = student, SkillId = "fractions", ItemId = "i1", AttemptNumber = 1, Correct = true, AnsweredAt = answeredAt, ProbabilityAfter = 0.4 },
            new MasteryStep { StudentId = student, SkillId = "fractions", ItemId = "i0", AttemptNumber = 1, Correct = false, AnsweredAt = answeredAt.AddMinutes(-1), ProbabilityAfter = 0.2 });
        db.SectionMembers.Add(new SectionRosterMember { SectionId = "gov-section", PersonId = student, Role = "student" });
        db.Publish(new StudentMasteryChanged(student, [new SkillMasteryEstimate("fractions", 0.4, false, 2)], answeredAt));
        return db.SaveChangesAsync();
    });

    protected override async Task<Dictionary<string, int>> RowsOfAsync(MasteryDbContext db, string student) => new()
    {
        ["Mastery"] = await db.Mastery.CountAsync(m => m.StudentId == student),
        ["AppliedResponses"] = await db.AppliedResponses.CountAsync(r => r.StudentId == student),
        ["Steps"] = await db.Steps.CountAsync(s => s.StudentId == student),
        ["Students"] = await db.Students.CountAsync(s => s.StudentId == student),
        ["SectionMembers"] = await db.SectionMembers.CountAsync(m => m.PersonId == student),
        ["outbox"] = await OutboxRowsAboutAsync(db, student),
    };

    [SkippableFact]
    public async Task Erasure_removes_the_student_keeps_the_other_confirms_with_counts_and_a_redelivery_changes_nothing()
    {
        SkipUnlessRunning();
        var a = await EraseOneOfTwoAsync(new() { ["Mastery"] = 1, ["AppliedResponses"] = 1, ["Steps"] = 2, ["Students"] = 1, ["SectionMembers"] = 1, ["outbox"] = 1 });

        await AssertLateEventIgnoredAsync(a, s => new StudentEnrolled(s, "gov-school", "Given", s, "9", DateTimeOffset.UtcNow),
            (db, s) => db.Students.CountAsync(x => x.StudentId == s));

        // A late answer batch has no StudentId of its own, so the tombstone filter passes it: the batch consumer
        // drops the erased student's answers and applies the other's, in the same message.
        var other = NewStudent("gov-o");
        await Bus.Publish(new ItemResponseBatchRecorded(
            [.. new[] { a, other }.Select(s => new ItemResponseRecorded(s, "late-item", ["fractions"], true, 1, 0, 20, DateTimeOffset.UtcNow))]));
        Assert.Equal(1, await Eventually.WaitAsync(() => Db(db => db.Steps.CountAsync(s => s.StudentId == other)), n => n == 1, TimeSpan.FromSeconds(30)));
        var rows = await RowsOfAsync(a);
        Assert.Equal(0, rows["Mastery"] + rows["AppliedResponses"] + rows["Steps"]);
    }

    [SkippableFact]
    public async Task Retention_purges_answer_history_older_than_the_period_and_keeps_younger()
    {
        SkipUnlessRunning();
        var (old, young) = (NewStudent("ret-o"), NewStudent("ret-y"));
        await SeedAsync(old, DateTimeOffset.UtcNow.AddDays(-45));
        await SeedAsync(young, DateTimeOffset.UtcNow.AddDays(-5));

        var kinds = await RunRetentionAsync("/api/mastery/v1");
        Assert.True(kinds["AnswerHistory"].GetProperty("deleted").GetInt32() >= 3);
        Assert.Equal(JsonValueKind.Null, kinds["OutboxSent"].GetProperty("period").ValueKind);

        var oldRows = await RowsOfAsync(old);
        Assert.Equal(0, oldRows["Steps"]);
        Assert.Equal(0, oldRows["AppliedResponses"]);
        Assert.Equal(1, oldRows["Mastery"]);   // the current estimate is not history
        var youngRows = await RowsOfAsync(young);
        Assert.Equal(2, youngRows["Steps"]);
        Assert.Equal(1, youngRows["AppliedResponses"]);
    }
}

/// <summary>The same erasure and retention on PostgreSQL (skipped unless BEACON_TEST_POSTGRES is set).</summary>
public sealed class PostgresGovernanceTests : GovernanceTests
{
    protected override bool OnPostgres => true;
}
