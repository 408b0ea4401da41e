using Beacon.EarlyWarning.Scoring;

namespace Beacon.EarlyWarning.Storage;

/// <summary>What a column is to the research extract: how it is protected there (<see cref="Governance.ResearchExtracts"/>).</summary>
public enum ColumnRole
{
    /// <summary>Names the student directly: dropped (the id becomes the pseudonym).</summary>
    Identifier,

    /// <summary>Could single a student out in combination with others: generalized to k-anonymity.</summary>
    QuasiIdentifier,

    /// <summary>A date: shifted by the student's own offset.</summary>
    Date,

    /// <summary>A count of rare events: small values reported as a range.</summary>
    Count,

    /// <summary>Kept as it is.</summary>
    Value,
}

/// <summary>A column of the profile: its name and type in the file, its role in the extract, how it is read from a profile.</summary>
public sealed record ProfileColumn(string Name, ColumnType Type, ColumnRole Role, Func<StudentProfile, object?> Value)
{
    public TableColumn Table => new(Name, Type);
}

/// <summary>The columns of the analyst profile, in order: the one list the profile and the extract are written from.</summary>
public static class ProfileColumns
{
    public const string School = "school_id", Grade = "grade_level", Sex = "sex", Race = "race_ethnicity",
        Economic = "economically_disadvantaged", EnglishLearner = "english_learner", Disability = "disability";

    public static IReadOnlyList<ProfileColumn> All { get; } = Build();

    private static List<ProfileColumn> Build()
    {
        var columns = new List<ProfileColumn>
        {
            new("student_id", ColumnType.Text, ColumnRole.Identifier, p => p.StudentId),
            new("given_name", ColumnType.Text, ColumnRole.Identifier, p => p.GivenName),
            new("family_name", ColumnType.Text, ColumnRole.Identifier, p => p.FamilyName),
            new("school_year", ColumnType.Text, ColumnRole.Value, p => p.SchoolYear),
            new(School, ColumnType.Text, ColumnRole.QuasiIdentifier, p => p.SchoolId),
            new(Grade, ColumnType.Text, ColumnRole.QuasiIdentifier, p => p.GradeLevel),
            new(Sex, ColumnType.Text, ColumnRole.QuasiIdentifier, p => p.Sex),
            new(Race, ColumnType.Text, ColumnRole.QuasiIdentifier, p => p.RaceEthnicity),
            new(Economic, ColumnType.Boolean, ColumnRole.QuasiIdentifier, p => p.EconomicallyDisadvantaged),
            new(EnglishLearner, ColumnType.Boolean, ColumnRole.QuasiIdentifier, p => p.EnglishLearner),
            new(Disability, ColumnType.Boolean, ColumnRole.QuasiIdentifier, p => p.Disability),
            new("days_enrolled", ColumnType.Integer, ColumnRole.Value, p => p.DaysEnrolled),
            new("days_absent", ColumnType.Integer, ColumnRole.Value, p => p.DaysAbsent),
            new("attendance_rate", ColumnType.Number, ColumnRole.Value, p => p.AttendanceRate),
            new("first_attendance_date", ColumnType.Date, ColumnRole.Date, p => p.FirstAttendanceDate),
            new("last_attendance_date", ColumnType.Date, ColumnRole.Date, p => p.LastAttendanceDate),
            new("courses_graded", ColumnType.Integer, ColumnRole.Value, p => p.CoursesGraded),
            new("mark_mean", ColumnType.Number, ColumnRole.Value, p => p.MarkMean),
            new("course_failures", ColumnType.Integer, ColumnRole.Count, p => p.CourseFailures),
            new("incidents", ColumnType.Integer, ColumnRole.Count, p => p.Incidents),
            new("major_incidents", ColumnType.Integer, ColumnRole.Count, p => p.MajorIncidents),
            new("last_incident_date", ColumnType.Date, ColumnRole.Date, p => p.LastIncidentDate),
            new("lms_statements", ColumnType.Integer, ColumnRole.Value, p => p.LmsStatements),
            new("lms_active_days", ColumnType.Integer, ColumnRole.Value, p => p.LmsActiveDays),
            new("lms_minutes", ColumnType.Number, ColumnRole.Value, p => p.LmsMinutes),
            new("last_lms_date", ColumnType.Date, ColumnRole.Date, p => p.LastLmsDate),
            new("skills_attempted", ColumnType.Integer, ColumnRole.Value, p => p.SkillsAttempted),
            new("skills_mastered", ColumnType.Integer, ColumnRole.Value, p => p.SkillsMastered),
        };
        foreach (var kind in ScoredKinds.All)
        {
            var name = kind.Replace('-', '_');
            columns.Add(new($"{name}_score", ColumnType.Number, ColumnRole.Value, p => p.Risks.GetValueOrDefault(kind)?.Score));
            columns.Add(new($"{name}_band", ColumnType.Text, ColumnRole.Value, p => p.Risks.GetValueOrDefault(kind)?.Band));
            columns.Add(new($"{name}_flagged", ColumnType.Boolean, ColumnRole.Value, p => p.Risks.GetValueOrDefault(kind)?.Flagged));
            columns.Add(new($"{name}_score_week", ColumnType.Date, ColumnRole.Date, p => p.Risks.GetValueOrDefault(kind)?.Week));
            columns.Add(new($"{name}_outcome", ColumnType.Text, ColumnRole.Value, p => p.Outcomes.GetValueOrDefault(kind)));
        }
        columns.Add(new("exit_code", ColumnType.Text, ColumnRole.Value, p => p.ExitCode));
        columns.Add(new("exit_date", ColumnType.Date, ColumnRole.Date, p => p.ExitDate));
        return columns;
    }

    public static IReadOnlyList<TableColumn> Table { get; } = [.. All.Select(c => c.Table)];

    public static object?[] Row(StudentProfile profile) => [.. All.Select(c => c.Value(profile))];
}
