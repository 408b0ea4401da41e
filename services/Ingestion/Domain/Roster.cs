namespace Beacon.Ingestion.Domain;

public sealed class School
{
    public required string SchoolId { get; set; }
    public required string Name { get; set; }

    /// <summary>When a OneRoster delta marked the school tobedeleted: kept (its students' history refers to it), marked closed.</summary>
    public DateTimeOffset? ClosedAt { get; set; }

    /// <summary>
    /// The source that last listed it (a roster file's or bundle's X-Beacon-Source, a REST connector's Source): a bulk
    /// orgs.csv speaks for the schools of its own source only, so it never closes another system's schools. Null for
    /// schools stored before sources were kept, until a file lists them again.
    /// </summary>
    public string? Source { get; set; }
}

public sealed class StaffMember
{
    public required string StaffId { get; set; }
    public required string SchoolId { get; set; }
    public required string Role { get; set; }
    public required string GivenName { get; set; }
    public required string FamilyName { get; set; }
    public string Email { get; set; } = "";

    /// <summary>Mobile number in E.164 form (<see cref="Beacon.ServiceDefaults.PhoneNumbers"/>), for SMS; null when the roster has no valid one.</summary>
    public string? Phone { get; set; }
}

/// <summary>A student and their current enrollment (one school at a time in the skeleton).</summary>
public sealed class Student
{
    public required string StudentId { get; set; }
    public required string SchoolId { get; set; }
    public required string GivenName { get; set; }
    public required string FamilyName { get; set; }
    public string GradeLevel { get; set; } = "";

    /// <summary>active, or withdrawn (a OneRoster tobedeleted user): a withdrawn student is kept, never erased by a feed.</summary>
    public string Status { get; set; } = StudentStatuses.Active;
    public DateTimeOffset? ExitedAt { get; set; }
    public string? ExitReason { get; set; }

    /// <summary>Names and id folded for search (<see cref="StudentSearch"/>); the store sets it on every save.</summary>
    public string SearchKey { get; set; } = "";
}

public static class StudentStatuses
{
    public const string Active = "active";
    public const string Withdrawn = "withdrawn";
}

/// <summary>A parent, guardian or relative of a student (OneRoster agentSourcedIds), kept for outreach.</summary>
public sealed class StudentContact
{
    public required string StudentId { get; set; }
    public required string ContactId { get; set; }
    public required string Relationship { get; set; }
    public required string GivenName { get; set; }
    public required string FamilyName { get; set; }
    public string? Email { get; set; }
    public string? Phone { get; set; }
    public string? Sms { get; set; }
}

/// <summary>A OneRoster academic session: a school year, semester, term or grading period.</summary>
public sealed class AcademicSession
{
    public required string SessionId { get; set; }
    public required string Title { get; set; }
    public required string Type { get; set; }
    public DateOnly StartDate { get; set; }
    public DateOnly EndDate { get; set; }
    public string? ParentId { get; set; }
    public string? SchoolYear { get; set; }
}

public static class StaffRoles
{
    public const string Counselor = "counselor";
    public const string Teacher = "teacher";
    public const string Coordinator = "coordinator";
    public static readonly IReadOnlySet<string> All = new HashSet<string> { Counselor, Teacher, Coordinator };
}

/// <summary>A class section (OneRoster "class") in a school.</summary>
public sealed class Section
{
    public required string SectionId { get; set; }
    public required string SchoolId { get; set; }
    public required string Title { get; set; }
}

/// <summary>A student's or teacher's place in a section.</summary>
public sealed class SectionEnrollment
{
    public required string SectionId { get; set; }
    public required string PersonId { get; set; }
    public required string Role { get; set; }
}

/// <summary>Demographics for the fairness report; not model inputs.</summary>
public sealed class StudentDemographics
{
    public required string StudentId { get; set; }
    public string? Sex { get; set; }
    public string? RaceEthnicity { get; set; }
    public bool? EconomicallyDisadvantaged { get; set; }
    public bool? EnglishLearner { get; set; }
    public bool? Disability { get; set; }
}

/// <summary>
/// The dateLastModified of the last OneRoster record applied, per collection (users, orgs, classes, enrollments,
/// demographics, academicSessions, roles) and sourcedId: a delta row older than it is not applied (OneRosterOrder.cs).
/// </summary>
public sealed class OneRosterRecordVersion
{
    public required string Collection { get; set; }
    public required string SourcedId { get; set; }
    public DateTimeOffset LastModified { get; set; }
}
