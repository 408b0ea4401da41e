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
