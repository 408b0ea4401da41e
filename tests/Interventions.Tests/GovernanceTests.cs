using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Tests;

/// <summary>Erasure and retention in Interventions against the real broker (SQLite; <see cref="PostgresGovernanceTests"/> runs them on PostgreSQL).</summary>
public class GovernanceTests : GovernanceTestBase<Program, InterventionsDbContext>
{
    protected override string ServiceName => "interventions";

    protected override Dictionary<string, string?> Settings => new() { ["Retention:EndedCases"] = "P1Y" };

    protected override async Task SeedAsync(string student, DateTimeOffset at)
    {
        await SeedCaseAsync(student, at, null);
        // A group intervention on a skill (the student leaves it, the group stays), a section membership, subgroups.
        await Db(db =>
        {
            var groupId = Guid.NewGuid();
            db.Groups.Add(new GroupIntervention
            {
                GroupId = groupId,
                SectionId = "gov-section",
                SchoolId = "gov",
                Type = GroupInterventionTypes.SmallGroup,
                SkillId = "fractions",
                StartDate = DateOnly.FromDateTime(at.UtcDateTime),
                DurationWeeks = 1,
                CreatedBy = "t1",
                CreatedAt = at,
                Students = [new GroupMember { GroupId = groupId, StudentId = student }],
            });
            db.SectionPeople.Add(new SectionRosterMember { SectionId = "gov-section", PersonId = student, Role = "student" });
            db.Subgroups.Add(new StudentSubgroups { StudentId = student, Labels = "sex:female,el:True" });
            db.FamilyContacts.Add(new FamilyContact { StudentId = student, ContactId = $"{student}-mother", Relationship = "parent", GivenName = "Ana", FamilyName = "Doe", Phone = "+15550100", RecordedAt = at });
            // A test of change (the student leaves it, the test stays) and the risk band it stratified by.
            var testId = Guid.NewGuid();
            db.ChangeTests.Add(new ChangeTest
            {
                TestId = testId,
                Name = "wording",
                Outcome = ChangeTestOutcomes.Attendance,
                WindowDays = 14,
                StartDate = DateOnly.FromDateTime(at.UtcDateTime),
                SchoolIds = "gov",
                CreatedBy = "coord",
                CreatedAt = at,
                Assignments = [new ChangeTestAssignment { TestId = testId, StudentId = student, SchoolId = "gov", RiskBand = "high", AssignedAt = at }],
            });
            db.RiskBands.Add(new StudentRiskBand { StudentId = student, Kind = "chronic-absence", Band = "high", Score = 0.7, ScoredAt = at });
            db.RiskScoreDays.Add(new RiskScoreDay { StudentId = student, Kind = "chronic-absence", Day = DateOnly.FromDateTime(at.UtcDateTime), SchoolId = "gov", Score = 0.7, ScoredAt = at });
            return db.SaveChangesAsync();
        });
    }

    private Task<Guid> SeedCaseAsync(string student, DateTimeOffset openedAt, DateTimeOffset? endedAt) => Db(async db =>
    {
        var caseId = Guid.NewGuid();
        db.Cases.Add(new InterventionCase
        {
            CaseId = caseId,
            StudentId = student,
            SchoolId = "gov",
            Reason = "chronic absence",
            OpenedAt = openedAt,
            Status = endedAt is null ? CaseStatuses.Open : CaseStatuses.Closed,
            EndedAt = endedAt,
            Outcome = endedAt is null ? null : Outcomes.Improved,
            Alerts = [new CaseAlert { AlertId = Guid.NewGuid(), CaseId = caseId, Kind = "chronic-absence", RaisedAt = openedAt }],
            Activity =
            [
                new CaseActivity { CaseId = caseId, At = openedAt, Kind = "opened", By = "alert", Text = "opened" },
                new CaseActivity { CaseId = caseId, At = openedAt, Kind = "note", By = "c1", Text = $"Called the family of {student}; the mother says he is ill." },
            ],
        });
        db.Attendance.Add(new AttendanceDay { StudentId = student, Date = DateOnly.FromDateTime(openedAt.UtcDateTime), SchoolId = "gov", Status = "absent" });
        db.Publish(new InterventionCaseOpened(caseId, null, student, "gov", openedAt));
        await db.SaveChangesAsync();
        return caseId;
    });

    protected override async Task<Dictionary<string, int>> RowsOfAsync(InterventionsDbContext db, string student)
    {
        var cases = db.Cases.Where(c => c.StudentId == student).Select(c => c.CaseId);
        return new Dictionary<string, int>
        {
            ["CaseAlerts"] = await db.CaseAlerts.CountAsync(a => cases.Contains(a.CaseId)),
            ["Activity"] = await db.Activity.CountAsync(a => cases.Contains(a.CaseId)),
            ["Cases"] = await cases.CountAsync(),
            ["Attendance"] = await db.Attendance.CountAsync(a => a.StudentId == student),
            ["GroupMembers"] = await db.GroupMembers.CountAsync(m => m.StudentId == student),
            ["SectionPeople"] = await db.SectionPeople.CountAsync(p => p.PersonId == student),
            ["Subgroups"] = await db.Subgroups.CountAsync(s => s.StudentId == student),
            ["FamilyContacts"] = await db.FamilyContacts.CountAsync(c => c.StudentId == student),
            ["ChangeTestAssignments"] = await db.ChangeTestAssignments.CountAsync(a => a.StudentId == student),
            ["RiskBands"] = await db.RiskBands.CountAsync(b => b.StudentId == student),
            ["RiskScoreDays"] = await db.RiskScoreDays.CountAsync(p => p.StudentId == student),
            ["outbox"] = await OutboxRowsAboutAsync(db, student),
        };
    }

    [SkippableFact]
    public async Task Erasure_removes_the_student_keeps_the_other_confirms_with_counts_and_a_redelivery_changes_nothing()
    {
        SkipUnlessRunning();
        var a = await EraseOneOfTwoAsync(new() { ["CaseAlerts"] = 1, ["Activity"] = 2, ["Cases"] = 1, ["Attendance"] = 1, ["GroupMembers"] = 1, ["SectionPeople"] = 1, ["Subgroups"] = 1, ["FamilyContacts"] = 1, ["ChangeTestAssignments"] = 1, ["RiskBands"] = 1, ["RiskScoreDays"] = 1, ["outbox"] = 1 });
        Assert.Equal(0, await Db(db => db.Activity.CountAsync(x => x.Text.Contains(a))));

        // Late attendance for A is ignored; the same event for another student is projected.
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-3);
        await AssertLateEventIgnoredAsync(a, s => new AttendanceRecorded(s, "gov", day, "absent", false, DateTimeOffset.UtcNow),
            (db, s) => db.Attendance.CountAsync(x => x.StudentId == s));
    }

    [SkippableFact]
    public async Task Retention_purges_cases_ended_before_the_period_with_their_notes_and_keeps_recent_and_active_ones()
    {
        SkipUnlessRunning();
        var (old, recent, active) = (NewStudent("ret-o"), NewStudent("ret-r"), NewStudent("ret-a"));
        var oldCase = await SeedCaseAsync(old, DateTimeOffset.UtcNow.AddYears(-3), DateTimeOffset.UtcNow.AddYears(-2));
        await SeedCaseAsync(recent, DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddDays(-30));
        await SeedCaseAsync(active, DateTimeOffset.UtcNow.AddYears(-3), null);

        var kinds = await RunRetentionAsync("/api/interventions/v1");
        Assert.True(kinds["EndedCases"].GetProperty("deleted").GetInt32() >= 1);
        Assert.Equal(JsonValueKind.Null, kinds["AttendanceDays"].GetProperty("period").ValueKind);

        Assert.Equal(0, (await RowsOfAsync(old))["Cases"]);
        Assert.Equal(0, await Db(db => db.Activity.CountAsync(x => x.CaseId == oldCase)));
        Assert.Equal(1, (await RowsOfAsync(old))["Attendance"]);   // Retention:AttendanceDays unset: kept
        Assert.Equal(1, (await RowsOfAsync(recent))["Cases"]);
        Assert.Equal(2, (await RowsOfAsync(active))["Activity"]);
    }
}

/// <summary>The same erasure and retention on PostgreSQL (skipped unless BEACON_TEST_POSTGRES is set).</summary>
public sealed class PostgresGovernanceTests : GovernanceTests
{
    protected override bool OnPostgres => true;
}
