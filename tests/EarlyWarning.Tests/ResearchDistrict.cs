using System.Globalization;
using System.IO.Compression;
using System.Text;
using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Testing;
using CsvHelper;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// A small district put straight into Early warning's projections for the research profile and extract: one school year
/// of 8 weeks (2024-09-02 to 2024-10-25, Columbus Day off: 39 school days), two students with every signal known to the
/// day (<see cref="Ada"/> and <see cref="Leaver"/>, who dropped out on 2024-10-10), and 40 more with seeded demographics
/// in two schools, so that k-anonymity has something to do. Data of the year before must stay out of the year's rows.
/// </summary>
public class ResearchDistrict : ServiceFactory<Program>
{
    public const string Year = "2024-2025", Key = "district-research-key-0123456789-abcdefghij", OtherKey = "another-district-key-9876543210-zyxwvutsrq";
    public const string Ada = "rx-stu-ada", Leaver = "rx-stu-leaver", Lone = "pacific-islander";
    public static readonly DateOnly First = new(2024, 9, 2), Last = new(2024, 10, 25), Holiday = new(2024, 10, 14);
    public static readonly string[] Generic = [.. Enumerable.Range(1, 40).Select(i => $"rx-stu-{i:00}")];

    public ResearchDistrict()
    {
        Settings["Research:PseudonymKey"] = Key;
        Settings["EarlyWarning:Scoring:Enabled"] = "false";
        Settings["EarlyWarning:Monitoring:Enabled"] = "false";
    }

    /// <summary>Whether this district's database is PostgreSQL (<see cref="PostgresResearchDistrict"/>).</summary>
    public virtual bool OnPostgres => false;

    public static IEnumerable<string> Everyone => Generic.Append(Ada).Append(Leaver);

    public static IEnumerable<DateOnly> SchoolDays(DateOnly from, DateOnly through)
    {
        for (var day = from; day <= through; day = day.AddDays(1))
        {
            if (day.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && day != Holiday)
            {
                yield return day;
            }
        }
    }

    public Task SeedAsync() => SeedOnceAsync(() => WithDbAsync<EarlyWarningDbContext, int>(db =>
    {
        var now = DateTimeOffset.UtcNow;
        db.CalendarYears.Add(new CalendarYearRow { SchoolYear = Year, FirstDay = First, LastDay = Last, NonInstructionalJson = $"[{{\"From\":\"{Holiday:yyyy-MM-dd}\",\"To\":\"{Holiday:yyyy-MM-dd}\"}}]", OccurredAt = now });
        db.CalendarYears.Add(new CalendarYearRow { SchoolYear = "2023-2024", FirstDay = new(2023, 9, 4), LastDay = new(2024, 6, 14), OccurredAt = now });
        var absent = new HashSet<DateOnly> { new(2024, 9, 6), new(2024, 9, 13), new(2024, 10, 4), new(2024, 10, 18) };
        void Days(string student, DateOnly through, ISet<DateOnly> absences) => db.AttendanceDays.AddRange(SchoolDays(First, through)
            .Select(d => new AttendanceDay { StudentId = student, Date = d, Status = absences.Contains(d) ? "absent" : "present" }));

        // Ada: every signal, with values the test knows.
        db.Roster.Add(new StudentRosterRow { StudentId = Ada, SchoolId = "north", GivenName = "Ada", FamilyName = "Lovelace", GradeLevel = "09", OccurredAt = now });
        db.Demographics.Add(new StudentDemographics { StudentId = Ada, Sex = "F", RaceEthnicity = "white", EconomicallyDisadvantaged = true, EnglishLearner = false });
        Days(Ada, Last, absent);
        db.AttendanceDays.Add(new AttendanceDay { StudentId = Ada, Date = new(2024, 3, 4), Status = "absent" });   // the year before
        db.CourseMarks.AddRange(Mark(Ada, "math", "2024-T1", 55, new(2024, 10, 1)), Mark(Ada, "english", "2024-T1", 80, new(2024, 10, 2)),
            Mark(Ada, "math", "2023-T2", 20, new(2023, 12, 1)));
        db.BehaviorIncidents.AddRange(Incident(Ada, "i1", new(2024, 9, 20), "fighting", "major"), Incident(Ada, "i2", new(2024, 10, 3), "disruption", "minor"),
            Incident(Ada, "i0", new(2023, 11, 3), "fighting", "major"));
        db.LmsActivity.AddRange(Lms(Ada, "l1", new(2024, 9, 10, 9, 0, 0, TimeSpan.Zero), 600), Lms(Ada, "l2", new(2024, 9, 10, 14, 0, 0, TimeSpan.Zero), 300),
            Lms(Ada, "l3", new(2024, 9, 12, 9, 0, 0, TimeSpan.Zero), 120), Lms(Ada, "l4", new(2024, 9, 13, 9, 0, 0, TimeSpan.Zero), 900, voided: true));
        db.SkillMastery.AddRange(Skill(Ada, "fractions", 5, true), Skill(Ada, "ratios", 2, false), Skill(Ada, "algebra", 0, false));
        db.ScoreSnapshots.AddRange(Snapshot(Ada, "dropout", new(2024, 10, 14), 0.4, 0.3, true), Snapshot(Ada, "dropout", new(2024, 10, 21), 0.35, 0.3, true),
            Snapshot(Ada, "chronic-absence", new(2024, 10, 21), 0.1, 0.5, false));
        db.YearOutcomes.AddRange(Outcome(Ada, "chronic-absence", "chronically-absent"), Outcome(Ada, "dropout", "finished-year"));

        // The leaver: present every day until dropping out on Thursday 2024-10-10.
        db.Roster.Add(new StudentRosterRow { StudentId = Leaver, SchoolId = "south", GivenName = "Bartholomew", FamilyName = "Quincey", GradeLevel = "11", OccurredAt = now });
        db.Demographics.Add(new StudentDemographics { StudentId = Leaver, Sex = "M", RaceEthnicity = Lone });
        Days(Leaver, new(2024, 10, 10), new HashSet<DateOnly>());
        db.StudentExits.Add(new StudentExitRow { StudentId = Leaver, SchoolId = "south", ExitCode = "dropped-out", Reason = "left school", ExitedOn = new(2024, 10, 10), OccurredAt = now });

        var random = new Random(7);
        string[] races = ["white", "black", "hispanic", "asian"];
        foreach (var student in Generic)
        {
            var school = random.Next(2) == 0 ? "north" : "south";
            db.Roster.Add(new StudentRosterRow
            {
                StudentId = student,
                SchoolId = school,
                GivenName = $"Given{student[^2..]}",
                FamilyName = $"Family{student[^2..]}",
                GradeLevel = $"{random.Next(9, 13):00}",
                OccurredAt = now
            });
            db.Demographics.Add(new StudentDemographics
            {
                StudentId = student,
                Sex = random.Next(2) == 0 ? "F" : "M",
                RaceEthnicity = races[random.Next(races.Length)],
                EconomicallyDisadvantaged = random.Next(2) == 0,
                EnglishLearner = random.Next(4) == 0,
                Disability = random.Next(5) == 0,
            });
            Days(student, Last, SchoolDays(First, Last).Where(_ => random.Next(12) == 0).ToHashSet());
            if (random.Next(3) == 0)
            {
                db.BehaviorIncidents.Add(Incident(student, $"g{student}", SchoolDays(First, Last).ElementAt(random.Next(39)), "disruption", "minor", school));
            }
        }
        // Someone of the year before only.
        db.AttendanceDays.Add(new AttendanceDay { StudentId = "rx-stu-gone", Date = new(2024, 2, 5), Status = "present" });
        return db.SaveChangesAsync();
    }));

    private static CourseMarkRow Mark(string s, string course, string term, double mark, DateOnly date) =>
        new() { StudentId = s, CourseId = course, Term = term, SchoolId = "north", MarkPercent = mark, Date = date, OccurredAt = DateTimeOffset.UtcNow };

    private static BehaviorIncidentRow Incident(string s, string id, DateOnly date, string category, string severity, string school = "north") =>
        new() { IncidentId = id, StudentId = s, SchoolId = school, Date = date, Category = category, Severity = severity, OccurredAt = DateTimeOffset.UtcNow };

    private static LmsActivityRow Lms(string s, string id, DateTimeOffset at, double seconds, bool voided = false) =>
        new() { StatementId = id, StudentId = s, Verb = "completed", ObjectId = "unit", DurationSeconds = seconds, Timestamp = at, Voided = voided };

    private static SkillMasteryRow Skill(string s, string skill, int attempts, bool mastered) =>
        new() { StudentId = s, SkillId = skill, Attempts = attempts, Mastered = mastered, ProbabilityMastered = mastered ? 0.97 : 0.3, OccurredAt = DateTimeOffset.UtcNow };

    private static ScoreSnapshot Snapshot(string s, string kind, DateOnly week, double score, double threshold, bool flagged) =>
        new() { StudentId = s, Kind = kind, WeekStart = week, SchoolId = "north", Score = score, Threshold = threshold, Flagged = flagged, ScoredAt = DateTimeOffset.UtcNow };

    private static YearOutcomeRow Outcome(string s, string kind, string outcome) =>
        new() { StudentId = s, Kind = kind, SchoolYear = Year, Outcome = outcome, AtRisk = outcome != "finished-year", KnownOn = Last, RecordedAt = DateTimeOffset.UtcNow };

    /// <summary>A CSV file's rows as column → cell.</summary>
    public static List<Dictionary<string, string>> Csv(string text)
    {
        using var csv = new CsvReader(new StringReader(text), CultureInfo.InvariantCulture);
        csv.Read();
        csv.ReadHeader();
        var header = csv.HeaderRecord!;
        var rows = new List<Dictionary<string, string>>();
        while (csv.Read())
        {
            rows.Add(header.ToDictionary(h => h, h => csv.GetField(h)!));
        }
        return rows;
    }

    /// <summary>Every entry of a zip, by name.</summary>
    public static Dictionary<string, byte[]> Unzip(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        return archive.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var copy = new MemoryStream();
            using (var stream = e.Open())
            {
                stream.CopyTo(copy);
            }
            return copy.ToArray();
        });
    }

    public static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}

/// <summary>The same district on PostgreSQL (./beacon test sets BEACON_TEST_POSTGRES; without it the district stays on SQLite).</summary>
public sealed class PostgresResearchDistrict : ResearchDistrict
{
    public PostgresResearchDistrict()
    {
        if (TestEnvironment.Postgres is { } server)
        {
            ConnectionString = TestPostgres.NewDatabase(server);
        }
    }

    public override bool OnPostgres => TestEnvironment.Postgres is not null;
}
