using Beacon.Governance;
using Beacon.Messaging;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Mastery.Storage;

public sealed class StudentSkillMastery
{
    public required string StudentId { get; set; }
    public required string SkillId { get; set; }
    public double ProbabilityMastered { get; set; }

    /// <summary>The highest mastery reached so far; a fall from it marks the student as struggling.</summary>
    public double PeakProbability { get; set; }

    public int Attempts { get; set; }
    public int CorrectAnswers { get; set; }
    public bool Struggling { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>
    /// Raised by every write. A write is made only if the row still has the version it was read with, so two
    /// writers of one row (the single and the batch consumer, two replicas, a refit) cannot lose an update: the
    /// later one fails and is retried from fresh state.
    /// </summary>
    public long Version { get; set; }
}

/// <summary>Remembers which answers were applied, so a redelivered answer does not move mastery twice.</summary>
public sealed class AppliedResponse
{
    public required string StudentId { get; set; }
    public required string ItemId { get; set; }
    public int AttemptNumber { get; set; }
    public bool Correct { get; set; }
    public string SkillIds { get; set; } = "";
    public DateTimeOffset AnsweredAt { get; set; }

    /// <summary>Hints the student asked for on this attempt: evidence on the teacher's section view.</summary>
    public int HintsUsed { get; set; }

    /// <summary>
    /// The xAPI statement behind the answer was voided: its steps are gone and the skills replayed without it. The row
    /// stays as a tombstone, so the answer arriving late (or again) is not applied after its voiding.
    /// </summary>
    public bool Voided { get; set; }
}

/// <summary>One answer's effect on one skill: the history behind trends, refits and failure rates.</summary>
public sealed class MasteryStep
{
    public long Id { get; set; }
    public required string StudentId { get; set; }
    public required string SkillId { get; set; }
    public required string ItemId { get; set; }
    public int AttemptNumber { get; set; }
    public bool Correct { get; set; }
    public DateTimeOffset AnsweredAt { get; set; }
    public double ProbabilityAfter { get; set; }
}

/// <summary>A skill, its BKT parameters (defaults until fitted) and its prerequisites.</summary>
public sealed class Skill
{
    public required string SkillId { get; set; }
    public string? Name { get; set; }
    public double PriorKnowledge { get; set; }
    public double Learn { get; set; }
    public double Guess { get; set; }
    public double Slip { get; set; }
    public double Forget { get; set; }

    /// <summary>How many responses the parameters were fitted from; 0 = defaults.</summary>
    public int FittedFromResponses { get; set; }

    public DateTimeOffset? FittedAt { get; set; }
    public List<SkillPrerequisite> Prerequisites { get; set; } = [];
}

public sealed class SkillPrerequisite
{
    public required string SkillId { get; set; }
    public required string PrerequisiteId { get; set; }
}

/// <summary>Projection of Ingestion's roster (StudentEnrolled): who is in which school (sections: <see cref="SectionRoster"/>).</summary>
public sealed class EnrolledStudent
{
    public required string StudentId { get; set; }
    public required string SchoolId { get; set; }
    public string GivenName { get; set; } = "";
    public string FamilyName { get; set; } = "";
    public string GradeLevel { get; set; } = "";
}

public sealed class MasteryDbContext(DbContextOptions<MasteryDbContext> options) : DbContext(options)
{
    public DbSet<StudentSkillMastery> Mastery => Set<StudentSkillMastery>();
    public DbSet<AppliedResponse> AppliedResponses => Set<AppliedResponse>();
    public DbSet<MasteryStep> Steps => Set<MasteryStep>();
    public DbSet<Skill> Skills => Set<Skill>();
    public DbSet<SkillPrerequisite> Prerequisites => Set<SkillPrerequisite>();
    public DbSet<EnrolledStudent> Students => Set<EnrolledStudent>();
    public DbSet<SectionRoster> Sections => Set<SectionRoster>();
    public DbSet<SectionRosterMember> SectionMembers => Set<SectionRosterMember>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<StudentSkillMastery>().HasKey(m => new { m.StudentId, m.SkillId });
        // The default lets a database made before the column existed get it (see InitializeDatabaseAsync).
        modelBuilder.Entity<StudentSkillMastery>().Property(m => m.Version).IsConcurrencyToken().HasDefaultValue(0L);
        modelBuilder.Entity<AppliedResponse>().HasKey(r => new { r.StudentId, r.ItemId, r.AttemptNumber });
        modelBuilder.Entity<AppliedResponse>().Property(r => r.Voided).HasDefaultValue(false);
        modelBuilder.Entity<AppliedResponse>().Property(r => r.HintsUsed).HasDefaultValue(0);
        modelBuilder.Entity<MasteryStep>().HasIndex(s => new { s.StudentId, s.SkillId });
        modelBuilder.Entity<MasteryStep>().HasIndex(s => s.SkillId);
        modelBuilder.Entity<Skill>().HasKey(s => s.SkillId);
        modelBuilder.Entity<Skill>().HasMany(s => s.Prerequisites).WithOne().HasForeignKey(p => p.SkillId);
        modelBuilder.Entity<SkillPrerequisite>().HasKey(p => new { p.SkillId, p.PrerequisiteId });
        modelBuilder.Entity<EnrolledStudent>().HasKey(s => s.StudentId);
        modelBuilder.Entity<EnrolledStudent>().HasIndex(s => s.SchoolId);
        modelBuilder.AddSectionRosters();
        modelBuilder.AddErasedStudents();
        modelBuilder.AddOutbox();
        modelBuilder.AddInbox();
    }
}
