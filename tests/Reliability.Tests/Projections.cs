using System.Data.Common;

namespace Beacon.Reliability.Tests;

/// <summary>
/// What each service has stored, read straight from its store (SQLite file or PostgreSQL database; read-only, no
/// pooling, so the test never holds a lock): the signals Ingestion accepted, and the projections downstream built from them.
/// Alerts are keyed by (student, kind, crossing), not by id, so two runs can be compared.
/// </summary>
public sealed record Projections(
    long IngestionRows,
    long IngestionDistinctKeys,
    IReadOnlySet<string> IngestionAttendance,
    long UnsentOutbox,
    IReadOnlySet<string> EarlyWarningAttendance,
    IReadOnlyDictionary<string, string> RiskStates,
    IReadOnlyDictionary<Guid, string> Alerts,
    IReadOnlyDictionary<string, string> RiskScores,
    IReadOnlySet<string> InterventionsAttendance,
    IReadOnlyDictionary<Guid, Guid> CaseOfAlert,
    IReadOnlyDictionary<string, int> CasesPerStudent,
    IReadOnlyList<(string StaffId, Guid AlertId)> FeedEntries,
    IReadOnlyList<(string StaffId, Guid AlertId, string Channel)> Deliveries,
    IReadOnlySet<string> IngestionAnswers,
    IReadOnlySet<string> MasteryAnswers,
    IReadOnlyDictionary<string, string> Mastery,
    long MasterySteps,
    IReadOnlySet<string> IngestionGrades,
    IReadOnlySet<string> EarlyWarningMarks,
    IReadOnlySet<string> IngestionIncidents,
    IReadOnlySet<string> EarlyWarningIncidents,
    IReadOnlyDictionary<string, string> IndicatorStates)
{
    public static Projections Read(Platform platform)
    {
        using var ingestion = platform.Stores.OpenForReading("Ingestion");
        using var earlyWarning = platform.Stores.OpenForReading("EarlyWarning");
        using var interventions = platform.Stores.OpenForReading("Interventions");
        using var notifications = platform.Stores.OpenForReading("Notifications");
        using var mastery = platform.Stores.OpenForReading("Mastery");

        var unsent = 0L;
        foreach (var db in new[] { ingestion, earlyWarning, interventions, notifications, mastery })
        {
            unsent += Scalar(db, "SELECT COUNT(*) FROM \"outbox\" WHERE \"SentAt\" IS NULL");
        }
        // Identifiers quoted: EF creates them so, and PostgreSQL would fold them to lower case otherwise.
        return new Projections(
            Scalar(ingestion, "SELECT COUNT(*) FROM \"Attendance\""),
            Scalar(ingestion, "SELECT COUNT(*) FROM (SELECT DISTINCT \"StudentId\", \"Date\", \"Period\" FROM \"Attendance\") AS keys"),
            Rows(ingestion, "SELECT \"StudentId\", \"Date\", \"Status\" FROM \"Attendance\"").Select(r => string.Join('|', r)).ToHashSet(),
            unsent,
            Rows(earlyWarning, "SELECT \"StudentId\", \"Date\", \"Status\" FROM \"AttendanceDays\"").Select(r => string.Join('|', r)).ToHashSet(),
            Rows(earlyWarning, "SELECT \"StudentId\", \"DaysEnrolled\", \"DaysAbsent\", \"ChronicallyAbsent\", \"Crossings\" FROM \"RiskStates\"").ToDictionary(r => r[0], r => string.Join('|', r.Skip(1))),
            Rows(earlyWarning, "SELECT \"AlertId\", \"StudentId\", \"Kind\", \"Crossing\" FROM \"Alerts\"").ToDictionary(r => Guid.Parse(r[0]), r => string.Join('|', r.Skip(1))),
            Rows(earlyWarning, "SELECT \"StudentId\", \"Kind\", \"Score\", \"Band\", \"Flagged\", \"Crossings\" FROM \"RiskScores\"").ToDictionary(r => $"{r[0]}|{r[1]}", r => string.Join('|', r.Skip(2))),
            Rows(interventions, "SELECT \"StudentId\", \"Date\", \"Status\" FROM \"Attendance\"").Select(r => string.Join('|', r)).ToHashSet(),
            Rows(interventions, "SELECT \"AlertId\", \"CaseId\" FROM \"CaseAlerts\"").ToDictionary(r => Guid.Parse(r[0]), r => Guid.Parse(r[1])),
            Rows(interventions, "SELECT \"StudentId\", COUNT(*) FROM \"Cases\" GROUP BY \"StudentId\"").ToDictionary(r => r[0], r => int.Parse(r[1], System.Globalization.CultureInfo.InvariantCulture)),
            [.. Rows(notifications, "SELECT \"StaffId\", \"SourceEventId\" FROM \"Feed\"").Select(r => (r[0], Guid.Parse(r[1])))],
            [.. Rows(notifications, "SELECT \"StaffId\", \"SourceEventId\", \"Channel\" FROM \"Deliveries\"").Select(r => (r[0], Guid.Parse(r[1]), r[2]))],
            Rows(ingestion, "SELECT \"StudentId\", \"ItemId\", \"AttemptNumber\", \"Correct\" FROM \"ItemResponses\"").Select(r => string.Join('|', r)).ToHashSet(),
            Rows(mastery, "SELECT \"StudentId\", \"ItemId\", \"AttemptNumber\", \"Correct\" FROM \"AppliedResponses\"").Select(r => string.Join('|', r)).ToHashSet(),
            // Probabilities exactly as stored (round-trip text): a replay must reach the same numbers, not nearly the same.
            Rows(mastery, "SELECT \"StudentId\", \"SkillId\", \"ProbabilityMastered\", \"PeakProbability\", \"Attempts\", \"CorrectAnswers\", \"Struggling\" FROM \"Mastery\"")
                .ToDictionary(r => $"{r[0]}|{r[1]}", r => string.Join('|', r.Skip(2))),
            Scalar(mastery, "SELECT COUNT(*) FROM \"Steps\""),
            Rows(ingestion, "SELECT \"StudentId\", \"CourseId\", \"Term\", \"MarkPercent\" FROM \"Grades\"").Select(r => string.Join('|', r)).ToHashSet(),
            Rows(earlyWarning, "SELECT \"StudentId\", \"CourseId\", \"Term\", \"MarkPercent\" FROM \"CourseMarks\"").Select(r => string.Join('|', r)).ToHashSet(),
            Rows(ingestion, "SELECT \"IncidentId\", \"StudentId\", \"Date\", \"Category\", \"Severity\" FROM \"BehaviorIncidents\"").Select(r => string.Join('|', r)).ToHashSet(),
            Rows(earlyWarning, "SELECT \"IncidentId\", \"StudentId\", \"Date\", \"Category\", \"Severity\" FROM \"BehaviorIncidents\"").Select(r => string.Join('|', r)).ToHashSet(),
            // The behaviour and course indicators' states: flag, crossings and score (the score exactly as stored).
            Rows(earlyWarning, "SELECT \"StudentId\", \"Kind\", \"Flagged\", \"Crossings\", \"Score\" FROM \"IndicatorStates\"")
                .ToDictionary(r => $"{r[0]}|{r[1]}", r => string.Join('|', r.Skip(2))));
    }

    /// <summary>A short fingerprint, to see when the platform has stopped changing.</summary>
    public string Fingerprint =>
        $"{IngestionRows}/{UnsentOutbox}/{EarlyWarningAttendance.Count}/{RiskStates.Count}/{Alerts.Count}/{RiskScores.Count}/{InterventionsAttendance.Count}/{CaseOfAlert.Count}/{FeedEntries.Count}/{Deliveries.Count}/{MasteryAnswers.Count}/{MasterySteps}/{IngestionGrades.Count}/{EarlyWarningMarks.Count}/{IngestionIncidents.Count}/{EarlyWarningIncidents.Count}/{IndicatorStates.Count}";

    private static long Scalar(DbConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Each value as text, the same on both engines: booleans 1/0 and dates yyyy-MM-dd (as SQLite stores them), doubles round-trip.</summary>
    private static List<string[]> Rows(DbConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string[]>();
        while (reader.Read())
        {
            var row = new string[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? "" : reader.GetValue(i) switch
                {
                    double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                    bool b => b ? "1" : "0",
                    DateTime { TimeOfDay.Ticks: 0 } date => date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                    DateOnly date => date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                    var other => Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture)!,
                };
            }
            rows.Add(row);
        }
        return rows;
    }
}
