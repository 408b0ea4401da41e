using System.Globalization;
using Beacon.Contracts.Events;
using Beacon.Ingestion.Apis;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;
using CsvHelper;
using CsvHelper.Configuration;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// OneRoster 1.1 and 1.2 CSV, the files Beacon needs (see <see cref="OneRosterBundle"/> for the rest): orgs.csv (schools;
/// departments resolve to their school through parentSourcedId), users.csv (roles student, teacher, counselor: 1.1 in
/// users.csv, 1.2 in roles.csv, primary role first; school from primaryOrgSourcedId, orgSourcedIds, the roles' orgs or
/// the student's enrollment, the first that resolves to a school), classes.csv, enrollments.csv and demographics.csv
/// (with the optional metadata.economicallyDisadvantaged, metadata.englishLearner and metadata.disability extension
/// columns), academicSessions.csv, and parents, guardians and relatives as students' contacts (OneRosterDelta.cs).
/// Columns are found by name, in any order; extension columns are ignored. Rows whose status is tobedeleted end an
/// enrollment, withdraw a student (kept, never erased), end a class, close a school, remove a session. Other org types
/// and roles are skipped, not rejected. Positions read "users.csv:lines[4]".
/// </summary>
public sealed partial class OneRosterImport(IngestionDbContext db, RosterImport roster, SignalIntake intake, TimeProvider clock, IOptions<OneRosterOptions> settings)
{
    /// <summary>
    /// One file's rows (or one REST collection's records). A CSV row's position is its file line ("users.csv:lines[4]");
    /// a REST record's is its index in the collection as pulled ("users[3]").
    /// </summary>
    public sealed record Table(string File, List<(int Line, Dictionary<string, string> Row)> Rows)
    {
        public string At(int line) => File.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? $"{File}:lines[{line}]" : $"{File}[{line}]";
    }

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

    /// <param name="recordedAt">A backfill's time of record (?recordedAt=): the time exits took place; null: now.</param>
    /// <param name="bulkFiles">The files manifest.csv declares bulk: what they no longer list has ended (OneRosterBulk.cs).</param>
    public async Task<BatchSummary> ApplyAsync(IReadOnlyDictionary<string, Table> received, RowErrors errors, string source, CancellationToken ct,
        DateTimeOffset? recordedAt = null, IReadOnlySet<string>? bulkFiles = null)
    {
        // Rows older than what was applied for their record are left out first (OneRosterOrder.cs).
        var (files, stale) = await WithoutStaleRowsAsync(received, ct);
        Table Get(string name) => files.TryGetValue(name, out var t) ? t : new Table(name, []);
        static string Pos(Table t, int line) => t.At(line);
        // Deleted orgs, users and classes are not upserted: ApplyDeletionsAsync withdraws, ends and closes them.
        Table Live(Table t) => new(t.File, [.. t.Rows.Where(r => !IsDeleted(r.Row))]);

        var orgs = Live(Get("orgs.csv"));
        var users = Live(Get("users.csv"));
        var classes = Live(Get("classes.csv"));
        var enrollments = Get("enrollments.csv");
        var hierarchy = new OrgHierarchy(orgs);
        var schoolOfEnrollment = enrollments.Rows
            .Where(r => !IsDeleted(r.Row) && Field(r.Row, "role") == "student" && Field(r.Row, "userSourcedId") is not null && Field(r.Row, "schoolSourcedId") is not null)
            .GroupBy(r => r.Row["userSourcedId"]).ToDictionary(g => g.Key, g => g.First().Row["schoolSourcedId"]);
        // OneRoster 1.2 keeps a user's roles in roles.csv (primary first); 1.1 has one role column in users.csv.
        var roles = Get("roles.csv").Rows.Where(r => !IsDeleted(r.Row) && Field(r.Row, "userSourcedId") is not null)
            .GroupBy(r => r.Row["userSourcedId"])
            .ToDictionary(g => g.Key, g => g.OrderBy(r => string.Equals(Field(r.Row, "roleType"), "primary", StringComparison.OrdinalIgnoreCase) ? 0 : 1).Select(r => r.Row).ToList());

        string? RoleOf(Dictionary<string, string> user) =>
            Field(user, "role") ?? (Field(user, "sourcedId") is { } id && roles.TryGetValue(id, out var list) ? Field(list[0], "role") : null);

        string? SchoolOf(Dictionary<string, string> user)
        {
            var id = Field(user, "sourcedId");
            var candidates = new[] { Field(user, "primaryOrgSourcedId") }
                .Concat(Field(user, "orgSourcedIds")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [])
                .Concat(id is not null && roles.TryGetValue(id, out var list) ? list.Select(r => Field(r, "orgSourcedId")) : [])
                .Append(id is not null ? schoolOfEnrollment.GetValueOrDefault(id) : null)
                .OfType<string>().ToList();
            // The first that is (or sits below) a school; else the first named, so an unknown org is reported by name.
            return candidates.Select(hierarchy.SchoolOf).FirstOrDefault(s => s is not null)
                ?? candidates.FirstOrDefault(c => !hierarchy.IsAboveSchools(c));
        }

        var schools = orgs.Rows.Where(r => string.Equals(Field(r.Row, "type"), "school", StringComparison.OrdinalIgnoreCase))
            .Select(r => new Positioned<SchoolRow>(Pos(orgs, r.Line), new SchoolRow(Field(r.Row, "sourcedId"), Field(r.Row, "name"))));
        // Each user's role and school, resolved once.
        var resolvedUsers = users.Rows.Select(r => (r.Line, r.Row, Role: RoleOf(r.Row), School: SchoolOf(r.Row))).ToList();
        // Staff whose only org is a district (or above) work for no one school: not imported, not an error.
        var staff = resolvedUsers.Where(p => p.Role is "teacher" or "counselor" && p.School is not null)
            // Their mobile number for SMS: the sms column (a number that takes texts), else phone.
            .Select(p => new Positioned<StaffRow>(Pos(users, p.Line), new StaffRow(Field(p.Row, "sourcedId"), p.School, p.Role,
                Field(p.Row, "givenName"), Field(p.Row, "familyName"), Field(p.Row, "email"), Field(p.Row, "sms") ?? Field(p.Row, "phone"))));
        var students = resolvedUsers.Where(p => p.Role == "student")
            .Select(p => new Positioned<StudentRow>(Pos(users, p.Line), new StudentRow(Field(p.Row, "sourcedId"), p.School,
                Field(p.Row, "givenName"), Field(p.Row, "familyName"), Field(p.Row, "grades")?.Split(',')[0])));
        var summary = await roster.ApplyAsync(new RosterRows(schools.ToList(), staff.ToList(), students.ToList()), errors, source, ct);
        await KeepIdentifiersAsync(resolvedUsers.Where(p => p.Role == "student").Select(p => p.Row), ct);
        var others = classes.Rows.Count + enrollments.Rows.Count + Get("demographics.csv").Rows.Count + Get("academicSessions.csv").Rows.Count;
        // The schools this bundle speaks for: a bulk file ends records of these only.
        var covered = schools.Select(s => s.Row.SchoolId).Concat(resolvedUsers.Select(p => p.School)).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var known = (await db.Schools.AsNoTracking().Select(s => s.SchoolId).ToListAsync(ct)).ToHashSet(StringComparer.Ordinal);
        covered.IntersectWith(known);
        var (allOrgs, allUsers, allClasses, allEnrollments, bulkEnded) = await WithMissingFromBulkAsync(bulkFiles ?? new HashSet<string>(), covered, source,
            Get("orgs.csv"), Get("users.csv"), Get("classes.csv"), enrollments, received, ct);
        enrollments = allEnrollments;
        var touchedSections = await SectionsTouchedAsync(allUsers, allClasses, enrollments, ct);
        var deleted = await ApplyDeletionsAsync(allUsers, allClasses, allOrgs, source, recordedAt, ct);
        var contacts = await KeepContactsAsync([.. resolvedUsers.Where(p => p.Role is not null && ContactRoles.Contains(p.Role)).Select(p => (p.Row, p.Role!))],
            [.. resolvedUsers.Where(p => p.Role == "student").Select(p => p.Row)], ct);
        var sessionsFile = Get("academicSessions.csv");
        var sessions = await KeepSessionsAsync(sessionsFile, errors, ct);

        var resolvedClasses = new Table(classes.File, [.. classes.Rows.Select(r => (r.Line, WithSchool(r.Row, hierarchy)))]);
        var (sections, memberships, demographics) = await ApplySectionsAndDemographicsAsync(resolvedClasses, enrollments, Get("demographics.csv"), errors,
            new BatchContext(summary.BatchId, source), ct);
        // Its rows are counted with the enrollments; what it changes shows in the students' status and events.
        await FollowClassEnrollmentsAsync(enrollments, users, source, recordedAt, ct);
        await PublishSectionRostersAsync(touchedSections, ct);
        await RecordVersionsAsync(files, ct);
        return summary with
        {
            Kind = "oneroster",
            Received = summary.Received + others + deleted,
            Accepted = summary.Accepted + sections + memberships + demographics + sessions,
            Unchanged = summary.Unchanged + others - sections - memberships - demographics - sessions - (errors.RejectedRows - summary.Rejected),
            Corrected = summary.Corrected + deleted,
            Rejected = errors.RejectedRows,
            Contacts = contacts,
            EndedByBulk = bulkFiles is { Count: > 0 } ? bulkEnded : null,
            Stale = stale,
        };
    }

    /// <summary>
    /// The identifiers learning tools know a student by, kept for the xAPI identifier map: identifier, each id of userIds
    /// ({type:id} pairs), username, and email (as an mbox and as its mbox_sha1sum). Only students now on the roster.
    /// </summary>
    private async Task KeepIdentifiersAsync(IEnumerable<Dictionary<string, string>> studentUsers, CancellationToken ct)
    {
        var byId = studentUsers.Where(u => Field(u, "sourcedId") is not null).GroupBy(u => u["sourcedId"]).ToDictionary(g => g.Key, g => g.Last());
        var ids = byId.Keys.ToList();
        var onRoster = await db.Students.AsNoTracking().Where(s => ids.Contains(s.StudentId)).Select(s => s.StudentId).ToListAsync(ct);
        var identifiers = new Dictionary<(string, string), StudentIdentifier>();
        foreach (var id in onRoster)
        {
            var user = byId[id];
            var keys = new List<(string Kind, string? Value)> { (IdentifierKinds.Identifier, Field(user, "identifier")), (IdentifierKinds.Username, Field(user, "username")) };
            keys.AddRange(UserIds().Matches(Field(user, "userIds") ?? "").Select(m => (IdentifierKinds.UserId, (string?)m.Groups["id"].Value.Trim())));
            if (Field(user, "email") is { } email)
            {
                keys.AddRange(XapiApi.EmailIdentifiers(email).Select(e => (e.Kind, (string?)e.Value)));
            }
            foreach (var (kind, value) in keys.Where(k => k.Value is { Length: > 0 and <= 320 }))
            {
                identifiers[(kind, value!)] = new StudentIdentifier { Kind = kind, Value = value!, StudentId = id, Source = "oneroster" };
            }
        }
        await XapiApi.UpsertIdentifiersAsync(db, [.. identifiers.Values], ct);
        await db.SaveChangesAsync(ct);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\{(?<type>[^:{}]*):(?<id>[^{}]*)\}")]
    private static partial System.Text.RegularExpressions.Regex UserIds();

    /// <summary>OneRoster 1.1 and 1.2 both write "tobedeleted" in the status column of a delta file.</summary>
    public static bool IsDeleted(Dictionary<string, string> row) =>
        string.Equals(Field(row, "status"), "tobedeleted", StringComparison.OrdinalIgnoreCase);

    private static Dictionary<string, string> WithSchool(Dictionary<string, string> row, OrgHierarchy hierarchy)
    {
        if (Field(row, "schoolSourcedId") is { } org && hierarchy.SchoolOf(org) is { } school && school != org)
        {
            row = new Dictionary<string, string>(row, StringComparer.OrdinalIgnoreCase) { ["schoolSourcedId"] = school };
        }
        return row;
    }

    /// <summary>orgs.csv's tree: a department belongs to the school above it; districts and above hold no one school.</summary>
    private sealed class OrgHierarchy(Table orgs)
    {
        private readonly Dictionary<string, (string Type, string? Parent)> _orgs = orgs.Rows
            .Where(r => Field(r.Row, "sourcedId") is not null)
            .GroupBy(r => r.Row["sourcedId"])
            .ToDictionary(g => g.Key, g => ((Field(g.Last().Row, "type") ?? "").ToLowerInvariant(), Field(g.Last().Row, "parentSourcedId")));

        /// <summary>The school an org is or belongs to; the id itself when orgs.csv does not list it (the roster may).</summary>
        public string? SchoolOf(string org)
        {
            for (var (current, depth) = (org, 0); depth < 16; depth++)
            {
                if (!_orgs.TryGetValue(current, out var o))
                {
                    return depth == 0 ? current : null;
                }
                if (o.Type == "school")
                {
                    return current;
                }
                if (o.Type != "department" || o.Parent is null)
                {
                    return null;
                }
                current = o.Parent;
            }
            return null;   // a cycle of departments
        }

        public bool IsAboveSchools(string org) => _orgs.TryGetValue(org, out var o) && o.Type is "district" or "local" or "state" or "national";
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
            var position = classes.At(line);
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
            var position = enrollments.At(line);
            var sectionId = Field(row, "classSourcedId");
            var person = Field(row, "userSourcedId");
            if (IsDeleted(row))
            {
                // A delta's deleted enrollment ends the membership (the student stays on the roster).
                if (sectionId is not null && person is not null && existingMemberships.Remove((sectionId, person)))
                {
                    db.SectionEnrollments.RemoveRange(await db.SectionEnrollments.Where(e => e.SectionId == sectionId && e.PersonId == person).ToListAsync(ct));
                }
                continue;
            }
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
            var position = demographicsFile.At(line);
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
    internal static string? Field(Dictionary<string, string> row, string name) => row.TryGetValue(name, out var v) && v.Length > 0 ? v : null;

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
