using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Mastery.Storage;

public sealed class StudentSkillMastery
{
    public required string StudentId { get; set; }
    public required string SkillId { get; set; }
    public double ProbabilityMastered { get; set; }
    public int Attempts { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Remembers which answers were applied, so a redelivered answer does not move mastery twice.</summary>
public sealed class AppliedResponse
{
    public required string StudentId { get; set; }
    public required string ItemId { get; set; }
    public int AttemptNumber { get; set; }
}

public sealed class MasteryDbContext(DbContextOptions<MasteryDbContext> options) : DbContext(options)
{
    public DbSet<StudentSkillMastery> Mastery => Set<StudentSkillMastery>();
    public DbSet<AppliedResponse> AppliedResponses => Set<AppliedResponse>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<StudentSkillMastery>().HasKey(m => new { m.StudentId, m.SkillId });
        modelBuilder.Entity<AppliedResponse>().HasKey(r => new { r.StudentId, r.ItemId, r.AttemptNumber });
        modelBuilder.AddOutbox();
    }
}
