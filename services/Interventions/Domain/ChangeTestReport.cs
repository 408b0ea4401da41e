using System.Globalization;
using Beacon.Contracts.Mastery;
using Beacon.Interventions.Storage;
using Microsoft.EntityFrameworkCore;
using MasteryClient = Beacon.Contracts.Mastery.Mastery.MasteryClient;

namespace Beacon.Interventions.Domain;

/// <summary>
/// Measures a test of change once its window has ended: loads each assigned student's outcome around the start (the
/// attendance projection, or Mastery's history of the test's skill, asked over gRPC per school as the mastery effect
/// does) and runs <see cref="ChangeTestEstimator"/>.
/// </summary>
public sealed class ChangeTestReport(InterventionsDbContext db, MasteryClient mastery)
{
    public async Task<ChangeTestResult> BuildAsync(ChangeTest test, CancellationToken ct)
    {
        var students = test.Assignments.Select(a => a.StudentId).ToList();
        var changes = test.Outcome == ChangeTestOutcomes.Mastery ? await MasteryChangesAsync(test, ct) : await AttendanceChangesAsync(test, students, ct);
        var arms = test.Arms.OrderBy(a => a.Index).Select(a => (a.Label, a.Describe())).ToList();
        return ChangeTestEstimator.Compare(arms, [.. test.Assignments.Select(a => (a.StudentId, a.ArmIndex))], changes,
            test.Outcome == ChangeTestOutcomes.Mastery ? ChangeTestEstimator.Probability : ChangeTestEstimator.PercentagePoints);
    }

    private async Task<Dictionary<string, double>> AttendanceChangesAsync(ChangeTest test, List<string> students, CancellationToken ct)
    {
        var (from, to) = (test.StartDate.AddDays(-test.WindowDays), test.StartDate.AddDays(test.WindowDays));
        var days = new List<AttendanceFact>();
        // In chunks: an IN list of thousands of ids is slow on SQLite and limited on PostgreSQL.
        foreach (var chunk in students.Chunk(500))
        {
            days.AddRange(await db.Attendance.AsNoTracking().Where(a => chunk.Contains(a.StudentId) && a.Date >= from && a.Date < to)
                .Select(a => new AttendanceFact(a.StudentId, a.SchoolId, a.Date, a.Attended)).ToListAsync(ct));
        }
        return ChangeTestEstimator.AttendanceChanges(students, days, test.StartDate, test.WindowDays);
    }

    private async Task<Dictionary<string, double>> MasteryChangesAsync(ChangeTest test, CancellationToken ct)
    {
        static string At(DateOnly day) => day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc).ToString("O", CultureInfo.InvariantCulture);
        var changes = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var school in test.Assignments.Select(a => a.SchoolId).Distinct(StringComparer.Ordinal))
        {
            var request = new GetSkillHistoryRequest { SkillId = test.SkillId, SchoolId = school };
            request.At.Add(At(test.StartDate));
            request.At.Add(At(test.MeasurableFrom));
            var history = await mastery.GetSkillHistoryAsync(request, cancellationToken: ct);
            foreach (var s in history.Students)
            {
                changes[s.StudentId] = s.Probability[1] - s.Probability[0];
            }
        }
        return changes;
    }
}
