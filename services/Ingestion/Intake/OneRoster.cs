using System.Globalization;
using Beacon.Contracts.Events;
using Beacon.Ingestion.Api;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;
using CsvHelper;
using CsvHelper.Configuration;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// OneRoster 1.2 CSV, the subset Beacon needs: orgs.csv (type "school"), users.csv (roles student,
/// teacher, counselor; school from primaryOrgSourcedId or the first of orgSourcedIds, as in 1.1),
/// classes.csv, enrollments.csv and demographics.csv (with the optional metadata.economicallyDisadvantaged,
/// metadata.englishLearner and metadata.disability extension columns). Other org types and roles are
/// skipped, not rejected. Positions read "users.csv:lines[4]".
/// </summary>
public sealed class OneRosterImport(IngestionDbContext db, RosterImport roster, SignalIntake intake, TimeProvider clock)
{
    public static readonly string[] KnownFiles = ["orgs.csv", "users.csv", "classes.csv", "enrollments.csv", "demographics.csv"];

    public sealed record Table(string File, List<(int Line, Dictionary<string, string> Row)> Rows);

    public static async Task<Table> ReadAsync(string file, Stream body, CancellationToken ct)
    {
        using var reader = new StreamReader(body);
        using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture) { MissingFieldFound = null, BadDataFound = null, TrimOptions = TrimOptions.Trim });
        var rows = new List<(int, Dictionary<string, string>)>();
        if (!await csv.ReadAsync() || !csv.ReadHeader())
        {
            return new Table(file, rows);
        }
        var header = csv.HeaderRecord!;
        var lastEnd = 1;
        while (await csv.ReadAsync())
        {
            ct.ThrowIfCancellationRequested();
            var row = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < header.Length; i++)
            {
                row[header[i]] = csv.TryGetField<string>(i, out var value) ? value ?? "" : "";
            }
            rows.Add((lastEnd + 1, row));
            lastEnd = csv.Parser.RawRow;
        }
        return new Table(file, rows);
    }

    public async Task<BatchSummary> ApplyAsync(IReadOnlyDictionary<string, Table> files, RowErrors errors, string source, CancellationToken ct)
    {
        Table Get(string name) => files.TryGetValue(name, out var t) ? t : new Table(name, []);
        static string Pos(Table t, int line) => $"{t.File}:lines[{line}]";

        var orgs = Get("orgs.csv");
        var users = Get("users.csv");
        var enrollments = Get("enrollments.csv");
        var schoolOfEnrollment = enrollments.Rows
            .Where(r => Field(r.Row, "role") == "student" && Field(r.Row, "userSourcedId") is not null && Field(r.Row, "schoolSourcedId") is not null)
            .GroupBy(r => r.Row["userSourcedId"]).ToDictionary(g => g.Key, g => g.First().Row["schoolSourcedId"]);

        string? SchoolOf(Dictionary<string, string> user) =>
            Field(user, "primaryOrgSourcedId")
            ?? Field(user, "orgSourcedIds")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()
            ?? (Field(user, "sourcedId") is { } id ? schoolOfEnrollment.GetValueOrDefault(id) : null);

        var schools = orgs.Rows.Where(r => string.Equals(Field(r.Row, "type"), "school", StringComparison.OrdinalIgnoreCase))
            .Select(r => new Positioned<SchoolRow>(Pos(orgs, r.Line), new SchoolRow(Field(r.Row, "sourcedId"), Field(r.Row, "name"))));
        var staff = users.Rows.Where(r => Field(r.Row, "role") is "teacher" or "counselor")
            .Select(r => new Positioned<StaffRow>(Pos(users, r.Line), new StaffRow(Field(r.Row, "sourcedId"), SchoolOf(r.Row), Field(r.Row, "role"),
                Field(r.Row, "givenName"), Field(r.Row, "familyName"), Field(r.Row, "email"))));
        var students = users.Rows.Where(r => Field(r.Row, "role") == "student")
            .Select(r => new Positioned<StudentRow>(Pos(users, r.Line), new StudentRow(Field(r.Row, "sourcedId"), SchoolOf(r.Row),
                Field(r.Row, "givenName"), Field(r.Row, "familyName"), Field(r.Row, "grades")?.Split(',')[0])));
        var summary = await roster.ApplyAsync(new RosterRows(schools.ToList(), staff.ToList(), students.ToList()), errors, source, ct);

        var (sections, memberships, demographics) = await ApplySectionsAndDemographicsAsync(Get("classes.csv"), enrollments, Get("demographics.csv"), errors,
            new BatchContext(summary.BatchId, source), ct);
        var others = Get("classes.csv").Rows.Count + enrollments.Rows.Count + Get("demographics.csv").Rows.Count;
        return summary with
        {
            Kind = "oneroster",
            Received = summary.Received + others,
            Accepted = summary.Accepted + sections + memberships + demographics,
            Unchanged = summary.Unchanged + others - sections - memberships - demographics - (errors.RejectedRows - summary.Rejected),
            Rejected = errors.RejectedRows,
        };
    }

    private async Task<(int Sections, int Memberships, int Demographics)> ApplySectionsAndDemographicsAsync(Table classes, Table enrollments, Table demographicsFile,
        RowErrors errors, BatchContext batch, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var schools = (await db.Schools.AsNoTracking().Select(s => s.SchoolId).ToListAsync(ct)).ToHashSet();
        var people = (await db.Students.AsNoTracking().Select(s => s.StudentId).ToListAsync(ct))
            .Concat(await db.Staff.AsNoTracking().Select(s => s.StaffId).ToListAsync(ct)).ToHashSet();

        var existingSections = await db.Sections.ToDictionaryAsync(s => s.SectionId, ct);
        var sections = 0;
        foreach (var (line, row) in classes.Rows)
        {
            var position = $"{classes.File}:lines[{line}]";
            var id = Field(row, "sourcedId");
            var school = Field(row, "schoolSourcedId");
            if (id is null || school is null || !schools.Contains(school))
            {
                errors.Add(position, string.Join(',', row.Values), id is null ? "sourcedId" : "schoolSourcedId",
                    id is null ? "is required." : $"school '{Rules.Show(school)}' is not on the roster.");
                continue;
            }
            var title = Field(row, "title") ?? id;
            if (existingSections.TryGetValue(id, out var section))
            {
                (section.SchoolId, section.Title) = (school, title);
            }
            else
            {
                existingSections[id] = db.Sections.Add(new Section { SectionId = id, SchoolId = school, Title = title }).Entity;
                sections++;
            }
        }

        var existingMemberships = (await db.SectionEnrollments.AsNoTracking().Select(e => new { e.SectionId, e.PersonId }).ToListAsync(ct))
            .Select(e => (e.SectionId, e.PersonId)).ToHashSet();
        var memberships = 0;
        foreach (var (line, row) in enrollments.Rows)
        {
            var position = $"{enrollments.File}:lines[{line}]";
            var sectionId = Field(row, "classSourcedId");
            var person = Field(row, "userSourcedId");
            if (sectionId is null || !existingSections.ContainsKey(sectionId))
            {
                errors.Add(position, string.Join(',', row.Values), "classSourcedId", $"class '{Rules.Show(sectionId)}' is not in classes.csv or on the roster.");
                continue;
            }
            if (person is null || !people.Contains(person))
            {
                errors.Add(position, string.Join(',', row.Values), "userSourcedId", $"user '{Rules.Show(person)}' is not on the roster.");
                continue;
            }
            if (existingMemberships.Add((sectionId, person)))
            {
                db.SectionEnrollments.Add(new SectionEnrollment { SectionId = sectionId, PersonId = person, Role = Field(row, "role") ?? "student" });
                memberships++;
            }
        }

        var existingDemographics = await db.Demographics.ToDictionaryAsync(d => d.StudentId, ct);
        var demographics = 0;
        foreach (var (line, row) in demographicsFile.Rows)
        {
            var position = $"{demographicsFile.File}:lines[{line}]";
            var id = Field(row, "sourcedId");
            if (id is null || !people.Contains(id))
            {
                errors.Add(position, string.Join(',', row.Values), "sourcedId", $"user '{Rules.Show(id)}' is not on the roster.");
                continue;
            }
            var incoming = new StudentDemographics
            {
                StudentId = id,
                Sex = Field(row, "sex"),
                RaceEthnicity = RaceEthnicity(row),
                EconomicallyDisadvantaged = Flag(row, "metadata.economicallyDisadvantaged"),
                EnglishLearner = Flag(row, "metadata.englishLearner"),
                Disability = Flag(row, "metadata.disability"),
            };
            if (existingDemographics.TryGetValue(id, out var stored))
            {
                db.Entry(stored).CurrentValues.SetValues(incoming);
            }
            else
            {
                db.Demographics.Add(incoming);
                demographics++;
            }
            db.Publish(new StudentDemographicsRecorded(id, incoming.Sex, incoming.RaceEthnicity, incoming.EconomicallyDisadvantaged,
                incoming.EnglishLearner, incoming.Disability, now));
        }
        intake.Quarantine("oneroster", batch, errors.TakePending(), now);
        await db.SaveChangesAsync(ct);
        return (sections, memberships, demographics);
    }

    /// <summary>A cell's value, or null when the column is missing or the cell empty.</summary>
    private static string? Field(Dictionary<string, string> row, string name) => row.TryGetValue(name, out var v) && v.Length > 0 ? v : null;

    private static bool? Flag(Dictionary<string, string> row, string column) =>
        row.TryGetValue(column, out var v) ? v.Trim().ToLowerInvariant() switch { "true" or "yes" or "1" => true, "false" or "no" or "0" => false, _ => null } : null;

    /// <summary>One label per student, following the federal two-question convention: Hispanic/Latino first, then one race, or two or more.</summary>
    private static string? RaceEthnicity(Dictionary<string, string> row)
    {
        if (Flag(row, "hispanicOrLatinoEthnicity") == true)
        {
            return "hispanic-or-latino";
        }
        var races = new[] { "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white" }
            .Where(r => Flag(row, r) == true).ToList();
        return Flag(row, "demographicRaceTwoOrMoreRaces") == true || races.Count > 1 ? "two-or-more" : races.SingleOrDefault();
    }
}
