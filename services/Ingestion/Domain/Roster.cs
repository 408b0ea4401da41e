namespace Beacon.Ingestion.Domain;

public sealed class School
{
    public required string SchoolId { get; set; }
    public required string Name { get; set; }
}

public sealed class StaffMember
{
    public required string StaffId { get; set; }
    public required string SchoolId { get; set; }
    public required string Role { get; set; }
    public required string GivenName { get; set; }
    public required string FamilyName { get; set; }
    public string Email { get; set; } = "";
}

/// <summary>A student and their current enrollment (one school at a time in the skeleton).</summary>
public sealed class Student
{
    public required string StudentId { get; set; }
    public required string SchoolId { get; set; }
    public required string GivenName { get; set; }
    public required string FamilyName { get; set; }
    public string GradeLevel { get; set; } = "";
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
